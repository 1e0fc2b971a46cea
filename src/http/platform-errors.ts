/**
 * Typed failures of a call to a platform (LMS) service. Code that must tell them apart uses
 * `instanceof`, never the message or a detail string; each message says what to fix, for the
 * teacher or administrator who reads it in the sync history. The optional `translated` message
 * (src/i18n/messages/<lang>/grades.json, `grades.syncError.*`) is what a page shows instead.
 */
import { PlatformError, type MessageRef } from '../errors';

/** Why a platform call failed, for logs and for choosing advice (stable, machine-readable). */
export type PlatformFailure = 'timeout' | 'unreachable' | 'rate_limited' | 'http_error' | 'scope_not_granted' | 'bad_response' | 'unavailable';

/** Base class of the failures below. */
export abstract class PlatformCallError extends PlatformError {
  abstract readonly failure: PlatformFailure;
  constructor(
    message: string,
    readonly url: string | undefined,
    details?: Record<string, unknown>,
    translated?: MessageRef,
  ) {
    super(message, { ...(url ? { url } : {}), ...details }, translated);
  }
}

/** No answer within the per-request timeout, after every retry. */
export class PlatformTimeoutError extends PlatformCallError {
  readonly failure = 'timeout';
}

/** The connection itself failed (DNS, refused, reset), after every retry. */
export class PlatformUnreachableError extends PlatformCallError {
  readonly failure = 'unreachable';
}

/** The platform kept answering "rate limit exceeded" (429, or Canvas's 403). */
export class PlatformRateLimitError extends PlatformCallError {
  readonly failure = 'rate_limited';
}

/** The platform answered an HTTP error status that retrying did not cure. */
export class PlatformHttpError extends PlatformCallError {
  readonly failure = 'http_error';
  constructor(
    message: string,
    url: string,
    /** The platform's HTTP status (our own `status` stays 502: the platform failed us). */
    readonly platformStatus: number,
    details?: Record<string, unknown>,
    translated?: MessageRef,
  ) {
    super(message, url, { status: platformStatus, ...details }, translated);
  }
}

/** The platform refused the OAuth scope a service needs (token refused, or 401/403 on the service). */
export class ScopeNotGrantedError extends PlatformCallError {
  readonly failure = 'scope_not_granted';
  constructor(
    message: string,
    url: string | undefined,
    readonly scope: string,
    readonly platformStatus?: number,
    translated?: MessageRef,
  ) {
    super(message, url, { scope, ...(platformStatus ? { status: platformStatus } : {}) }, translated);
  }
}

/** The platform answered 2xx with something that is not what the service specifies. */
export class PlatformBadResponseError extends PlatformCallError {
  readonly failure = 'bad_response';
}

/**
 * A grade source cannot be used for this course at all (e.g. the platform never sent the AGS
 * address). `runErrorKind` is the code recorded in the sync history.
 */
export class SourceUnavailableError extends PlatformCallError {
  readonly failure = 'unavailable';
  constructor(
    message: string,
    readonly runErrorKind: string,
    translated?: MessageRef,
  ) {
    super(message, undefined, undefined, translated);
  }
}

/**
 * The platform's token endpoint refused an access token; `oauthError` is its OAuth error code
 * (RFC 6749 §5.2), e.g. `invalid_scope` (read as "scope not granted") or `invalid_client`.
 */
export class TokenRefusedError extends PlatformError {
  constructor(
    message: string,
    readonly oauthError?: string,
    translated?: MessageRef,
  ) {
    super(message, oauthError ? { oauthError } : undefined, translated);
  }
}

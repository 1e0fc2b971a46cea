/**
 * Typed errors. Each carries an HTTP status and a stable machine code; the web error handler
 * renders them as a page or JSON. Code branches on `instanceof` or `code`, never on messages.
 *
 * `message` is plain English for logs, jobs and scripts. An error a person will see on a page
 * also carries a message key (`messageKey`, with `messageParams`) that the error handler
 * translates into the viewer's language — so a service never writes a text that a route must
 * overwrite, and a route never parses one.
 */

/** A message from the catalogs (src/i18n/messages) and its parameters. */
export interface MessageRef {
  key: string;
  params?: Record<string, string | number>;
}

export class AppError extends Error {
  readonly status: number = 500;
  readonly code: string = 'internal_error';
  /** Optional details shown to the user (e.g. the field that is wrong). */
  readonly details?: Record<string, unknown>;
  /** The translated message a page shows instead of `message`, when set. */
  readonly messageKey?: string;
  readonly messageParams?: Record<string, string | number>;

  constructor(message: string, details?: Record<string, unknown>, translated?: MessageRef) {
    super(message);
    this.name = new.target.name;
    this.details = details;
    this.messageKey = translated?.key;
    this.messageParams = translated?.params;
  }
}

/** The error's message key and parameters, when it has one. */
export function messageRefOf(err: AppError): MessageRef | undefined {
  return err.messageKey ? { key: err.messageKey, ...(err.messageParams ? { params: err.messageParams } : {}) } : undefined;
}

/** What a person is shown for an error: its translated message when it has a key, else its message. */
export function userMessage(err: AppError, t: (key: string, params?: Record<string, string | number>) => string): string {
  return err.messageKey ? t(err.messageKey, err.messageParams) : err.message;
}

export class ValidationError extends AppError {
  override readonly status = 400;
  override readonly code = 'validation_error';
}

export class UnauthorizedError extends AppError {
  override readonly status = 401;
  override readonly code = 'unauthorized';
}

export class ForbiddenError extends AppError {
  override readonly status = 403;
  override readonly code = 'forbidden';
}

export class NotFoundError extends AppError {
  override readonly status = 404;
  override readonly code = 'not_found';
}

export class ConflictError extends AppError {
  override readonly status = 409;
  override readonly code = 'conflict';
}

export class PayloadTooLargeError extends AppError {
  override readonly status = 413;
  override readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends AppError {
  override readonly status = 415;
  override readonly code = 'unsupported_media_type';
}

export class RateLimitedError extends AppError {
  override readonly status = 429;
  override readonly code = 'rate_limited';
}

/** A platform (LMS) service answered badly or refused: the message says what to change there. */
export class PlatformError extends AppError {
  override readonly status = 502;
  override readonly code = 'platform_error';
}

export class ServiceUnavailableError extends AppError {
  override readonly status = 503;
  override readonly code = 'service_unavailable';
}

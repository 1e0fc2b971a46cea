/**
 * What can go wrong between the tool and Canvas, each told as what to do. Canvas's own answers
 * (instructure/canvas-lms):
 * - an access token that is unknown, expired or deleted: 401 `{"errors":[{"message":"Invalid access
 *   token."}]}` with `WWW-Authenticate: Bearer realm="canvas-lms"` (lib/api.rb, app/controllers/application_controller.rb);
 * - a scoped developer key's token used outside its scopes: 401 "Insufficient scopes on access token."
 *   (no WWW-Authenticate; doc/api/developer_keys.md);
 * - a user without the right in the course: 401 `{"status":"unauthorized","errors":[{"message":"user not
 *   authorized to perform that action"}]}`;
 * - the token endpoint (lib/canvas/oauth/request_error.rb): 401 `invalid_client` "unknown client" /
 *   "invalid client", 400 `invalid_grant` "authorization_code not found", 400 `invalid_request`
 *   "refresh_token not found" (the grant was revoked: the user removed the integration, or the key was
 *   deleted or turned off);
 * - throttling: 403 "403 Forbidden (Rate Limit Exceeded)" (app/middleware/request_throttle.rb), retried
 *   by the shared policy, never a failure of its own.
 * Grant, key and scope problems are SourceUnavailableErrors: the sync records them under their own
 * kind and the teacher's Canvas line says what to do.
 */
import { PlatformBadResponseError, SourceUnavailableError } from '../../http/platform-errors';
import type { MessageRef } from '../../errors';
import { inEnglish } from '../../i18n/english';

/** The teacher's authorisation no longer works (revoked, expired, key deleted): authorise again. */
export class CanvasGrantRevokedError extends SourceUnavailableError {
  /** `own`: a message of its own instead of "Canvas no longer accepts … ({detail})"; `detail` stays the short reason stored with the grant. */
  constructor(readonly detail: string, own?: MessageRef) {
    const ref = own ?? { key: 'grades.syncError.canvas.grantRevoked', params: { detail } };
    super(inEnglish(ref), 'canvas_grant_revoked', ref);
  }
}

/** The token works but its developer key lacks a scope this read needs. */
export class CanvasScopeMissingError extends SourceUnavailableError {
  constructor(readonly scope: string) {
    const ref = { key: 'grades.syncError.canvas.scopeMissing', params: { scope } };
    super(inEnglish(ref), 'canvas_scope_missing', ref);
  }
}

/** The authorising user may not read `request` (e.g. `GET /api/v1/courses/:course_id/students/submissions`) in the course (e.g. a TA without "View all grades"). */
export class CanvasNotAllowedError extends SourceUnavailableError {
  constructor(request: string) {
    const ref = { key: 'grades.syncError.canvas.notAllowed', params: { request } };
    super(inEnglish(ref), 'canvas_not_allowed', ref);
  }
}

/** The administrator's client id / secret are refused by Canvas (or the stored secret cannot be read: its own message). */
export class CanvasKeyRefusedError extends SourceUnavailableError {
  constructor(detail: string, own?: MessageRef) {
    const ref = own ?? { key: 'grades.syncError.canvas.keyRefused', params: { detail } };
    super(inEnglish(ref), 'canvas_key_refused', ref);
  }
}

/** The administrator has not entered a Canvas API key for this Canvas. */
export class CanvasNotSetUpError extends SourceUnavailableError {
  constructor() {
    const ref = { key: 'grades.syncError.canvas.notSetUp' };
    super(inEnglish(ref), 'canvas_not_configured', ref);
  }
}

/** Canvas's `Link` header led back to a page already read, or past any sane number of pages. */
export class CanvasPagingLoopError extends PlatformBadResponseError {}

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

/** The teacher's authorisation no longer works (revoked, expired, key deleted): authorise again. */
export class CanvasGrantRevokedError extends SourceUnavailableError {
  constructor(readonly detail: string) {
    super(
      `Canvas no longer accepts the authorisation given to this tool (${detail}). A teacher of the course opens the tool's teacher page and chooses "Authorise Canvas" again.`,
      'canvas_grant_revoked',
    );
  }
}

/** The token works but its developer key lacks a scope this read needs. */
export class CanvasScopeMissingError extends SourceUnavailableError {
  constructor(readonly scope: string) {
    super(
      `Canvas refused ${scope}: the Canvas API developer key does not grant this scope. The Canvas administrator adds "${scope}" to the key (Admin › Developer Keys › the tool's API key › Enforce Scopes), then a teacher authorises Canvas again from the teacher page.`,
      'canvas_scope_missing',
    );
  }
}

/** The authorising user may not read this in the course (e.g. a TA without "View all grades"). */
export class CanvasNotAllowedError extends SourceUnavailableError {
  constructor(what: string) {
    super(
      `Canvas says the user who authorised the tool may not ${what} in this course. A teacher who can see the whole gradebook authorises Canvas again from the teacher page.`,
      'canvas_not_allowed',
    );
  }
}

/** The administrator's client id / secret are refused by Canvas. */
export class CanvasKeyRefusedError extends SourceUnavailableError {
  constructor(detail: string) {
    super(
      `Canvas refused the tool's API developer key (${detail}). The administrator checks the client id and secret on the tool's /admin page › Canvas API key (Canvas: Admin › Developer Keys, the API key's "Details" show both) and that the key is ON.`,
      'canvas_key_refused',
    );
  }
}

/** The administrator has not entered a Canvas API key for this Canvas. */
export class CanvasNotSetUpError extends SourceUnavailableError {
  constructor() {
    super("This course reads the Canvas gradebook, but the administrator has not entered a Canvas API developer key for this Canvas (the tool's /admin page › Canvas API key).", 'canvas_not_configured');
  }
}

/** Canvas's `Link` header led back to a page already read, or past any sane number of pages. */
export class CanvasPagingLoopError extends PlatformBadResponseError {}

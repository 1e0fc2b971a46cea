/**
 * What stands in front of every AGS and NRPS endpoint: the course, the bearer token, Canvas-style
 * throttling, the scope, and the media types (Chamilo compares them for equality).
 */
import type { NextFunction, Request, Response } from 'express';
import type { AccessGrant } from './access-tokens';
import type { SandboxContext } from './context';
import { QUIRKS } from './quirks';
import type { SandboxCourse } from './sandbox.store';

export interface ServiceLocals {
  course: SandboxCourse;
  grant: AccessGrant;
}

export function serviceLocals(res: Response): ServiceLocals {
  return res.locals as unknown as ServiceLocals;
}

export function jsonError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** Sliding one-second windows of request times per (course, token), on the real monotonic clock. */
class Throttle {
  private readonly windows = new Map<string, number[]>();

  /** Records a request; returns the budget left, or -1 when the request must be refused. */
  take(key: string, perSecond: number): number {
    const now = performance.now();
    const times = (this.windows.get(key) ?? []).filter((t) => t > now - 1000);
    this.windows.set(key, times);
    if (times.length >= perSecond) return -1;
    times.push(now);
    return perSecond - times.length;
  }
}

/** Admits requests whose token holds any of the given scopes (one per sandbox: throttling is shared). */
export type ServiceGuard = ReturnType<typeof createServiceGuard>;

/** Builds the guard; `guard(scopes)` admits requests whose token holds any of `scopes`. */
export function createServiceGuard(ctx: SandboxContext) {
  const throttle = new Throttle();
  return (anyOfScopes: readonly string[]) =>
    (req: Request, res: Response, next: NextFunction): void => {
      const course = ctx.store.getCourse(String(req.params.courseId));
      if (!course) return jsonError(res, 404, 'not_found', `There is no course ${String(req.params.courseId)}.`);
      const header = req.get('authorization') ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const grant = match ? ctx.tokens.lookup(match[1]) : undefined;
      if (!grant) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        return jsonError(res, 401, 'invalid_token', match ? 'The access token is unknown or expired.' : 'An Authorization: Bearer access token is required.');
      }
      const limit = ctx.store.effectiveRateLimit(course.id);
      if (limit) {
        const left = throttle.take(`${course.id}\u0000${grant.token}`, limit.requestsPerSecond);
        res.set('X-Request-Cost', String(limit.requestCost ?? 1));
        if (left < 0) {
          // Canvas's exact answer to a throttled request: a plain-text 403, not a 429.
          res.set('X-Rate-Limit-Remaining', '0');
          res.status(403).type('text/plain').send('403 Forbidden (Rate Limit Exceeded)');
          return;
        }
        res.set('X-Rate-Limit-Remaining', left.toFixed(1));
      }
      const held = anyOfScopes.filter((scope) => grant.scopes.includes(scope));
      if (held.length === 0) return jsonError(res, 403, 'insufficient_scope', `This request needs one of these scopes: ${anyOfScopes.join(' ')}.`);
      if (!held.some((scope) => course.permittedScopes.includes(scope))) {
        return jsonError(res, 403, 'insufficient_scope', `Course ${course.id} does not let tools use ${held.join(' ')}.`);
      }
      if (course.placedByDeepLinking && course.quirks === 'chamilo') {
        // Chamilo 1.11.28 (observed, issue #16): a tool placed through deep linking is a copy whose
        // course is empty; every AGS call dies with 500 and NRPS answers 400.
        if (req.path.includes('/memberships')) return jsonError(res, 400, 'invalid_request', 'Course not found.');
        return void res.status(500).type('html').send('<h1>Internal Server Error</h1>');
      }
      res.locals.course = course;
      res.locals.grant = grant;
      next();
    };
}

function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Checks the Accept header of a GET. Only Chamilo is strict (exact equality, else 406); the
 * others answer in their media type whatever was asked.
 */
export function acceptsMediaType(req: Request, res: Response, course: SandboxCourse, mediaType: string): boolean {
  if (!QUIRKS[course.quirks].exactMediaTypes) return true;
  if (req.get('accept') === mediaType) return true;
  jsonError(res, 406, 'not_acceptable', `Accept must be exactly ${mediaType} (got ${JSON.stringify(req.get('accept') ?? null)}).`);
  return false;
}

/** Checks the Content-Type of a body: the AGS media type (or plain JSON), exact in Chamilo mode. */
export function hasContentType(req: Request, res: Response, course: SandboxCourse, mediaType: string): boolean {
  const sent = req.get('content-type');
  const ok = QUIRKS[course.quirks].exactMediaTypes ? sent === mediaType : [mediaType, 'application/json'].includes(mediaTypeOf(sent));
  if (!ok) jsonError(res, 415, 'unsupported_media_type', `Content-Type must be ${mediaType} (got ${JSON.stringify(sent ?? null)}).`);
  return ok;
}

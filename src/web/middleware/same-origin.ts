/**
 * CSRF protection for every state-changing request (POST, PUT, PATCH, DELETE) under /app and
 * /admin: the browser's Origin header (or, without it, the Referer's origin) must be the tool's
 * own, PUBLIC_URL's origin; anything else is 403 before the route runs.
 *
 * Why this and not only the session token: the token travels in the URL (LMS iframes drop
 * cookies), so any page that learns a URL — a copied link, a Referer leak — could post with it.
 * Browsers send Origin on every cross-origin POST (and same-origin ones in current browsers), so a
 * forged form from another site always carries the other site's origin, and `Origin: null`
 * (sandboxed iframes, data: URLs) is refused. A request with neither header did not come from a
 * browser form on another site (scripts, curl, our tests) and is let through: CSRF needs a browser.
 */
import type { RequestHandler } from 'express';
import { ForbiddenError } from '../../errors';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Refuses cross-origin writes under `prefixes` (default /app and /admin). */
export function sameOriginWrites(publicUrl: string, prefixes: readonly string[] = ['/app/', '/admin']): RequestHandler {
  const own = new URL(publicUrl).origin;
  return (req, _res, next) => {
    if (SAFE.has(req.method) || !prefixes.some((p) => req.path.startsWith(p))) return next();
    const origin = req.get('origin');
    const referer = req.get('referer');
    const from = origin !== undefined ? (origin === 'null' ? 'null' : originOf(origin)) : referer !== undefined ? originOf(referer) : undefined;
    if (from === undefined || from === own) return next();
    next(
      new ForbiddenError(
        `This form was sent from another site (${from ?? 'unknown origin'}), not from ${own}; it was refused to protect your course. Open the tool from your course and try again.`,
        { origin: from },
        { key: 'app.crossSiteForm', params: { from: from ?? '?', own } },
      ),
    );
  };
}

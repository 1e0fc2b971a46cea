/**
 * Response headers for every page. The tool lives inside LMS iframes on other sites, so we must
 * NOT send X-Frame-Options or a restrictive frame-ancestors; everything else is locked down.
 * `Referrer-Policy: same-origin` keeps session tokens (in our URLs) out of other sites' logs.
 */
import type { RequestHandler } from 'express';

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action *",
    );
    next();
  };
}

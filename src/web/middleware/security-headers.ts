/**
 * Response headers for every page. The tool lives inside LMS iframes on other sites, so we must
 * NOT send X-Frame-Options or a restrictive frame-ancestors; everything else is locked down.
 * `Referrer-Policy: same-origin` keeps session tokens (in our URLs) out of other sites' logs.
 *
 * Forms post only to the tool itself (`form-action 'self'`); the one page that posts elsewhere,
 * the deep-linking return to the platform, sets its own policy naming the platform's origin
 * (src/web/lti.routes.ts). HSTS only when the tool is served over https (PUBLIC_URL): over plain
 * http it means nothing to browsers and misleads scanners, so the header ltijs's helmet adds to
 * its routes (/lti/keys) is dropped too.
 */
import type { RequestHandler } from 'express';

export interface SecurityHeadersOptions {
  /** Config.publicUrl: https decides HSTS. */
  publicUrl: string;
}

const HSTS = 'strict-transport-security';

export function securityHeaders(opts: SecurityHeadersOptions): RequestHandler {
  const https = opts.publicUrl.startsWith('https://');
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'",
    );
    if (https) {
      res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    } else {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = ((name: string, value: number | string | readonly string[]) =>
        name.toLowerCase() === HSTS ? res : setHeader(name, value)) as typeof res.setHeader;
    }
    next();
  };
}

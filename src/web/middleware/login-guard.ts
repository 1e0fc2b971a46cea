/**
 * Brute-force protection for POST /admin/login: after 5 wrong secrets from one client within 15
 * minutes that client is locked out for the rest of the window (429, Retry-After), and after 50
 * wrong secrets from everyone together the form is closed for everyone until the window ends (a
 * botnet rotating addresses). Right secrets do not count. A failure is the route's redirect to
 * `/admin?failed=1`, so the route itself needs no change.
 *
 * The client is `req.ip`: behind a reverse proxy set TRUST_PROXY (config.ts), or every client is
 * the proxy.
 */
import type { RequestHandler } from 'express';
import { rateLimit, type Options } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import { sharedRateLimitStore } from '../../db/rate-limit-store';
import { createTranslator, pickLanguage } from '../../i18n';

export interface LoginGuardOptions {
  windowMs?: number;
  /** Wrong secrets per client per window (default 5). */
  perClient?: number;
  /** Wrong secrets from all clients per window (default 50). */
  overall?: number;
  /** Counts in this database (shared by every instance); without it, in this process only. */
  conn?: Connection;
}

const FAILED_LOCATION = '/admin?failed=1';

export function adminLoginGuard(opts: LoginGuardOptions = {}): RequestHandler {
  const windowMs = opts.windowMs ?? 15 * 60_000;
  const common: Partial<Options> = {
    windowMs,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.getHeader('location') !== FAILED_LOCATION,
    handler: (req, res, _next, options) => {
      const seconds = Math.ceil(options.windowMs / 1000);
      res.setHeader('Retry-After', String(seconds));
      res
        .status(429)
        .type('text/plain')
        .send(createTranslator(pickLanguage(req.get('accept-language')))('admin.login.locked', { minutes: Math.ceil(seconds / 60) }));
    },
  };
  const store = (name: string) => (opts.conn ? { store: sharedRateLimitStore(opts.conn, name) } : {});
  const perClient = rateLimit({ ...common, limit: opts.perClient ?? 5, ...store('admin-login') });
  const overall = rateLimit({ ...common, limit: opts.overall ?? 50, keyGenerator: () => 'everyone', ...store('admin-login-all') });
  return (req, res, next) => {
    if (req.method !== 'POST' || req.path !== '/admin/login') return next();
    perClient(req, res, (err?: unknown) => (err ? next(err) : overall(req, res, next)));
  };
}

/**
 * Loads the launch behind `/app/:session/…` and authorizes by the role it carries. Nothing the
 * browser sends besides the session token decides who the user is, which course they are in, or
 * which page they may open.
 */
import type { RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { ForbiddenError, UnauthorizedError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { Launch, ToolRole } from '../../lti/launch';
import { resolveSession } from '../../lti/session.service';

declare module 'express-serve-static-core' {
  interface Locals {
    launch?: Launch;
    session?: string;
  }
}

export function loadSession(conn: Connection, now: () => Date): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = String(req.params.session ?? '');
      const launch = await resolveSession(conn, token, now());
      if (!launch) throw new UnauthorizedError(createTranslator(pickLanguage(req.get('accept-language')))('errors.unauthorized'));
      // A launch without a locale (Chamilo sends none) is shown in the browser's language. A copy:
      // the resolved launch may be shared by a cache.
      const browser = req.get('accept-language');
      res.locals.launch = launch.locale || !browser ? launch : { ...launch, locale: browser };
      res.locals.session = token;
      res.setHeader('Cache-Control', 'no-store');
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Lets through only launches with this tool role. */
export function requireRole(role: Exclude<ToolRole, 'none'>): RequestHandler {
  return (_req, res, next) => {
    const launch = res.locals.launch;
    if (!launch || launch.role !== role) {
      next(new ForbiddenError(createTranslator(pickLanguage(launch?.locale))('errors.forbidden')));
      return;
    }
    next();
  };
}

/** The launch of the current request; routes behind loadSession may rely on it. */
export function launchOf(res: { locals: { launch?: Launch } }): Launch {
  if (!res.locals.launch) throw new UnauthorizedError('No launch');
  return res.locals.launch;
}

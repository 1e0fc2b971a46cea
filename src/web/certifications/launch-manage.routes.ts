/**
 * /app/<session>/certifications/manage: an LMS administrator (who.ts) defines the certifications
 * of the registration they launched from. Anyone else — teachers included — gets 403 and nothing
 * is read or written.
 */
import { Router, type RequestHandler } from 'express';
import { isLmsAdministrator } from '../../certifications/who';
import { ForbiddenError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { WebContext } from '../context';
import { launchOf } from '../middleware/session';
import { certificationManageRouter } from './manage.routes';

export function launchManageRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const onlyAdministrators: RequestHandler = (_req, res, next) => {
    const launch = launchOf(res);
    if (!isLmsAdministrator(launch.roles)) {
      return next(new ForbiddenError(createTranslator(pickLanguage(launch.locale))('certifications.manage.forbidden'), { action: 'defineCertifications' }, { key: 'certifications.manage.forbidden' }));
    }
    next();
  };
  router.use(
    '/certifications/manage',
    certificationManageRouter(ctx, {
      guard: onlyAdministrators,
      tenantOf: (_req, res) => ({ issuer: launchOf(res).issuer, clientId: launchOf(res).clientId }),
      baseOf: (_req, res) => `/app/${res.locals.session}/certifications/manage`,
      actorOf: (res) => ({ kind: 'admin', userId: launchOf(res).user.id, name: launchOf(res).user.name }),
      langOf: (res) => launchOf(res).locale ?? 'en',
      backOf: (_req, res) => ({ href: `/app/${res.locals.session}/`, label: '' }),
    }),
  );
  return router;
}

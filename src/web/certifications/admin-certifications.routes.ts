/**
 * /admin/certifications: the tool administrator picks a registration, then defines its
 * certifications (manage.routes.ts). Mounted by admin.routes.ts behind its administrator check;
 * the registration in the address must be one the tool has (404 otherwise).
 */
import { Router, type Request, type RequestHandler } from 'express';
import { NotFoundError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { LtiProvider } from '../../lti/provider';
import type { WebContext } from '../context';
import { certificationManageRouter } from './manage.routes';

/** The address segment naming a registration: base64url of `issuer` NUL `clientId`. */
export function registrationKey(issuer: string, clientId: string): string {
  return Buffer.from(`${issuer}\u0000${clientId}`, 'utf8').toString('base64url');
}

function parseKey(key: string): { issuer: string; clientId: string } | null {
  const [issuer, clientId, extra] = Buffer.from(key, 'base64url').toString('utf8').split('\u0000');
  return issuer && clientId && extra === undefined ? { issuer, clientId } : null;
}

declare module 'express-serve-static-core' {
  interface Locals {
    certificationTenant?: { issuer: string; clientId: string };
  }
}

/** The administrator pages speak the browser's language (there is no launch). */
const adminT = (req: Request) => createTranslator(pickLanguage(req.get('accept-language')));

export function adminCertificationsRouter(ctx: WebContext, lti: LtiProvider, requireAdmin: RequestHandler): Router {
  const router = Router();
  router.get('/admin/certifications', requireAdmin, async (req, res) => {
    const platforms = await lti.listPlatforms();
    res.type('html').send(
      ctx.views.render('certifications-admin', {
        title: adminT(req)('admin.certifications.title'),
        lang: req.get('accept-language'),
        platforms: platforms.map((p) => ({ name: p.name, issuer: p.issuer, clientId: p.clientId, href: `/admin/certifications/${registrationKey(p.issuer, p.clientId)}` })),
      }),
    );
  });
  const tenantGuard: RequestHandler = async (req, res, next) => {
    const tenant = parseKey(String(req.params.registration ?? ''));
    if (!tenant || !(await lti.findPlatform(tenant.issuer, tenant.clientId))) return next(new NotFoundError('No such registration.', { what: 'registration' }, { key: 'admin.error.noSuchRegistration' }));
    res.locals.certificationTenant = tenant;
    next();
  };
  router.use(
    '/admin/certifications/:registration',
    requireAdmin,
    tenantGuard,
    certificationManageRouter(ctx, {
      guard: (_req, _res, next) => next(),
      tenantOf: (_req, res) => res.locals.certificationTenant!,
      baseOf: (req) => `/admin/certifications/${String(req.params.registration)}`,
      // The administrator's browser decides the language; the audit trail keeps one English actor name.
      actorOf: () => ({ kind: 'admin', name: 'Tool administrator' }),
      langOf: (res) => res.req.get('accept-language') ?? '',
      backOf: (req) => ({ href: '/admin/certifications', label: adminT(req)('admin.certifications.all') }),
    }),
  );
  return router;
}

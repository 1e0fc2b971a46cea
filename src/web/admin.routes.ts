/**
 * The tool administrator's page: registrations (activate new ones), re-registrations waiting
 * for a decision (compare with the registration in use, accept or reject), deployments (accept or
 * refuse), the tool's URLs to paste into an LMS, and its public keys as PEM. Protected by
 * ADMIN_SECRET: entering it sets an HttpOnly, SameSite=Strict cookie holding an HMAC (never the
 * secret), valid for 8 hours. Strict cookies are not sent on cross-site requests, and state
 * changes also check the Origin header, so other sites cannot post here.
 */
import type { BrowserStatus } from '../render';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MailStatus } from '../mail';
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Connection } from 'mongoose';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors';
import { parseAdminForm } from './validate';
import { createTranslator, pickLanguage, type Translator } from '../i18n';
import { listDeployments, recentRegistrationEvents, setDeploymentStatus, type RegistrationRequestDoc } from '../lti/deployment.service';
import {
  acceptRegistrationRequest,
  listRegistrationRequests,
  rejectRegistrationRequest,
  type ToolUrls,
} from '../lti/dynamic-registration';
import type { RegisteredPlatform } from '../lti/provider';
import type { LtiProvider } from '../lti/provider';
import type { Views } from './views';
import { moodleAdminRouter, type MoodleAdminDeps } from './admin/moodle.routes';
import { canvasAdminRouter, type CanvasAdminDeps } from './admin/canvas.routes';
import { credentialsAdminRouter } from './admin/credentials.routes';
import { privacyAdminRouter } from './privacy.routes';
import type { PdfDeps } from '../documents/certificate-pdf.service';

const COOKIE = 'lticert_admin';
const TTL_MS = 8 * 60 * 60 * 1000;

export interface AdminDeps {
  conn: Connection;
  lti: LtiProvider;
  views: Views;
  now: () => Date;
  adminSecret: string;
  secureCookies: boolean;
  publicUrl: string;
  tool: ToolUrls & { dynamicRegistrationUrl: string };
  settings: { unknownDeployment: string; dynregAutoActivate: boolean; publicCertificates: boolean };
  moodle: MoodleAdminDeps['moodle'];
  /** E-mail: where it goes and the outbox at a glance (src/mail). */
  mail?: { status(): Promise<MailStatus> };
  /** More administrator pages (certifications, …), each given the administrator check. */
  mount?: Array<(requireAdmin: RequestHandler) => Router>;
  /** Canvas API key page (/admin/canvas); absent in tests that do not need it. */
  canvas?: CanvasAdminDeps['canvas'];
  /** Which browser prints the PDFs, or why none can (render/pdf-renderer.ts browserStatus). */
  pdfBrowser?: () => BrowserStatus;
  /** Learner data exports and erasure on /admin/privacy (src/privacy). */
  pdfs?: PdfDeps;
}

const sign = (secret: string, expires: number) => createHmac('sha256', secret).update(`admin:${expires}`).digest('base64url');

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function isAdmin(req: Request, deps: AdminDeps): boolean {
  const [exp, mac] = (readCookie(req, COOKIE) ?? '').split('.');
  const expires = Number(exp);
  if (!mac || !Number.isFinite(expires) || expires < deps.now().getTime()) return false;
  const expected = Buffer.from(sign(deps.adminSecret, expires));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const ActivateSchema = z.object({ issuer: z.string().min(1), clientId: z.string().min(1), active: z.enum(['true', 'false']) });
const DeploymentSchema = z.object({
  issuer: z.string().min(1),
  clientId: z.string().min(1),
  deploymentId: z.string().min(1).max(255),
  status: z.enum(['accepted', 'refused']),
});
const RequestDecisionSchema = z.object({ decision: z.enum(['accept', 'reject']) });
const LoginSchema = z.object({ secret: z.string().min(1).max(500) });

/** One row per field an administrator must compare: the registration in use vs the requested one. */
function compareRequest(request: RegistrationRequestDoc, current: RegisteredPlatform | undefined, t: Translator) {
  const rows: Array<[string, string | undefined, string | undefined]> = [
    [t('admin.compare.name'), current?.name, request.name],
    [t('admin.compare.keys'), current ? (current.jwksUrl ?? t('admin.compare.pastedKey')) : undefined, request.jwksUrl],
    [t('admin.compare.login'), current?.authUrl, request.authUrl],
    [t('admin.compare.tokenUrl'), current?.tokenUrl, request.tokenUrl],
    [t('admin.compare.authorizationServer'), current?.authorizationServer, request.authorizationServer],
  ];
  return {
    id: String(request._id),
    issuer: request.issuer,
    clientId: request.clientId,
    deploymentId: request.deploymentId,
    requestedAt: request.requestedAt.toISOString(),
    requestedFrom: request.requestedFrom,
    openidConfigurationUrl: request.openidConfigurationUrl,
    rows: rows.map(([label, before, after]) => ({ label, before: before ?? '—', after: after ?? '—', changed: (before ?? '') !== (after ?? '') })),
  };
}

/** /admin speaks the browser's language (there is no launch). */
const adminT = (req: Request) => createTranslator(pickLanguage(req.get('accept-language')));

export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  const requireAdmin: RequestHandler = (req, _res, next) => {
    if (!isAdmin(req, deps)) return next(new UnauthorizedError('Sign in with the administrator secret first.', undefined, { key: 'admin.error.signIn' }));
    if (req.method !== 'GET') {
      const origin = req.headers.origin;
      if (origin && origin !== new URL(deps.publicUrl).origin && origin !== `${req.protocol}://${req.headers.host}`) {
        return next(new ForbiddenError('Cross-site request refused.', undefined, { key: 'admin.error.crossSite' }));
      }
    }
    next();
  };

  router.get('/admin', async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      if (!isAdmin(req, deps)) {
        res.type('html').send(deps.views.render('admin-login', { title: adminT(req)('admin.title'), lang: req.get('accept-language'), failed: req.query.failed === '1' }));
        return;
      }
      const [platforms, deployments, requests, events, mail] = await Promise.all([
        deps.lti.listPlatforms(),
        listDeployments(deps.conn),
        listRegistrationRequests(deps.conn),
        recentRegistrationEvents(deps.conn),
        deps.mail?.status(),
      ]);
      res.type('html').send(
        deps.views.render('admin', {
          title: adminT(req)('admin.title'),
          lang: req.get('accept-language'),
          tool: deps.tool,
          settings: deps.settings,
          mail: mail && { ...mail, reminderDaysText: mail.reminderDays.join(', ') },
          settingsAuto: deps.settings.dynregAutoActivate ? 'yes' : 'no',
          settingsPublic: deps.settings.publicCertificates ? 'yes' : 'no',
          pdfBrowser: deps.pdfBrowser?.() ?? null,
          registrationEvents: events.map((e) => ({ action: e.action.replace(/_/g, ' '), actionKey: `admin.events.action.${e.action}`, issuer: e.issuer, clientId: e.clientId, actor: e.actor, at: e.at.toISOString(), from: e.details?.requestedFrom })),
          requests: requests.map((r) => compareRequest(r, platforms.find((p) => p.issuer === r.issuer && p.clientId === r.clientId), adminT(req))),
          platforms: platforms.map((p) => ({
            ...p,
            deployments: deployments.filter((d) => d.issuer === p.issuer && d.clientId === p.clientId),
          })),
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/login', (req, res) => {
    const { secret } = parseAdminForm(LoginSchema, req.body);
    const a = Buffer.from(secret);
    const b = Buffer.from(deps.adminSecret);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      res.redirect(303, '/admin?failed=1');
      return;
    }
    const expires = deps.now().getTime() + TTL_MS;
    res.cookie(COOKIE, `${expires}.${sign(deps.adminSecret, expires)}`, {
      httpOnly: true,
      sameSite: 'strict',
      secure: deps.secureCookies,
      maxAge: TTL_MS,
      path: '/admin',
    });
    res.redirect(303, '/admin');
  });

  router.post('/admin/logout', (_req, res) => {
    res.clearCookie(COOKIE, { path: '/admin' });
    res.redirect(303, '/admin');
  });

  router.post('/admin/platforms/active', requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(ActivateSchema, req.body);
      const platform = await deps.lti.findPlatform(body.issuer, body.clientId);
      if (!platform) throw new NotFoundError(`No registration for ${body.issuer} with client id ${body.clientId}.`, undefined, { key: 'admin.error.noRegistration', params: { issuer: body.issuer, clientId: body.clientId } });
      await deps.lti.setPlatformActive(body.issuer, body.clientId, body.active === 'true');
      res.redirect(303, '/admin');
    } catch (err) {
      next(err);
    }
  });

  // Accepting replaces the registration in use with the requested one; rejecting deletes it.
  router.post('/admin/registration-requests/:id', requireAdmin, async (req, res, next) => {
    try {
      const { decision } = parseAdminForm(RequestDecisionSchema, req.body);
      const id = String(req.params.id);
      if (decision === 'accept') await acceptRegistrationRequest({ conn: deps.conn, lti: deps.lti, now: deps.now }, id);
      else await rejectRegistrationRequest({ conn: deps.conn, now: deps.now }, id);
      res.redirect(303, '/admin');
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/deployments', requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(DeploymentSchema, req.body);
      if (!(await deps.lti.findPlatform(body.issuer, body.clientId))) {
        throw new NotFoundError(`No registration for ${body.issuer} with client id ${body.clientId}.`, undefined, { key: 'admin.error.noRegistration', params: { issuer: body.issuer, clientId: body.clientId } });
      }
      await setDeploymentStatus(deps.conn, body, deps.now());
      res.redirect(303, '/admin');
    } catch (err) {
      next(err);
    }
  });

  router.use(moodleAdminRouter({ ...deps, requireAdmin }));
  for (const mount of deps.mount ?? []) router.use(mount(requireAdmin));
  if (deps.canvas) router.use(canvasAdminRouter({ ...deps, canvas: deps.canvas, requireAdmin }));
  router.use(credentialsAdminRouter({ ...deps, requireAdmin }));
  if (deps.pdfs) router.use(privacyAdminRouter({ pdfs: deps.pdfs, lti: deps.lti, views: deps.views, requireAdmin }));
  return router;
}

/**
 * GET /lti/register?openid_configuration=…&registration_token=… — LTI Dynamic Registration, as
 * the LMS opens it in the administrator's browser (mounted before ltijs, whose own registration
 * route stays disabled and answers 403 to every other method).
 *
 * The endpoint is public, so it is rate limited per client address: an LMS administrator
 * registers a tool a handful of times, never dozens in ten minutes.
 */
import { Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { sharedRateLimitStore } from '../db/rate-limit-store';
import type { Connection } from 'mongoose';
import { registerDynamically, type ToolUrls } from '../lti/dynamic-registration';
import { createTranslator, pickLanguage } from '../i18n';
import type { LtiProvider } from '../lti/provider';
import type { Views } from './views';

export interface RegistrationRouteDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
  lti: LtiProvider;
  tool: ToolUrls;
  autoActivate: boolean;
  /** Registration attempts per client address and window (default 10 per 10 minutes). */
  rateLimit?: { windowMs: number; limit: number };
}

export function dynamicRegistrationRouter(deps: RegistrationRouteDeps): Router {
  const router = Router();
  const windowMs = deps.rateLimit?.windowMs ?? 10 * 60_000;
  router.use(
    '/lti/register',
    rateLimit({
      windowMs,
      limit: deps.rateLimit?.limit ?? 10,
      store: sharedRateLimitStore(deps.conn, 'lti-register'),
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      handler: (req, res) => {
        const lang = pickLanguage(req.get('accept-language'));
        const t = createTranslator(lang);
        res.status(429).type('html').send(
          deps.views.render('error', {
            title: t('registration.title.rateLimited'),
            lang,
            status: 429,
            code: 'rate_limited',
            message: t('registration.rateLimited', { minutes: Math.ceil(windowMs / 60_000) }),
          }),
        );
      },
    }),
  );
  router.get('/lti/register', async (req, res, next) => {
    try {
      const result = await registerDynamically(
        { conn: deps.conn, lti: deps.lti, tool: deps.tool, autoActivate: deps.autoActivate, now: deps.now },
        { openidConfiguration: req.query.openid_configuration, registrationToken: req.query.registration_token, requestedFrom: req.ip },
      );
      const view =
        result.kind === 'registered'
          ? { issuer: result.platform.issuer, clientId: result.platform.clientId, deploymentId: result.deploymentId, active: result.platform.active }
          : { issuer: result.current.issuer, clientId: result.current.clientId, deploymentId: result.request.deploymentId, pending: true };
      // The LMS administrator's browser decides the language (the LMS opens this page in a frame or window).
      const lang = pickLanguage(req.get('accept-language'));
      const title = createTranslator(lang)(result.kind === 'pending' ? 'registration.title.pending' : 'registration.title.registered');
      res.type('html').send(deps.views.render('registered', { title, lang, ...view }));
    } catch (err) {
      next(err);
    }
  });
  return router;
}

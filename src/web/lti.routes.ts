/**
 * The LTI entry points around ltijs: what a verified launch leads to, the refusal page, dynamic
 * registration (registration.routes.ts), and the deep-linking picker.
 */
import { rememberCanvasUser } from '../grades/sources/canvas.factory';
import { Router, type Request, type Response } from 'express';
import type { Connection } from 'mongoose';
import { ValidationError } from '../errors';
import { createLogger } from '../logger';
import { createTranslator, pickLanguage } from '../i18n';
import type { LaunchFailure } from '../lti/launch-errors';
import { recordToolLink } from '../grades/tool-link.service';
import { acceptLaunch } from '../lti/launch.service';
import type { LtiProvider } from '../lti/provider';
import { launchOf, requireRole } from './middleware/session';
import type { Views } from './views';
import { rememberUsername } from '../grades/csv/usernames';
import { rememberRecipient } from '../mail';

const log = createLogger('web:lti');

export interface LtiRouteDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
  unknownDeployment: 'accept' | 'refuse';
}

/** Renders a refused launch: status 400/401/403 with what is wrong and what to do. */
export function renderLaunchFailure(views: Views, failure: LaunchFailure, req: Request, res: Response): void {
  log.warn(`launch refused: ${failure.code} (${failure.detail ?? ''}) ${req.method} ${req.originalUrl.split('?')[0]}`);
  // The launch was not accepted, so its locale is not trusted: the browser's language.
  const lang = pickLanguage(req.get('accept-language'));
  const t = createTranslator(lang);
  res
    .status(failure.status)
    .type('html')
    .send(
      views.render('error', {
        title: failure.code === 'no_role' ? t('app.noAccessTitle') : t('app.launchRefused'),
        lang,
        status: failure.status,
        code: failure.code,
        message: t(failure.keys.message, failure.keys.params),
        fix: t(failure.keys.fix, failure.keys.params),
      }),
    );
}

/** The launch flow calls this with the verified claims; we decide, record and redirect into the tool. */
export function handleVerifiedLaunch(deps: LtiRouteDeps) {
  return async (claims: Record<string, unknown>, verified: { clientId: string }, req: Request, res: Response): Promise<void> => {
    const outcome = await acceptLaunch({ conn: deps.conn, now: deps.now, unknownDeployment: deps.unknownDeployment }, claims, verified);
    if (!outcome.ok) {
      renderLaunchFailure(deps.views, outcome.failure, req, res);
      return;
    }
    // The username (custom parameter `username=$User.username`) matches learners in Chamilo's gradebook export.
    await rememberUsername(deps.conn, outcome.launch, deps.now());
    // Mail goes to the address, in the language, of the person's last launch (src/mail/recipients.ts).
    await rememberRecipient(deps.conn, outcome.launch, deps.now());
    // Canvas: the custom parameter `canvas_user_id=$Canvas.user.id` maps Canvas's REST user id to this sub (issue #17).
    await rememberCanvasUser(deps.conn, outcome.launch);
    // The link the tool is launched from: a grade column tied to it is the launcher, never a course activity.
    if (outcome.launch.resourceLinkId) await recordToolLink(deps.conn, outcome.launch.courseId, outcome.launch.resourceLinkId, deps.now());
    // Straight to the page (one request and one session read fewer than via /app/<token>/).
    const page = outcome.launch.messageType === 'LtiDeepLinkingRequest' ? 'deep-linking' : outcome.launch.role === 'teacher' ? 'teacher' : 'learner';
    // 303: the browser follows with a GET, so a reload never re-posts the id_token.
    res.redirect(303, `/app/${outcome.sessionToken}/${page}`);
  };
}

/** The deep-linking picker: the teacher places the tool in the course from the LMS's content picker. */
export function deepLinkingRouter(deps: LtiRouteDeps & { lti: LtiProvider; launchUrl: string }): Router {
  const router = Router({ mergeParams: true });
  router.get('/deep-linking', requireRole('teacher'), (_req, res) => {
    const launch = launchOf(res);
    if (!launch.deepLinking) throw new ValidationError('This launch is not a deep-linking request.', undefined, { key: 'app.deepLinking.notRequest' });
    const t = createTranslator(pickLanguage(launch.locale));
    res.type('html').send(
      deps.views.render('deep-linking', { title: t('app.deepLinking.title'), lang: launch.locale, session: res.locals.session, course: launch.context }),
    );
  });
  router.post('/deep-linking', requireRole('teacher'), async (req, res, next) => {
    try {
      const launch = launchOf(res);
      if (!launch.deepLinking) throw new ValidationError('This launch is not a deep-linking request.', undefined, { key: 'app.deepLinking.notRequest' });
      const t = createTranslator(pickLanguage(launch.locale));
      const title = String(req.body?.title ?? '').trim().slice(0, 200) || t('app.deepLinking.defaultTitle');
      const reply = await deps.lti.deepLinkingResponse({
        issuer: launch.issuer,
        clientId: launch.clientId,
        deploymentId: launch.deploymentId,
        settings: {
          deep_link_return_url: launch.deepLinking.returnUrl,
          accept_types: launch.deepLinking.acceptTypes,
          accept_multiple: launch.deepLinking.acceptMultiple,
          data: launch.deepLinking.data,
        },
        // the LMS shows `text` under the link: in the language of the teacher placing it
        items: [{ type: 'ltiResourceLink', title, url: deps.launchUrl, text: t('app.deepLinking.itemText') }],
      });
      // Our own page (ltijs's wrote the return URL into its form unescaped and needed
      // 'unsafe-inline'): every value escaped by Handlebars, submitted by a script file of ours,
      // and the form may go only to the platform's return URL (checked at launch: http(s), the
      // platform's site).
      const action = new URL(reply.action);
      res.setHeader(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; base-uri 'none'; form-action ${action.origin}`,
      );
      res.type('html').send(deps.views.render('deep-linking-return', { title: t('app.deepLinking.title'), lang: launch.locale, action: reply.action, jwt: reply.jwt }));
    } catch (err) {
      next(err);
    }
  });
  return router;
}

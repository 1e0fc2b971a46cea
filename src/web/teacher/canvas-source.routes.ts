/**
 * The teacher's side of the Canvas gradebook (issue #17):
 *   POST /app/:session/teacher/grades/canvas/authorize  → (a new tab) 303 to Canvas's "Authorize" page
 *   POST /app/:session/teacher/grades/canvas/off        → forget (and revoke) the grant
 * and, outside any session (Canvas sends the browser back there):
 *   GET  /canvas/oauth/callback?code&state | ?error&state → exchange the code, start a sync, say so.
 *
 * The state is bound to the session that asked and to the browser (a random HttpOnly cookie,
 * SameSite=Lax so it comes back on Canvas's top-level redirect, ten minutes, path /canvas/oauth).
 */
import { Router } from 'express';
import { z } from 'zod';
import { userMessage, ValidationError } from '../../errors';
import type { PlatformHttp } from '../../http/retry-policy';
import { canvasRedirectUri, completeCanvasAuthorization, CanvasAuthorizationError, OAUTH_STATE_TTL_MS, removeCanvasGrant, startCanvasAuthorization } from '../../grades/canvas/canvas-oauth.service';
import { startSync } from '../../grades/sync-status';
import { createTranslator, pickLanguage } from '../../i18n';
import type { Launch } from '../../lti/launch';
import { resolveSession } from '../../lti/session.service';
import type { WebContext } from '../context';
import { requireRole } from '../middleware/session';
import { teacherPage } from '../teacher-page';

export const CANVAS_COOKIE = 'canvas_oauth';
const COOKIE_PATH = '/canvas/oauth';

export interface CanvasWebDeps {
  http: PlatformHttp;
}

const OffSchema = z.object({ confirm: z.literal('off') });
const CallbackSchema = z.object({
  code: z.string().max(2000).optional(),
  state: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Mounted under /app/:session (behind the session). */
export function canvasSourceRouter(ctx: WebContext, deps: CanvasWebDeps): Router {
  const router = Router();
  router.post('/teacher/grades/canvas/authorize', requireRole('teacher'), async (_req, res) => {
    const p = teacherPage(res);
    const start = await startCanvasAuthorization(
      { conn: ctx.conn, now: ctx.now },
      {
        issuer: p.launch.issuer,
        courseId: p.launch.courseId,
        contextId: p.launch.context.id,
        canvasCourseId: /^\d{1,20}$/.test(p.launch.custom?.canvas_course_id ?? '') ? p.launch.custom.canvas_course_id : undefined,
        userId: p.launch.user.id,
        name: p.launch.user.name,
        session: p.session,
        redirectUri: canvasRedirectUri(ctx.config.publicUrl),
      },
    );
    res.cookie(CANVAS_COOKIE, start.browserValue, { httpOnly: true, secure: ctx.config.secureCookies, sameSite: 'lax', path: COOKIE_PATH, maxAge: OAUTH_STATE_TTL_MS });
    res.redirect(303, start.url);
  });
  router.post('/teacher/grades/canvas/off', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    if (!OffSchema.safeParse(req.body ?? {}).success) throw new ValidationError(p.t('canvas.source.invalid'), { field: 'confirm' }, { key: 'canvas.source.invalid' });
    await removeCanvasGrant({ conn: ctx.conn, ltiKey: ctx.config.ltiKey, http: deps.http, now: ctx.now }, p.launch.courseId);
    res.redirect(303, `${p.base}#grade-data`);
  });
  return router;
}

/** Mounted at the top level: Canvas redirects the browser here. */
export function canvasCallbackRouter(ctx: WebContext, deps: CanvasWebDeps): Router {
  const router = Router();
  router.get('/canvas/oauth/callback', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const parsed = CallbackSchema.safeParse(req.query);
    const q = parsed.success ? parsed.data : {};
    res.clearCookie(CANVAS_COOKIE, { path: COOKIE_PATH });
    let session: string | undefined;
    let launch: Launch | null = null;
    let outcome: { ok: true } | { ok: false; error: CanvasAuthorizationError };
    try {
      const done = await completeCanvasAuthorization(
        { conn: ctx.conn, ltiKey: ctx.config.ltiKey, http: deps.http, now: ctx.now },
        { state: q.state, code: q.code, error: q.error, errorDescription: q.error_description, browserValue: cookieOf(req.headers.cookie, CANVAS_COOKIE), redirectUri: canvasRedirectUri(ctx.config.publicUrl) },
      );
      session = done.session;
      launch = await resolveSession(ctx.conn, session, ctx.now());
      if (launch) await startSync(ctx, launch);
      outcome = { ok: true };
    } catch (err) {
      if (!(err instanceof CanvasAuthorizationError)) throw err;
      session = err.session;
      if (session) launch = await resolveSession(ctx.conn, session, ctx.now());
      outcome = { ok: false, error: err };
    }
    const t = createTranslator(pickLanguage(launch?.locale, req.get('accept-language')));
    res
      .status(outcome.ok ? 200 : 400)
      .type('html')
      .send(
        ctx.views.render('canvas-authorised', {
          title: t(outcome.ok ? 'canvas.callback.okTitle' : 'canvas.callback.failedTitle'),
          lang: pickLanguage(launch?.locale, req.get('accept-language')),
          ok: outcome.ok,
          message: outcome.ok ? t('canvas.callback.ok') : userMessage(outcome.error, t),
          backHref: launch && session ? `/app/${session}/teacher#grade-data` : null,
        }),
      );
  });
  return router;
}

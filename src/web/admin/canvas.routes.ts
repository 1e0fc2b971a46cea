/**
 * /admin/canvas: the administrator enters the Canvas API developer key once per Canvas — the
 * school's Canvas address, the key's Client ID and secret (stored encrypted) — and checks it:
 * the tool asks Canvas's token endpoint to refresh a token that cannot exist; Canvas checks the
 * client id and secret first (lib/canvas/oauth/grant_types/base_type.rb), so `invalid_client` means
 * a wrong key and `refresh_token not found` means the key is right. Teachers then authorise the
 * tool from their course page. Mounted by admin.routes.ts behind its administrator check.
 */
import { Router, type RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import { platformFamiliesByIssuer } from '../../courses/course.service';
import { NotFoundError, type MessageRef } from '../../errors';
import { createTranslator, pickLanguage, type Translator } from '../../i18n';
import type { PlatformHttp } from '../../http/retry-policy';
import { CANVAS_SCOPE_LIST, canvasRedirectUri, findCanvasKey, listCanvasKeys, removeCanvasKey, saveCanvasKey, testCanvasKey } from '../../grades/canvas/canvas-oauth.service';
import type { LtiProvider } from '../../lti/provider';
import { parseAdminForm } from '../validate';
import { requireRegisteredIssuer } from './registered-issuer';
import type { Views } from '../views';

export interface CanvasAdminDeps {
  conn: Connection;
  lti: Pick<LtiProvider, 'listPlatforms'>;
  views: Views;
  now: () => Date;
  publicUrl: string;
  canvas: { ltiKey: string; http: PlatformHttp };
  requireAdmin: RequestHandler;
}

const SaveSchema = z.object({
  issuer: z.string().min(1).max(2000),
  baseUrl: z.string().trim().max(2000).optional(),
  clientId: z.string().trim().min(1, 'give the Client ID of the Canvas API key').max(40),
  clientSecret: z.string().max(200).optional(),
});
const IssuerSchema = z.object({ issuer: z.string().min(1).max(2000) });

/** The last key test as the administrator reads it: translated when Canvas's answer is one we know. */
function shownTest(test: { at: string; ok: boolean; message: string; translated?: MessageRef } | undefined, t: Translator) {
  return test && { ...test, message: test.translated ? t(test.translated.key, test.translated.params) : test.message };
}

export function canvasAdminRouter(deps: CanvasAdminDeps): Router {
  const router = Router();
  const page = '/admin/canvas';
  const lastTests = new Map<string, { at: string; ok: boolean; message: string; translated?: MessageRef }>();

  async function runTest(issuer: string): Promise<void> {
    const key = await findCanvasKey(deps.conn, issuer);
    if (!key) throw new NotFoundError('Enter the Canvas API key for this Canvas first.', undefined, { key: 'admin.error.noCanvasKey' });
    const result = await testCanvasKey({ conn: deps.conn, ltiKey: deps.canvas.ltiKey, http: deps.canvas.http, now: deps.now }, key);
    lastTests.set(issuer, { at: deps.now().toISOString(), ...result });
  }

  router.get(page, deps.requireAdmin, async (req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'no-store');
      const [platforms, keys, familiesOf] = await Promise.all([deps.lti.listPlatforms(), listCanvasKeys(deps.conn), platformFamiliesByIssuer(deps.conn)]);
      const byIssuer = new Map(keys.map((k) => [k.issuer, k]));
      // Canvas platforms: those whose launches say Canvas, or that already have a key.
      const isCanvas = (issuer: string) => byIssuer.has(issuer) || (familiesOf.get(issuer) ?? []).includes('canvas') || /instructure\.com/.test(issuer);
      const issuers = [...new Map(platforms.map((p) => [p.issuer, p])).values()].filter((p) => isCanvas(p.issuer));
      const t = createTranslator(pickLanguage(req.get('accept-language')));
      res.type('html').send(
        deps.views.render('admin-canvas', {
          title: t('admin.canvas.title'),
          lang: req.get('accept-language'),
          redirectUri: canvasRedirectUri(deps.publicUrl),
          scopes: CANVAS_SCOPE_LIST,
          platforms: issuers.map((p) => {
            const k = byIssuer.get(p.issuer);
            return {
              name: p.name,
              issuer: p.issuer,
              setUp: Boolean(k),
              baseUrl: k?.baseUrl ?? '',
              clientId: k?.clientId ?? '',
              secretHint: k?.secretHint,
              setAt: k?.setAt?.toISOString(),
              lastTest: shownTest(lastTests.get(p.issuer), t),
            };
          }),
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/save`, deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(SaveSchema, req.body);
      await requireRegisteredIssuer(deps.lti, body.issuer);
      await saveCanvasKey({ conn: deps.conn, ltiKey: deps.canvas.ltiKey, now: deps.now }, { issuer: body.issuer, baseUrl: body.baseUrl, clientId: body.clientId, clientSecret: body.clientSecret });
      await runTest(body.issuer);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/test`, deps.requireAdmin, async (req, res, next) => {
    try {
      await runTest(parseAdminForm(IssuerSchema, req.body).issuer);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  router.post(`${page}/remove`, deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(IssuerSchema, req.body);
      await removeCanvasKey(deps.conn, body.issuer);
      lastTests.delete(body.issuer);
      res.redirect(303, page);
    } catch (err) {
      next(err);
    }
  });

  return router;
}

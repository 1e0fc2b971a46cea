/**
 * /admin/credentials: the installation's credential signing keys, and "rotate" (a new key signs
 * from now on; the old ones stay in the issuer profile, so every credential they signed still
 * verifies). Behind the administrator sign-in of admin.routes.ts (its requireAdmin).
 */
import { Router, type RequestHandler } from 'express';
import type { Connection } from 'mongoose';
import { allKeys, credentialUrls, rotateKey } from '../../credentials';
import { createTranslator, pickLanguage } from '../../i18n';
import type { Views } from '../views';

export interface CredentialsAdminDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
  publicUrl: string;
  moodle: { ltiKey: string };
  requireAdmin: RequestHandler;
}

export function credentialsAdminRouter(deps: CredentialsAdminDeps): Router {
  const router = Router();
  const urls = credentialUrls(deps.publicUrl);

  router.get('/admin/credentials', deps.requireAdmin, async (req, res) => {
    const keys = (await allKeys(deps.conn)).map((k) => ({ id: k._id, url: urls.key(k._id), createdAt: k.createdAt.toISOString(), current: k.current === 'current', retiredAt: k.retiredAt?.toISOString() }));
    res.type('html').send(deps.views.render('admin-credentials', {
        title: createTranslator(pickLanguage(req.get('accept-language')))('admin.register.credentials'),
        lang: req.get('accept-language'),
        keys,
        issuerUrl: urls.issuer,
      }));
  });

  router.post('/admin/credentials/rotate', deps.requireAdmin, async (_req, res) => {
    await rotateKey({ conn: deps.conn, ltiKey: deps.moodle.ltiKey, urls, now: deps.now });
    res.redirect(303, '/admin/credentials');
  });

  return router;
}

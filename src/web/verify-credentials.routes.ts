/**
 * The public URLs of the signed credentials (stable: they are inside every credential):
 *
 *   GET /issuer                    the issuer profile, with every signing key ever used
 *   GET /issuer/keys/:id           one key (Multikey)
 *   GET /credentials/status/:list  a signed Bitstring Status List (revocation)
 *   GET /credentials/:code         the signed credential, when its holder shows their name
 *
 * Verifiers elsewhere fetch the first three; nothing here reveals who holds what unless the
 * holder chose to show it.
 */
import { Router, type Request } from 'express';
import { rateLimit } from 'express-rate-limit';
import { normalizeCode } from '../certificates/codes';
import { findByCode } from '../certificates/certificate.queries';
import { definitionVisibility } from '../certificates/definition.service';
import { allKeys, certificateSource, credentialFor, credentialUrls, issuerProfile, keyDocument, showsName, signedStatusList, type CredentialDeps } from '../credentials';
import { registerCredentialModels } from '../credentials/credential.model';
import { NotFoundError } from '../errors';
import { awardHolderKey, awardSource } from '../certifications/award-credential';
import { findAwardByCode } from '../certifications/award.service';
import { createTranslator, pickLanguage } from '../i18n';
import type { WebContext } from './context';
import { isPublic } from './certificate.view';

export function credentialDeps(ctx: WebContext): CredentialDeps {
  return { conn: ctx.conn, ltiKey: ctx.config.ltiKey, publicUrl: ctx.config.publicUrl, now: ctx.now };
}

/** The name the issuer profile gives the installation. */
export function installationName(ctx: Pick<WebContext, 'config'>): string {
  return `Certificates at ${new URL(ctx.config.publicUrl).host}`;
}

const t = (req: Request) => createTranslator(pickLanguage(req.get('accept-language')));

export function credentialsPublicRouter(ctx: WebContext): Router {
  registerCredentialModels(ctx.conn);
  const router = Router();
  const urls = credentialUrls(ctx.config.publicUrl);
  const json = (res: import('express').Response, body: unknown, cache = 'no-cache') => {
    res.setHeader('Cache-Control', cache);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
  };

  router.get('/issuer', async (_req, res) => {
    json(res, issuerProfile(urls, installationName(ctx), await allKeys(ctx.conn)));
  });

  router.get('/issuer/keys/:id', async (req, res) => {
    const key = (await allKeys(ctx.conn)).find((k) => k._id === req.params.id);
    if (!key) throw new NotFoundError(t(req)('verify.credential.noKey'), { what: 'key' }, { key: 'verify.credential.noKey' });
    json(res, keyDocument(urls, key), 'public, max-age=3600');
  });

  router.get('/credentials/status/:list', async (req, res) => {
    const n = /^\d{1,6}$/.test(req.params.list) ? Number(req.params.list) : -1;
    const signed = n >= 0 ? await signedStatusList(credentialDeps(ctx), n) : null;
    if (!signed) throw new NotFoundError(t(req)('verify.credential.noList'), { what: 'status list' }, { key: 'verify.credential.noList' });
    json(res, signed);
  });

  router.use('/credentials', rateLimit({ windowMs: 60_000, limit: 60, standardHeaders: 'draft-7', legacyHeaders: false }));
  router.get('/credentials/:code', async (req, res) => {
    const code = normalizeCode(req.params.code.replace(/\.json$/, ''));
    const found = code ? await findByCode(ctx.conn, code, ctx.now()) : null;
    const c = found?.certificate;
    if (!c && code) {
      // An awarded certification has the same code space and the same rule: public when its holder shows their name.
      const award = (await findAwardByCode(ctx.conn, code, ctx.now()))?.award;
      const shown = award && !award.erasedAt ? await showsName(ctx.conn, awardHolderKey(award), ctx.config.publicCertificates) : false;
      if (!award || !shown) throw new NotFoundError(t(req)('verify.credential.notPublic'), { what: 'credential' }, { key: 'verify.credential.notPublic' });
      json(res, (await credentialFor(credentialDeps(ctx), awardSource(award))).credential);
      return;
    }
    const definition = c ? await definitionVisibility(ctx.conn, c.definitionId) : null;
    const open = c ? await showsName(ctx.conn, { kind: 'certificate', definitionId: String(c.definitionId), userId: c.userId }, isPublic(ctx, definition, c)) : false;
    // The credential names its holder: it is public only when they show their name.
    if (!c || !open) throw new NotFoundError(t(req)('verify.credential.notPublic'), { what: 'credential' }, { key: 'verify.credential.notPublic' });
    const { credential } = await credentialFor(credentialDeps(ctx), certificateSource(c));
    json(res, credential);
  });

  return router;
}

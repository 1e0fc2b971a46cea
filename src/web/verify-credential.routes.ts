/**
 * The verifier page: `/verify/credential` — paste or upload an Open Badges 3.0 credential (JSON,
 * or a baked PNG badge), ours or another issuer's, and see whether its proof verifies, its status
 * entry, the issuer and the dates, with the reason when something does not hold. Nothing the
 * credential names is fetched (src/credentials/verify.service.ts). Mounted before verify.routes.ts,
 * whose `/verify/:code` would otherwise take this path for a (malformed) code.
 */
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import multer from 'multer';
import { findByCode } from '../certificates/certificate.queries';
import { normalizeCode } from '../certificates/codes';
import { unbake } from '../credentials';
import { checkCredential, type CredentialCheck } from '../credentials/verify.service';
import { createTranslator, pickLanguage } from '../i18n';
import type { WebContext } from './context';
import { installationName } from './verify-credentials.routes';

const MAX_BYTES = 2 * 1024 * 1024;

export function verifyCredentialRouter(ctx: WebContext): Router {
  const router = Router();
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_BYTES, files: 1, fields: 2, fieldSize: MAX_BYTES, parts: 3 } }).single('file');
  const lang = (req: Request) => pickLanguage(req.get('accept-language'));
  const render = (req: Request, res: Response, status: number, data: Record<string, unknown>) => {
    const t = createTranslator(lang(req));
    const check = data.check as CredentialCheck | undefined;
    // message keys of the reasons (the template cannot build a key from parts)
    const keys = {
      problem: data.problem ? `verify.checker.problem.${String(data.problem)}` : undefined,
      proof: check?.proof.reason ? `verify.checker.proofNot.${check.proof.reason}` : undefined,
      status: check?.status.reason ? `verify.checker.statusNot.${check.status.reason}` : undefined,
      dates: check && check.dates !== 'valid' ? `verify.checker.datesNot.${check.dates}` : undefined,
    };
    res.status(status).type('html').send(ctx.views.render('verify-credential', { title: t('verify.checker.title'), lang: lang(req), keys, ...data }));
  };

  router.use('/verify/credential', rateLimit({ windowMs: 60_000, limit: 20, standardHeaders: 'draft-7', legacyHeaders: false }));
  router.get('/verify/credential', (req, res) => render(req, res, 200, {}));

  router.post('/verify/credential', (req, res, next) => {
    upload(req, res, (err: unknown) => {
      if (err) {
        render(req, res, err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE' ? 413 : 400, { problem: err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE' ? 'tooLarge' : 'unreadable' });
        return;
      }
      next();
    });
  }, async (req, res) => {
    const pasted = typeof req.body?.credential === 'string' ? req.body.credential.trim() : '';
    let text = pasted;
    if (!text && req.file) {
      const buf = req.file.buffer;
      if (buf.subarray(1, 4).toString('latin1') === 'PNG') {
        let baked: string | null = null;
        try {
          baked = unbake(buf);
        } catch {
          baked = null;
        }
        if (baked === null) return render(req, res, 422, { problem: 'notBaked', pasted });
        text = baked;
      } else text = buf.toString('utf8');
    }
    if (!text) return render(req, res, 400, { problem: 'empty' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return render(req, res, 422, { problem: 'notJson', pasted });
    }
    const check: CredentialCheck = await checkCredential({ conn: ctx.conn, publicUrl: ctx.config.publicUrl, profileName: installationName(ctx), now: ctx.now }, parsed);
    if (check.verifyUrl) {
      const code = normalizeCode(check.verifyUrl.split('/').pop() ?? '');
      const found = code ? await findByCode(ctx.conn, code, ctx.now()) : null;
      if (found?.certificate.status === 'superseded') {
        check.status.superseded = true;
        if (found.newest) check.status.newerVerifyUrl = check.verifyUrl.replace(/[^/]+$/, found.newest.certificate.code);
      }
    }
    const overall = check.proof.verified && check.dates === 'valid' && check.status.checked && check.status.revoked === false;
    render(req, res, 200, { check, overall, pasted: pasted.slice(0, 200_000) });
  });

  return router;
}

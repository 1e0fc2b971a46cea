/**
 * The public verification page (R2): `/verify` (type a code), `/verify/:code` (for people),
 * `/verify/:code.json` (for machines) and `/verify/:code.pdf` (the certificate, when public).
 *
 * What it shows depends on two switches, the administrator's (`Config.publicCertificates`) and
 * the course's (the definition's `public`): with both on, the certificate's details and its PDF;
 * otherwise only whether the code is valid, expired, revoked or superseded — no name, no course,
 * no PDF. Inside a launch of the course, `/app/:session/certificates/:id` shows everything.
 *
 * Codes cannot be enumerated: 80 random bits, a per-client rate limit, and an unknown code
 * answers like a known one — same status for every kind of miss (typo, near-miss, malformed),
 * the same database work, and a constant floor under the response time.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { Types } from 'mongoose';
import { normalizeCode } from '../certificates/codes';
import { definitionVisibility, type DefinitionDoc } from '../certificates/definition.service';
import { findByCode, type Verification } from '../certificates/certificate.queries';
import { certificatePdf, downloadName, verificationUrlOf } from '../documents';
import { NotFoundError } from '../errors';
import { createTranslator, pickLanguage, type Language } from '../i18n';
import type { WebContext } from './context';
import { hasPdf, isPublic, STATUS_VIEW } from './certificate.view';
import { pdfFailure, sendPdf } from './certificate-response';
import { wantsJson } from './middleware/error-handler';
import { queryOf, validateQuery } from './validate';
import { VERIFY_MESSAGES, VerifyQuery } from './verify/schema';

export interface VerifyRouteOptions {
  /** Requests per client IP and window on /verify* (default 30 per minute). */
  rateLimit?: { windowMs: number; limit: number };
  /** Every lookup takes at least this long, found or not (default 120 ms). */
  minResponseMs?: number;
}

/** The machine-readable answer (also the data of the page). */
export interface VerifyAnswer {
  code: string;
  status: 'valid' | 'expired' | 'revoked' | 'superseded';
  valid: boolean;
  /** Whether the details below may be shown to anyone (both switches on). */
  public: boolean;
  verifyUrl: string;
  certificate?: {
    title: string;
    learnerName: string;
    courseTitle: string;
    issuerName: string;
    issuedAt: string;
    expiresAt: string | null;
    scorePercent: number | null;
    version: number;
  };
  revokedAt?: string;
  supersededAt?: string;
  /** The newest version a superseded certificate leads to. */
  newerVersion?: { code: string; status: VerifyAnswer['status']; verifyUrl: string };
  pdfUrl?: string;
}

const STATUS: Record<Verification['state'], VerifyAnswer['status']> = { active: 'valid', expired: 'expired', revoked: 'revoked', superseded: 'superseded' };

/** Stands in for the definition lookup of an unknown code, so that a miss costs what a hit costs. */
const NO_DEFINITION = new Types.ObjectId('000000000000000000000000');

function viewerLanguage(req: Request): Language {
  return pickLanguage(req.get('accept-language'));
}

export function verifyRouter(ctx: WebContext, opts: VerifyRouteOptions = {}): Router {
  const router = Router();
  const minResponseMs = opts.minResponseMs ?? 120;

  router.use(
    '/verify',
    rateLimit({
      windowMs: opts.rateLimit?.windowMs ?? 60_000,
      limit: opts.rateLimit?.limit ?? 30,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      handler: (req, res, _next, options) => {
        const t = createTranslator(viewerLanguage(req));
        const seconds = Math.ceil(options.windowMs / 1000);
        const message = t('verify.rateLimited', { seconds });
        if (wantsJson(req)) {
          res.status(429).json({ error: { code: 'rate_limited', message } });
          return;
        }
        res.status(429).type('html').send(ctx.views.render('error', { title: t('app.errorTitle.rate_limited'), lang: viewerLanguage(req), status: 429, code: 'rate_limited', message }));
      },
    }),
  );

  /** Looks a code up in constant-looking time; null when unknown (or not a code at all). */
  async function lookup(raw: string): Promise<{ verification: Verification; definition: Pick<DefinitionDoc, 'public'> | null } | null> {
    const started = performance.now();
    const code = normalizeCode(raw);
    // A malformed code still costs a lookup: the answer must not tell "typo" from "unknown".
    const verification = await findByCode(ctx.conn, code ?? 'ZZZZ-ZZZZ-ZZZZ-ZZZZ', ctx.now());
    const found = code !== null && verification !== null ? verification : null;
    const definition = await definitionVisibility(ctx.conn, found?.certificate.definitionId ?? NO_DEFINITION);
    const left = minResponseMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    return found ? { verification: found, definition } : null;
  }

  function answerOf(v: Verification, definition: Pick<DefinitionDoc, 'public'> | null): VerifyAnswer {
    const c = v.certificate;
    const open = isPublic(ctx, definition);
    const base = verificationUrlOf(ctx.config.publicUrl, c.code);
    const answer: VerifyAnswer = { code: c.code, status: STATUS[v.state], valid: v.state === 'active', public: open, verifyUrl: base };
    if (!open) return answer;
    answer.certificate = {
      title: c.title,
      learnerName: c.learnerName,
      courseTitle: c.courseTitle,
      issuerName: c.issuerName,
      issuedAt: c.issuedAt.toISOString(),
      expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
      scorePercent: c.template.showScore ? c.scorePercent : null,
      version: c.version,
    };
    if (c.revokedAt) answer.revokedAt = c.revokedAt.toISOString();
    if (c.supersededAt) answer.supersededAt = c.supersededAt.toISOString();
    if (v.newest) {
      const n = v.newest.certificate;
      answer.newerVersion = { code: n.code, status: STATUS[v.newest.state], verifyUrl: verificationUrlOf(ctx.config.publicUrl, n.code) };
    }
    if (hasPdf(c, ctx.now())) answer.pdfUrl = `${base}.pdf`;
    return answer;
  }

  function renderPage(req: Request, res: Response, status: number, data: Record<string, unknown>): void {
    const lang = viewerLanguage(req);
    const t = createTranslator(lang);
    res.status(status).type('html').send(ctx.views.render('verify', { title: t('verify.title'), lang, ...data }));
  }

  router.get('/verify', validateQuery(VerifyQuery, VERIFY_MESSAGES), (req, res) => {
    const typed = queryOf(res, VerifyQuery).code;
    if (typed) {
      res.redirect(303, `/verify/${encodeURIComponent(normalizeCode(typed) ?? typed)}`);
      return;
    }
    renderPage(req, res, 200, { form: true });
  });

  router.get('/verify/:code.json', async (req, res, next) => {
    try {
      const found = await lookup(req.params.code);
      if (!found) throw new NotFoundError(createTranslator(viewerLanguage(req))('verify.notFound'), { what: 'certificate' });
      res.setHeader('Cache-Control', 'no-store');
      res.json(answerOf(found.verification, found.definition));
    } catch (err) {
      next(err);
    }
  });

  router.get('/verify/:code.pdf', async (req, res, next) => {
    try {
      const lang = viewerLanguage(req);
      const t = createTranslator(lang);
      const found = await lookup(req.params.code);
      // Not public, revoked or replaced: there is no PDF here, and "not found" is all it says.
      if (!found || !isPublic(ctx, found.definition) || !hasPdf(found.verification.certificate, ctx.now())) {
        throw new NotFoundError(t('verify.noPdf'), { what: 'certificate' });
      }
      const c = found.verification.certificate;
      try {
        const pdf = await certificatePdf({ conn: ctx.conn, renderer: ctx.renderer, publicUrl: ctx.config.publicUrl, now: ctx.now }, c, lang);
        await sendPdf(res, pdf, downloadName(c), 'inline');
      } catch (err) {
        throw pdfFailure(err, t, 'public');
      }
    } catch (err) {
      next(err);
    }
  });

  router.get('/verify/:code', async (req, res, next) => {
    try {
      const found = await lookup(req.params.code);
      res.setHeader('Cache-Control', 'no-store');
      if (!found) {
        renderPage(req, res, 404, { form: true, notFound: true, typed: req.params.code.slice(0, 64) });
        return;
      }
      const answer = answerOf(found.verification, found.definition);
      const view = STATUS_VIEW[found.verification.state];
      renderPage(req, res, 200, { answer, statusKey: `common.status.${view.key}`, badge: view.badge, form: false });
    } catch (err) {
      next(err);
    }
  });

  return router;
}

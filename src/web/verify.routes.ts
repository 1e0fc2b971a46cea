/**
 * The public verification page (R2): `/verify` (type a code), `/verify/:code` (for people),
 * `/verify/:code.json` (for machines), `/verify/:code.pdf` (the certificate, when public) and
 * `POST /verify/:code/name` ("check a name").
 *
 * It confirms who and what (#12): title, course, issuer, issue and expiry dates and the status
 * (valid, expired on …, revoked on …, superseded with a link to the newer version) for every code;
 * the holder's name only when the holder shows it (their choice, asked at claim; until they choose,
 * the administrator's switch with the course's opt-in). When the name is hidden the verifier may
 * type the name they were given and get yes or no — a guessing oracle, so rate-limited per client.
 * The PDF (which prints the name) only when both switches are on and the name is shown.
 *
 * Codes cannot be enumerated: 80 random bits, a per-client rate limit, and an unknown code costs
 * what a known one costs (the same database work and a constant floor under the response time).
 * A malformed code (not 16 letters and digits of the alphabet) says so at once: its shape is public.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Router, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { sharedRateLimitStore } from '../db/rate-limit-store';
import { Types } from 'mongoose';
import { normalizeCode } from '../certificates/codes';
import { definitionVisibility, type DefinitionDoc } from '../certificates/definition.service';
import { findByCode, type Verification } from '../certificates/certificate.queries';
import { credentialUrls, sameName, showsName } from '../credentials';
import { certificatePdf, downloadName, verificationUrlOf } from '../documents';
import { NotFoundError, ValidationError } from '../errors';
import { createTranslator, pickLanguage, type Language } from '../i18n';
import type { WebContext } from './context';
import { hasPdf, isPublic, STATUS_VIEW } from './certificate.view';
import { pdfFailure, sendPdf } from './certificate-response';
import { wantsJson } from './middleware/error-handler';
import { queryOf, validateQuery } from './validate';
import { NAME_CHECK_MESSAGES, NameCheckBody, VERIFY_MESSAGES, VerifyQuery } from './verify/schema';
import { bodyOf, validateBody } from './validate';

export interface VerifyRouteOptions {
  /** Requests per client IP and window on /verify* (default 30 per minute). */
  rateLimit?: { windowMs: number; limit: number };
  /** Names the shared (MongoDB) counters; a second router on the same database counts apart. */
  rateLimitPrefix?: string;
  /** Every lookup takes at least this long, found or not (default 120 ms). */
  minResponseMs?: number;
  /** "Check a name" attempts per client IP and window (default 10 per 15 minutes). */
  nameCheckLimit?: { windowMs: number; limit: number };
}

/** The machine-readable answer (also the data of the page). */
export interface VerifyAnswer {
  code: string;
  status: 'valid' | 'expired' | 'revoked' | 'superseded';
  valid: boolean;
  /** Whether the PDF may be shown to anyone (both switches on, and the name shown). */
  public: boolean;
  /** Whether the holder shows their name (else `certificate.learnerName` is absent: check a name instead). */
  nameShown: boolean;
  /** The learner's data was erased (src/privacy): status, dates and course stay, the name is gone. */
  erased?: boolean;
  verifyUrl: string;
  certificate: {
    title: string;
    learnerName?: string;
    courseTitle: string;
    issuerName: string;
    issuedAt: string;
    expiresAt: string | null;
    scorePercent: number | null;
    version: number;
  };
  /** When it expired (status expired). */
  expiredAt?: string;
  revokedAt?: string;
  supersededAt?: string;
  /** The newest version a superseded certificate leads to. */
  newerVersion?: { code: string; status: VerifyAnswer['status']; verifyUrl: string };
  pdfUrl?: string;
  /** The signed Open Badges 3.0 credential (only with the name shown: it names the holder). */
  credentialUrl?: string;
}

const STATUS: Record<Verification['state'], VerifyAnswer['status']> = { active: 'valid', expired: 'expired', revoked: 'revoked', superseded: 'superseded' };

/** Stands in for the definition lookup of an unknown code, so that a miss costs what a hit costs. */
const NO_DEFINITION = new Types.ObjectId('000000000000000000000000');

function viewerLanguage(req: Request): Language {
  return pickLanguage(req.get('accept-language'));
}

/** A code that cannot be one (wrong length or letters): said at once, it reveals nothing. */
class MalformedCodeError extends ValidationError {}

export function verifyRouter(ctx: WebContext, opts: VerifyRouteOptions = {}): Router {
  const router = Router();
  const minResponseMs = opts.minResponseMs ?? 120;

  router.use(
    '/verify',
    rateLimit({
      windowMs: opts.rateLimit?.windowMs ?? 60_000,
      limit: opts.rateLimit?.limit ?? 30,
      store: sharedRateLimitStore(ctx.conn, opts.rateLimitPrefix ?? 'verify'),
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

  interface Found {
    verification: Verification;
    definition: Pick<DefinitionDoc, 'public'> | null;
    nameShown: boolean;
  }

  /** Looks a code up in constant-looking time; null when unknown. Throws MalformedCodeError for a non-code. */
  async function lookup(req: Request, raw: string): Promise<Found | null> {
    const code = normalizeCode(raw);
    if (code === null) throw new MalformedCodeError(createTranslator(viewerLanguage(req))('verify.malformed'), { code: raw.slice(0, 64) }, { key: 'verify.malformed' });
    const started = performance.now();
    const verification = await findByCode(ctx.conn, code, ctx.now());
    const c = verification?.certificate;
    const definition = await definitionVisibility(ctx.conn, c?.definitionId ?? NO_DEFINITION);
    // by default the name follows visibility *at issue time* too; an erased learner's never shows (#14)
    const chosen = await showsName(ctx.conn, { kind: 'certificate', definitionId: String(c?.definitionId ?? NO_DEFINITION), userId: c?.userId ?? '' }, isPublic(ctx, definition, c ?? undefined));
    const nameShown = chosen && !c?.erasedAt;
    const left = minResponseMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    return verification ? { verification, definition, nameShown } : null;
  }

  function answerOf(found: Found): VerifyAnswer {
    const { verification: v, definition, nameShown } = found;
    const c = v.certificate;
    const base = verificationUrlOf(ctx.config.publicUrl, c.code);
    const open = isPublic(ctx, definition, c) && nameShown;
    const answer: VerifyAnswer = {
      code: c.code,
      status: STATUS[v.state],
      valid: v.state === 'active',
      public: open,
      nameShown,
      ...(c.erasedAt ? { erased: true } : {}),
      verifyUrl: base,
      certificate: {
        title: c.title,
        ...(nameShown ? { learnerName: c.learnerName } : {}),
        courseTitle: c.courseTitle,
        issuerName: c.issuerName,
        issuedAt: c.issuedAt.toISOString(),
        expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
        scorePercent: c.template.showScore ? c.scorePercent : null,
        version: c.version,
      },
    };
    if (v.state === 'expired' && c.expiresAt) answer.expiredAt = c.expiresAt.toISOString();
    if (c.revokedAt) answer.revokedAt = c.revokedAt.toISOString();
    if (c.supersededAt) answer.supersededAt = c.supersededAt.toISOString();
    // A superseded code always leads to its newer version (whatever the public switch): the
    // newer code proves nothing without its own page, which follows the same rules.
    if (v.newest) {
      const n = v.newest.certificate;
      answer.newerVersion = { code: n.code, status: STATUS[v.newest.state], verifyUrl: verificationUrlOf(ctx.config.publicUrl, n.code) };
    }
    if (open && hasPdf(c, ctx.now())) answer.pdfUrl = `${base}.pdf`;
    if (nameShown) answer.credentialUrl = credentialUrls(ctx.config.publicUrl).credential(c.code);
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

  router.get('/verify/:code.json', async (req, res) => {
    const found = await lookup(req, req.params.code);
    if (!found) throw new NotFoundError(createTranslator(viewerLanguage(req))('verify.notFound'), { what: 'certificate' }, { key: 'verify.notFound' });
    res.setHeader('Cache-Control', 'no-store');
    res.json(answerOf(found));
  });

  router.get('/verify/:code.pdf', async (req, res) => {
    const lang = viewerLanguage(req);
    const t = createTranslator(lang);
    const found = await lookup(req, req.params.code).catch(() => null);
    // Not public, name hidden, revoked or replaced: there is no PDF here, and "not found" is all it says.
    if (!found || !answerOf(found).pdfUrl) throw new NotFoundError(t('verify.noPdf'), { what: 'certificate' }, { key: 'verify.noPdf' });
    const c = found.verification.certificate;
    try {
      const pdf = await certificatePdf({ conn: ctx.conn, renderer: ctx.renderer, publicUrl: ctx.config.publicUrl, now: ctx.now }, c, lang);
      await sendPdf(res, pdf, downloadName(c), 'inline');
    } catch (err) {
      throw pdfFailure(err, t, 'public');
    }
  });

  /** The page of a code, with the answer of a name check when there was one. */
  async function renderCode(req: Request, res: Response, nameCheck?: { name: string; match: boolean }): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    let found: Found | null;
    try {
      found = await lookup(req, req.params.code as string);
    } catch (err) {
      if (!(err instanceof MalformedCodeError)) throw err;
      renderPage(req, res, 400, { form: true, malformed: true, typed: String(req.params.code).slice(0, 64) });
      return;
    }
    if (!found) {
      renderPage(req, res, 404, { form: true, notFound: true, typed: String(req.params.code).slice(0, 64) });
      return;
    }
    const answer = answerOf(found);
    const view = STATUS_VIEW[found.verification.state];
    // No browser to print with and no stored PDF: the page says so instead of a link that answers 503
    // (the JSON answer keeps its pdfUrl: the PDF exists as soon as a browser does).
    const pdfPending = answer.pdfUrl !== undefined && !found.verification.certificate.pdfFileId && !ctx.renderer.browserStatus().ok;
    const shown = pdfPending ? { ...answer, pdfUrl: undefined, pdfPending } : answer;
    renderPage(req, res, 200, { answer: shown, statusKey: `common.status.${view.key}`, badge: view.badge, form: false, nameCheck, checkNameUrl: `/verify/${answer.code}/name` });
  }

  router.get('/verify/:code', (req, res) => renderCode(req, res));

  // "Check a name": a guessing oracle for a hidden name, so few attempts per client.
  const nameLimit = rateLimit({
    windowMs: opts.nameCheckLimit?.windowMs ?? 15 * 60_000,
    limit: opts.nameCheckLimit?.limit ?? 10,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (req, res, _next, options) => {
      const t = createTranslator(viewerLanguage(req));
      const message = t('verify.nameCheck.rateLimited', { minutes: Math.ceil(options.windowMs / 60_000) });
      res.status(429).type('html').send(ctx.views.render('error', { title: t('app.errorTitle.rate_limited'), lang: viewerLanguage(req), status: 429, code: 'rate_limited', message }));
    },
  });
  router.post('/verify/:code/name', nameLimit, validateBody(NameCheckBody, NAME_CHECK_MESSAGES), async (req, res) => {
    const found = await lookup(req, req.params.code as string).catch(() => null);
    const name = bodyOf(res, NameCheckBody).name;
    const match = found !== null && sameName(name, found.verification.certificate.learnerName);
    await renderCode(req, res, { name, match });
  });

  return router;
}

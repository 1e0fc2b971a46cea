/**
 * The learner's page (R1–R3, R10–R11): for every certificate of the course, their progress with
 * the per-activity breakdown and the reasons in words; "Get your certificate" when they qualify;
 * the certificates they hold with view, PDF and the stable verification link.
 *
 * There is deliberately no route that deletes or cancels a certificate (R3).
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import { learnerGrades, readCourseGrades } from '../certificates/course-grades';
import type { DefinitionDoc } from '../certificates/definition.model';
import { listDefinitions } from '../certificates/definition.service';
import { evaluateEligibility, type EvaluatedItem, type Evaluation, type Reason } from '../certificates/evaluate';
import { toObjectId } from '../certificates/ids';
import type { IssueDoc } from '../certificates/issue.model';
import { certificateState, type CertificateState } from '../certificates/certificate-state';
import { claimCertificate } from '../certificates/issue.service';
import { listLearnerCertificates } from '../certificates/certificate.queries';
import { LearnerNameUnknownError, NotEligibleError } from '../certificates/certificate.errors';
import { ValidationError } from '../errors';
import { refreshLearnerGrades } from '../grades/learner-refresh';
import { createTranslator, pickLanguage, type Translator } from '../i18n';
import type { Launch } from '../lti/launch';
import { verificationUrlOf } from '../documents';
import type { WebContext } from './context';
import { launchOf } from './middleware/session';

/** How long the page waits for the learner's fresh grades before showing the stored ones. */
export const LEARNER_REFRESH_BUDGET_MS = 4000;

const ClaimBody = z.object({ definitionId: z.string('must be a certificate id').trim().min(1, 'is required') });

/** The status word and badge colour of a certificate, as every page shows them. */
export const STATUS_VIEW: Record<CertificateState, { key: string; badge: string }> = {
  active: { key: 'valid', badge: 'ok' },
  expired: { key: 'expired', badge: 'warn' },
  superseded: { key: 'superseded', badge: 'warn' },
  revoked: { key: 'revoked', badge: 'bad' },
};

/** May certificates of this definition be seen without a launch (R2)? Both switches must be on. */
export function isPublic(ctx: Pick<WebContext, 'config'>, definition: Pick<DefinitionDoc, 'public'> | null | undefined): boolean {
  return ctx.config.publicCertificates && definition?.public === true;
}

/** A certificate as the learner's and the teacher's pages list it. */
export function certificateSummary(ctx: Pick<WebContext, 'config'>, session: string, c: IssueDoc, now: Date, definition?: Pick<DefinitionDoc, 'public'> | null) {
  const state = certificateState(c, now);
  const base = `/app/${session}/certificates/${String(c._id)}`;
  return {
    id: String(c._id),
    title: c.title,
    version: c.version,
    state,
    statusKey: `common.status.${STATUS_VIEW[state].key}`,
    badge: STATUS_VIEW[state].badge,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    revokedAt: c.revokedAt ?? null,
    scorePercent: c.template.showScore ? c.scorePercent : null,
    viewUrl: base,
    // a replaced or revoked certificate is still shown (nothing is lost), but not handed out as a PDF
    pdfUrl: state === 'active' || state === 'expired' ? `${base}.pdf` : null,
    newerUrl: c.supersededBy ? `/app/${session}/certificates/${String(c.supersededBy)}` : null,
    verifyUrl: verificationUrlOf(ctx.config.publicUrl, c.code),
    code: c.code,
    isPublic: isPublic(ctx, definition),
  };
}

function reasonText(t: Translator, r: Reason<string>): string {
  return t(`rules.${r.code}`, r.params);
}

function itemView(i: EvaluatedItem, e: Evaluation) {
  return {
    label: i.label,
    source: i.source ?? null,
    sourceLabel: i.sourceLabel ?? null,
    sharePercent: i.counted ? i.weightShare * 100 : null,
    scoreGiven: i.scoreGiven,
    scoreMaximum: i.scoreMaximum,
    percent: i.percent,
    graded: i.graded,
    counted: i.counted,
    mandatory: i.mandatory,
    minimumPercent: i.minimumPercent ?? null,
    minimumMet: i.minimumMet ?? null,
    missing: i.missing === true,
    // Chamilo counts an ungraded activity as 0 without saying so; we say so on the row itself.
    countsAsZero: i.counted && !i.graded && !e.requireAllGraded,
  };
}

type CardState = 'claimable' | 'held' | 'pending';
// R10, "pending first": what waits for the learner's click comes first, then what they hold,
// then what they do not qualify for yet.
const CARD_ORDER: Record<CardState, number> = { claimable: 0, held: 1, pending: 2 };

function cardFor(ctx: WebContext, session: string, t: Translator, d: DefinitionDoc, e: Evaluation, certificates: IssueDoc[], now: Date) {
  const mine = certificates.filter((c) => c.definitionId.equals(d._id));
  const active = mine.find((c) => c.status === 'active');
  // R9: an expired recurring certificate is renewed by claiming again when the learner qualifies today.
  const renewable = Boolean(active && e.eligible && certificateState(active, now) === 'expired');
  const state: CardState = active && !renewable ? 'held' : e.eligible ? 'claimable' : 'pending';
  return {
    definitionId: String(d._id),
    title: d.title,
    issuerName: d.issuerName,
    state,
    claimable: state === 'claimable',
    held: state === 'held',
    thresholdPercent: d.thresholdPercent,
    requireAllGraded: d.requireAllGraded,
    recurring: d.validity.kind === 'recurring',
    validForMonths: d.validity.kind === 'recurring' ? d.validity.validForMonths : null,
    scorePercent: e.scorePercent,
    gradedCount: e.gradedCount,
    itemCount: e.itemCount,
    eligible: e.eligible,
    reasons: e.reasons.map((r) => reasonText(t, r)),
    notices: e.notices.map((n) => reasonText(t, n)),
    items: e.items.map((i) => itemView(i, e)),
    certificate: active ? certificateSummary(ctx, session, active, now, d) : null,
    isPublic: isPublic(ctx, d),
  };
}

function learnerOf(launch: Launch) {
  const u = launch.user;
  return { userId: u.id, name: u.name, givenName: u.givenName, familyName: u.familyName, email: u.email };
}

interface PageOptions {
  status?: number;
  /** A message key shown above everything (e.g. why a claim was refused). */
  notice?: string;
  /** Refresh the learner's grades from the LMS first (not after a refused claim: they were just read). */
  refresh?: boolean;
}

async function renderLearnerPage(ctx: WebContext, res: Response, opts: PageOptions = {}): Promise<void> {
  const launch = launchOf(res);
  const session = res.locals.session!;
  const lang = pickLanguage(launch.locale);
  const t = createTranslator(lang);
  const refresh = opts.refresh === false ? null : await refreshLearnerGrades(ctx, launch.courseId, launch.user, LEARNER_REFRESH_BUDGET_MS);
  const courseId = toObjectId(launch.courseId, 'course');
  const now = ctx.now();
  const [definitions, book, certificates] = await Promise.all([
    listDefinitions(ctx.conn, courseId),
    readCourseGrades(ctx.conn, courseId, { userIds: [launch.user.id] }),
    listLearnerCertificates(ctx.conn, courseId, launch.user.id),
  ]);
  const grades = learnerGrades(book, launch.user.id);
  const cards = definitions
    .map((d) => cardFor(ctx, session, t, d, evaluateEligibility(d, grades), certificates, now))
    .sort((a, b) => CARD_ORDER[a.state] - CARD_ORDER[b.state]);
  const byDefinition = new Map(definitions.map((d) => [String(d._id), d]));
  res
    .status(opts.status ?? 200)
    .type('html')
    .send(
      ctx.views.render('learner', {
        title: t('learner.title'),
        lang,
        session,
        launch,
        courseTitle: launch.context.title ?? launch.context.label ?? '',
        notice: opts.notice ?? null,
        refreshNotice: refresh?.status === 'slow' ? 'slow' : refresh?.status === 'failed' ? 'failed' : null,
        noDefinitions: definitions.length === 0,
        cards,
        certificates: certificates.map((c) => certificateSummary(ctx, session, c, now, byDefinition.get(String(c.definitionId)))),
      }),
    );
}

export function learnerRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/', async (_req, res, next) => {
    try {
      await renderLearnerPage(ctx, res);
    } catch (err) {
      next(err);
    }
  });

  // "Get your certificate" (R1). Idempotent: the service guarantees one certificate per learner
  // and definition, so a double click or a second tab lands on the same certificate.
  router.post('/claim', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const t = createTranslator(pickLanguage(launch.locale));
      const parsed = ClaimBody.safeParse(req.body ?? {});
      if (!parsed.success) throw new ValidationError(t('learner.claim.invalid'), { field: 'definitionId' });
      try {
        const { certificate } = await claimCertificate(ctx.conn, {
          courseId: launch.courseId,
          definitionId: parsed.data.definitionId,
          learner: learnerOf(launch),
          now: ctx.now,
          random: ctx.random,
        });
        res.redirect(303, `/app/${res.locals.session}/certificates/${String(certificate._id)}`);
      } catch (err) {
        // Not (yet) eligible: the page itself shows why, item by item, with the refusal on top.
        if (err instanceof NotEligibleError) return await renderLearnerPage(ctx, res, { status: 403, notice: 'learner.claim.notEligible', refresh: false });
        if (err instanceof LearnerNameUnknownError) err.message = t('learner.claim.nameUnknown');
        throw err;
      }
    } catch (err) {
      next(err);
    }
  });

  return router;
}

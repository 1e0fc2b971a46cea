/**
 * The learner page's view model: one card per certificate of the course (progress, the
 * per-activity breakdown, the reasons in words, "Get your certificate") and the list of the
 * certificates they hold.
 */
import type { EvaluatedItem, Evaluation, Reason, SnapshotComparison } from '../../certificates/evaluate';
import type { LearnerCertificateStatus, LearnerOverview } from '../../certificates/learner-overview.service';
import type { Translator } from '../../i18n';
import type { Launch } from '../../lti/launch';
import { columnLabel, translatedLabelParams } from '../../grades/label-ref';
import { certificateSummary, isPublic } from '../certificate.view';
import { changedColumnsList } from '../changed-columns.view';
import type { WebContext } from '../context';

/** A reason in words; an activity it names is named as the item table names it (columnLabel). */
function reasonText(t: Translator, r: Reason<string>): string {
  return t(`rules.${r.code}`, translatedLabelParams(r.params, t));
}

function itemView(t: Translator, i: EvaluatedItem, e: Evaluation) {
  return {
    label: columnLabel(i, t),
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

/**
 * Why a certificate is stale, in the learner's words: which grades changed since it was issued (as
 * the teacher reads it, each column in the learner's language), and the score it says beside the
 * score now when that changed.
 */
function staleText(t: Translator, c: SnapshotComparison): string {
  const score = { issued: c.issuedScore, now: c.currentScore };
  if (c.itemChanges.length === 0) return c.scoreChanged ? t('learner.card.stale', score) : t('learner.card.staleItems');
  const items = changedColumnsList(c.itemChanges, t);
  return c.scoreChanged ? t('learner.card.staleNamed', { items, ...score }) : t('learner.card.staleItemsNamed', { items });
}

function cardView(ctx: Pick<WebContext, 'config' | 'renderer'>, session: string, t: Translator, s: LearnerCertificateStatus, now: Date) {
  const { definition: d, evaluation: e } = s;
  const active = s.certificate?.status === 'active' ? s.certificate : null;
  return {
    definitionId: String(d._id),
    title: d.title,
    issuerName: d.issuerName,
    state: s.state,
    claimable: s.state === 'claimable',
    held: s.state === 'held',
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
    items: e.items.map((i) => itemView(t, i, e)),
    certificate: active ? certificateSummary(ctx, session, active, now, d) : null,
    isPublic: isPublic(ctx, d),
    stale: s.status === 'stale' && s.comparison ? { text: staleText(t, s.comparison) } : null,
    // The latest certificate expired: say when, above "Get your certificate" or "not yet".
    expiredOn: s.certificate && s.status === 'expired' ? s.certificate.expiresAt : null,
  };
}

/** The data of the `learner` template. */
export function learnerPageView(
  ctx: Pick<WebContext, 'config' | 'renderer'>,
  args: {
    session: string;
    launch: Launch;
    t: Translator;
    overview: LearnerOverview;
    now: Date;
    notice?: string;
    refresh: 'fresh' | 'slow' | 'failed' | 'background' | 'recent' | null;
    /** With `background` and `recent`: when the grades shown were last refreshed. */
    refreshedAt?: Date;
  },
) {
  const { session, t, overview, now } = args;
  const byDefinition = new Map(overview.statuses.map((s) => [String(s.definition._id), s.definition]));
  const cards = overview.statuses.map((s) => cardView(ctx, session, t, s, now));
  // A held certificate is shown once, on its definition's card (with its status and link); the list
  // below holds only the others (earlier versions, withdrawn or expired ones).
  const onCards = new Set(cards.flatMap((c) => (c.held && c.certificate ? [c.certificate.id] : [])));
  return {
    title: t('learner.title'),
    session,
    launch: args.launch,
    courseTitle: args.launch.context.title ?? args.launch.context.label ?? '',
    notice: args.notice ?? null,
    refreshNotice: args.refresh === 'slow' || args.refresh === 'failed' ? args.refresh : null,
    // how fresh the grades shown are: while a background refresh looks for newer ones, or when they
    // were fetched moments ago and the LMS is not asked again yet
    freshness:
      (args.refresh === 'background' || args.refresh === 'recent') && args.refreshedAt
        ? {
            kind: args.refresh,
            text: t(`learner.refresh.${args.refresh}`, {
              minutes: Math.max(0, Math.floor((now.getTime() - args.refreshedAt.getTime()) / 60_000)),
              // `recent`: when a reload asks the LMS again
              again: Math.max(1, Math.ceil((args.refreshedAt.getTime() + ctx.config.learnerRefreshIntervalMs - now.getTime()) / 60_000)),
            }),
          }
        : null,
    noDefinitions: overview.statuses.length === 0,
    cards,
    anyHeld: onCards.size > 0,
    certificates: overview.certificates.filter((c) => !onCards.has(String(c._id))).map((c) => certificateSummary(ctx, session, c, now, byDefinition.get(String(c.definitionId)))),
  };
}

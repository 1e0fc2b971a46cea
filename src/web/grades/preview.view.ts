/**
 * The import preview page: what the file holds, what the tool made of each column (its maximum
 * and where it comes from, or the question the teacher must answer first), the score changes a
 * page at a time, what the import changes for certificates, and the rows that were not matched.
 */
import type { Connection } from 'mongoose';
import type { CertificateImpact, ImpactLearner } from '../../certificates/grade-change-impact';
import { readCsvPreviewChanges, type CsvPreviewDoc, type StoredPreviewItem } from '../../grades/csv/csv-import.service';
import { memberNames } from '../../grades/member-names';
import { formatNumber, formatPercent, type Translator } from '../../i18n';
import { formatDateTime } from '../teacher/audit.view';

const CHANGES_PAGE_SIZE = 100;
/** Learners listed per group of the certificate impact (the counts are complete). */
const IMPACT_LISTED = 50;
const DELIMITER_NAMES = { ',': 'comma', ';': 'semicolon', '\t': 'tab' } as const;

/** Maxima the teacher may (or must) give or correct on the preview: all but the tool's own columns and percentages (always out of 100). */
const EDITABLE_FROM = new Set<StoredPreviewItem['maximumFrom']>(['unknown', 'asked', 'stored', 'file', 'derived', 'corrected']);
const askable = (item: StoredPreviewItem) => item.status !== 'ags' && (EDITABLE_FROM.has(item.maximumFrom) || item.aboveMaximum !== undefined);

function itemView(item: StoredPreviewItem, index: number, doc: CsvPreviewDoc, t: Translator) {
  const externalTool = doc.parsed.items[index]?.externalTool;
  const note =
    item.status === 'ags'
      ? t('grades.preview.sameAsAgs', { column: item.column, label: item.sameAs?.label ?? '' })
      : externalTool
        ? t('grades.preview.externalToolAlone', { name: externalTool })
        : null;
  return {
    ...item,
    index,
    maximumText: item.scoreMaximum === null ? t('grades.preview.maximumMissing') : formatNumber(item.scoreMaximum, t.lang),
    maximumFromText:
      item.maximumFrom === 'corrected'
        ? t('grades.preview.maximumFrom.corrected', { file: formatNumber(item.fileMaximum ?? 0, t.lang) })
        : t(`grades.preview.maximumFrom.${item.maximumFrom}`),
    statusText: t(`grades.preview.status.${item.status}`),
    note,
    askable: askable(item),
    missing: item.status !== 'ags' && (item.scoreMaximum === null || item.aboveMaximum !== undefined),
    aboveText: item.aboveMaximum
      ? t('grades.preview.aboveMaximum', { row: item.aboveMaximum.row, score: formatNumber(item.aboveMaximum.score, t.lang), maximum: formatNumber(item.scoreMaximum ?? 0, t.lang) })
      : null,
    inputName: `max-${index}`,
    inputValue: item.scoreMaximum === null ? '' : String(item.scoreMaximum),
  };
}

function impactView(impact: CertificateImpact | undefined, ready: boolean, t: Translator) {
  if (!ready) return { state: 'incomplete', text: t('grades.preview.impact.incomplete') };
  if (!impact) return { state: 'none', text: t('grades.preview.impact.none') };
  const person = (l: ImpactLearner) => ({
    userId: l.userId,
    name: l.name ?? l.userId,
    text: t('grades.preview.impact.scores', { before: formatPercent(l.before, t.lang), after: formatPercent(l.after, t.lang) }),
  });
  const definitions = impact.definitions.map((d) => ({
    definitionId: d.definitionId,
    title: d.title,
    becomeEligible: d.becomeEligible.slice(0, IMPACT_LISTED).map(person),
    turnStale: d.turnStale.slice(0, IMPACT_LISTED).map((s) => ({
      ...person(s),
      code: s.code,
      outcome: t(`grades.preview.impact.${s.stillEligible ? (impact.autoReissue ? 'reissued' : 'staleEligible') : 'staleNotEligible'}`),
    })),
    loseEligibility: d.loseEligibility.slice(0, IMPACT_LISTED).map(person),
    more: Math.max(0, d.becomeEligible.length - IMPACT_LISTED) + Math.max(0, d.turnStale.length - IMPACT_LISTED) + Math.max(0, d.loseEligibility.length - IMPACT_LISTED),
  }));
  const c = impact.counts;
  return {
    state: definitions.length ? 'changes' : 'none',
    text: definitions.length ? null : t('grades.preview.impact.none'),
    summary: definitions.length ? t('grades.preview.impact.summary', { eligible: c.becomeEligible, stale: c.turnStale, lose: c.loseEligibility }) : null,
    autoReissue: impact.autoReissue ? t('grades.preview.impact.autoReissueOn', { n: c.reissued }) : t('grades.preview.impact.autoReissueOff'),
    counts: c,
    definitions,
  };
}

/** Everything the preview page shows; `page` pages the score changes. */
export async function previewPageData(conn: Connection, doc: CsvPreviewDoc, t: Translator, urls: { grades: string; here: string }, page: number) {
  const pages = Math.max(1, Math.ceil(doc.counts.changes / CHANGES_PAGE_SIZE));
  const current = Math.min(page, pages);
  const slice = await readCsvPreviewChanges(conn, doc, (current - 1) * CHANGES_PAGE_SIZE, current * CHANGES_PAGE_SIZE);
  const names = await memberNames(conn, doc.courseId, [...new Set(slice.map((c) => c[0]))]);
  const score = (given: number, maximum: number) => t('grades.preview.score', { given: formatNumber(given, t.lang), maximum: formatNumber(maximum, t.lang) });
  const changes = slice.map(([userId, i, oldScore, oldMax, newScore, newMax]) => ({
    userId,
    name: names.get(userId) ?? userId,
    label: doc.items[i]?.label ?? '',
    old: oldMax === null || oldScore === null ? t('grades.preview.noScore') : score(oldScore, oldMax),
    isNew: oldMax === null,
    new: score(newScore, newMax),
  }));
  const counts = doc.counts;
  const applied = Boolean(doc.appliedAt);
  const items = doc.items.map((item, i) => ({ ...itemView(item, i, doc, t), editable: !applied && askable(item) }));
  const zeroQuestion = doc.format === 'chamilo' && counts.zeros > 0;
  const missing = items.filter((i) => i.missing).map((i) => i.label);
  const unmatchedHint =
    doc.format === 'chamilo' && counts.unmatched > 0 ? t(doc.noUsernames ? 'grades.preview.usernameHint.none' : 'grades.preview.usernameHint.some') : null;

  return {
    title: t('grades.preview.title'),
    previewId: doc._id,
    here: urls.here,
    applyAction: `${urls.here}/apply`,
    reviseAction: urls.here,
    applied,
    ready: doc.ready,
    expires: formatDateTime(new Date(doc.expiresAt), t),
    fileName: doc.fileName ?? null,
    format: doc.format,
    formatText: t('grades.preview.formatText', {
      format: t(`grades.preview.formats.${doc.format}`),
      encoding: doc.parsed.encoding.toUpperCase(),
      delimiter: t(`grades.preview.delimiter.${DELIMITER_NAMES[doc.parsed.delimiter]}`),
    }),
    uploadedBy: doc.uploadedBy?.name || doc.uploadedBy?.userId || null,
    counts: [
      { key: 'rows', n: counts.rows, kind: '' },
      { key: 'matched', n: counts.matched, kind: 'ok' },
      { key: 'unmatched', n: counts.unmatched, kind: counts.unmatched ? 'warn' : '' },
      { key: 'changes', n: counts.changes, kind: counts.changes ? 'ok' : '' },
      { key: 'unchanged', n: counts.unchanged, kind: '' },
      { key: 'newItems', n: counts.newItems, kind: '' },
      ...(zeroQuestion ? [{ key: 'zeros', n: counts.zeros, kind: doc.options.zeroIsReal ? '' : 'warn' }] : []),
    ].map((c) => ({ ...c, text: t(`grades.preview.counts.${c.key}`, { n: c.n }) })),
    items,
    missingText: missing.length ? t('grades.preview.missingMaxima', { columns: missing.join(', '), n: missing.length }) : null,
    hasAnswers: !applied && (items.some((i) => i.askable) || zeroQuestion),
    // a maximum the file gives is editable too: say so (the hint above speaks of missing ones)
    correctable: !applied && items.some((i) => i.editable && (i.maximumFrom === 'file' || i.maximumFrom === 'derived' || i.maximumFrom === 'corrected')),
    zeroQuestion: zeroQuestion ? { text: t('grades.preview.zeros', { n: counts.zeros }), checked: doc.options.zeroIsReal } : null,
    impact: impactView(doc.impact as CertificateImpact | undefined, doc.ready, t),
    matched: doc.matched.map((m) => ({ ...m, byText: t(`grades.preview.by.${m.by}`) })),
    matchedMore: Math.max(0, counts.matched - doc.matched.length),
    unmatched: doc.unmatched.map((u) => ({
      ...u,
      reasonText: t(`grades.preview.unmatchedReason.${u.reason}`, { row: u.earlierRow ?? 0 }),
      identifiersText:
        Object.values(u.identifiers ?? {})
          .filter((v): v is string => typeof v === 'string' && v !== '')
          .join(', ') || t('grades.preview.noIdentifiers'),
    })),
    unmatchedMore: Math.max(0, counts.unmatched - doc.unmatched.length),
    unmatchedHint,
    skipped: doc.parsed.skipped,
    warnings: doc.parsed.warnings,
    changes,
    changesPage: { page: current, pages, prevHref: current > 1 ? `${urls.here}?page=${current - 1}` : null, nextHref: current < pages ? `${urls.here}?page=${current + 1}` : null },
    cancelHref: `${urls.grades}/import`,
    historyHref: `${urls.grades}/history`,
  };
}

/** The sync history page: runs newest first, and after an import what it did for certificates. */
import type { CsvPreviewDoc } from '../../grades/csv/csv-import.service';
import type { SyncRun, RunPage } from '../../grades/history.service';
import { formatNumber, type Translator } from '../../i18n';
import { formatDateTime } from '../teacher/audit.view';
import type { AfterImport } from './import.flow';
import type { HistoryQuery } from './schema';

const STATUS_CLASS = { succeeded: 'ok', running: '', partial: 'warn', failed: 'bad' } as const;
const ITEM_TEXT_MAX = 300;

function itemText(item: unknown): string | null {
  if (item === undefined || item === null) return null;
  const text = typeof item === 'string' ? item : JSON.stringify(item);
  return text.length > ITEM_TEXT_MAX ? `${text.slice(0, ITEM_TEXT_MAX)}…` : text;
}

/** A sync error as the teacher reads it: its message in their language when it has a key (grades.syncError.*), else as recorded. */
export function syncErrorText(e: { message: string; key?: string; params?: Record<string, string | number> }, t: Translator): string {
  return e.key && t.has(e.key) ? t(e.key, e.params) : e.message;
}

export function historyHref(grades: string, q: Partial<HistoryQuery>): string {
  const params = new URLSearchParams();
  if (q.scope && q.scope !== 'course') params.set('scope', q.scope);
  if (q.page && q.page > 1) params.set('page', String(q.page));
  if (q.imported) params.set('imported', q.imported);
  const s = params.toString();
  return `${grades}/history${s ? `?${s}` : ''}`;
}

function runView(run: SyncRun, t: Translator, highlighted: string | undefined) {
  const shown = run.errors ?? [];
  return {
    id: String(run._id),
    current: highlighted !== undefined && String(run._id) === highlighted,
    iso: new Date(run.startedAt).toISOString(),
    when: formatDateTime(new Date(run.startedAt), t),
    who: run.startedBy?.name?.trim() || run.startedBy?.userId || t('grades.history.unknownStarter'),
    source: run.source,
    sourceText: t.has(`grades.history.sources.${run.source}`) ? t(`grades.history.sources.${run.source}`) : run.source,
    learnerScope: run.scope === 'learner' ? t('grades.history.learnerScope') : null,
    countsText: t('grades.history.countsText', { items: run.counts.items, results: run.counts.results, members: run.counts.members, changed: run.counts.changed }),
    counts: run.counts,
    duration: run.status === 'running' ? t('grades.history.running') : t('grades.history.seconds', { s: formatNumber((run.durationMs ?? 0) / 1000, t.lang, 1) }),
    status: run.status,
    statusText: t(`grades.history.statuses.${run.status}`),
    statusClass: STATUS_CLASS[run.status],
    errors: shown.map((e) => ({ kind: e.kind, message: syncErrorText(e, t), item: itemText(e.item) })),
    moreErrors: Math.max(0, (run.counts.errors ?? shown.length) - shown.length),
  };
}

/** "3 certificates were re-issued", "2 certificates are now stale: re-issue them from the overview". */
function afterImportText(after: AfterImport | undefined, t: Translator): { kind: string; text: string } | null {
  if (!after) return null;
  if ('failed' in after) return { kind: 'warn', text: t('grades.history.afterImport.failed') };
  if (after.autoReissue && after.reissued > 0) return { kind: 'ok', text: t('grades.history.afterImport.reissued', { n: after.reissued, left: after.stale - after.reissued }) };
  if (after.stale > 0) return { kind: 'warn', text: t('grades.history.afterImport.stale', { n: after.stale }) };
  return { kind: '', text: t('grades.history.afterImport.none') };
}

export function historyPageData(
  page: RunPage,
  query: HistoryQuery,
  imported: { run: SyncRun; preview: CsvPreviewDoc | null } | null,
  t: Translator,
  urls: { grades: string; base: string },
) {
  const href = (q: Partial<HistoryQuery>) => historyHref(urls.grades, { ...query, imported: undefined, ...q });
  const run = imported?.run;
  return {
    title: t('grades.history.title'),
    scope: query.scope,
    scopeLinks: (['course', 'all'] as const).map((scope) => ({
      scope,
      text: t(`grades.history.scope${scope === 'course' ? 'Course' : 'All'}`),
      href: href({ scope, page: 1 }),
      current: query.scope === scope,
    })),
    notice: run
      ? {
          runId: String(run._id),
          text: t('grades.history.imported', { changed: run.counts.changed, results: run.counts.results, members: run.counts.members }),
          unmatched: run.counts.errors ? t('grades.history.importedUnmatched', { n: run.counts.errors }) : null,
          kind: run.status === 'succeeded' ? 'ok' : 'warn',
          certificates: afterImportText(imported?.preview?.afterImport as AfterImport | undefined, t),
        }
      : null,
    runs: page.runs.map((r) => runView(r, t, query.imported)),
    total: page.total,
    pager: { page: page.page, pages: page.pages, prevHref: page.page > 1 ? href({ page: page.page - 1 }) : null, nextHref: page.page < page.pages ? href({ page: page.page + 1 }) : null },
    importHref: `${urls.grades}/import`,
    overviewHref: urls.base,
  };
}

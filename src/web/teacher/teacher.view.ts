/**
 * View pieces the teacher's pages share: the definition tabs, the grade data block, the notice
 * after an action, a job's progress panel, and the dry run of "generate all".
 */
import type { DefinitionDoc } from '../../certificates/definition.service';
import type { GenerateAllPlan, PlanEntry } from '../../certificates/generate-all.service';
import type { StaleCertificate } from '../../certificates/stale.service';
import type { SyncStatus } from '../../grades/sync-status';
import type { Translator } from '../../i18n';
import type { JobView } from '../../jobs';
import type { TeacherPage } from '../teacher-page';
import { mainReason, staleItemsText } from './overview.view';

/** Names listed per group on the dry-run page (the counts are always complete). */
const DRY_RUN_NAMES = 200;

/** Notices after an action that did not (fully) do what was asked are warnings. */
const WARNING_NOTICES = new Set(['reissueNotEligible', 'issueNotEligible', 'jobOther', 'unchanged']);

/** The notice above a page after an action redirected back to it (`?notice=…&n=…`). */
export function noticeView(t: Translator, code: string | undefined, n: number | undefined): { text: string; kind: 'ok' | 'warn'; code: string } | null {
  if (!code) return null;
  return { text: t(`teacher.notice.${code}`, { n: n ?? 0 }), kind: WARNING_NOTICES.has(code) ? 'warn' : 'ok', code };
}

/** "5 minutes ago", "just now", "3 days ago". */
export function timeAgo(now: Date, then: Date, t: Translator): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - new Date(then).getTime()) / 60_000));
  if (minutes < 60) return t('teacher.sync.ago.minutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('teacher.sync.ago.hours', { n: hours });
  return t('teacher.sync.ago.days', { n: Math.floor(hours / 24) });
}

/** One tab per definition of the course, the current one marked. */
export function definitionTabs(p: TeacherPage, definitions: DefinitionDoc[], currentId?: string) {
  return definitions.map((d) => ({ id: String(d._id), title: d.title, thresholdPercent: d.thresholdPercent, href: `${p.base}/definitions/${d._id}`, current: String(d._id) === currentId }));
}

/** The grade data block: the last sync's outcome and the running one's progress. */
export function syncView(p: TeacherPage, status: SyncStatus, now: Date) {
  const job = status.activeJob;
  const run = status.lastRun;
  return {
    ...status,
    jobUrl: job ? `/app/${p.session}/jobs/${job.id}.json` : null,
    ago: run ? timeAgo(now, run.finishedAt ?? run.startedAt, p.t) : null,
    statusText: run ? p.t(`teacher.sync.status.${run.status}`) : null,
    statusClass: run ? ({ succeeded: 'ok', running: '', partial: 'warn', failed: 'bad' } as const)[run.status] : null,
  };
}

/** A certificate job's panel on the definition page (its progress survives a reload). */
export function jobPanel<R>(p: TeacherPage, job: JobView | null) {
  if (!job) return null;
  return { ...job, active: job.status === 'queued' || job.status === 'running', url: `/app/${p.session}/jobs/${job.id}.json`, result: job.result as R | null };
}

/** One group of the dry run: its count and the first names, with the main reason when asked. */
function dryRunGroup<E extends PlanEntry>(t: Translator, entries: E[], reasonOf?: (e: E) => string | null) {
  return {
    count: entries.length,
    more: Math.max(0, entries.length - DRY_RUN_NAMES),
    names: entries.slice(0, DRY_RUN_NAMES).map((e) => ({
      name: e.name ?? t('teacher.overview.nameUnknown', { id: e.userId }),
      score: e.scorePercent,
      reason: reasonOf ? reasonOf(e) : null,
    })),
  };
}

/** The dry run of "generate all": who would get a certificate, who has one, who not and why. */
export function dryRunGroups(t: Translator, plan: GenerateAllPlan) {
  return {
    willIssue: dryRunGroup(t, plan.willIssue),
    alreadyIssued: dryRunGroup(t, plan.alreadyIssued),
    stale: dryRunGroup(t, plan.stale),
    notEligible: dryRunGroup(t, plan.notEligible, (e) => mainReason(e.reasons, t)),
    skipped: dryRunGroup(t, plan.skipped, (e) => t(`teacher.generate.skip.${e.skipReason}`)),
  };
}

/** Names of stale certificates listed per certificate on the teacher's home page. */
const STALE_NAMES = 10;

/**
 * The stale certificates where the teacher lands: per certificate definition the count, the first
 * learners with "issued at 85%, now 95%", a link to all of them and the re-issue button.
 */
export function staleView(p: TeacherPage, stale: StaleCertificate[]) {
  const byDefinition = new Map<string, StaleCertificate[]>();
  for (const s of stale) {
    const id = String(s.definition._id);
    byDefinition.set(id, [...(byDefinition.get(id) ?? []), s]);
  }
  const groups = [...byDefinition.entries()].map(([id, list]) => {
    const reissuable = list.filter((s) => s.comparison.stillEligible).length;
    return {
      id,
      title: list[0]!.definition.title,
      count: list.length,
      reissuable,
      href: `${p.base}/definitions/${id}?status=stale`,
      reissueAction: `${p.base}/definitions/${id}/reissue-stale`,
      more: Math.max(0, list.length - STALE_NAMES),
      learners: list.slice(0, STALE_NAMES).map((s) => ({
        name: s.learnerName ?? p.t('teacher.overview.nameUnknown', { id: s.certificate.userId }),
        change: s.comparison.scoreChanged
          ? p.t('teacher.overview.staleScore', { issued: s.comparison.issuedScore, now: s.comparison.currentScore })
          : staleItemsText(s.comparison.itemChanges, p.t),
        stillEligible: s.comparison.stillEligible,
      })),
    };
  });
  return { count: stale.length, groups };
}

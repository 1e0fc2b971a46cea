/**
 * A learner's page refreshes that learner's own results (AGS `user_id` filter) from the LMS.
 *
 * - When this process refreshed them less than LEARNER_REFRESH_INTERVAL_MS ago (a minute by default),
 *   the page shows the stored grades and says how old they are, and the LMS is not asked again: a
 *   learner reloading right after a launch sees what was just fetched, and the LMS is spared a
 *   request per reload.
 * - When this process refreshed them less than LEARNER_RECENT_REFRESH_MS ago, the page shows the
 *   stored grades at once (saying how fresh they are) and the refresh runs in the background; the
 *   next page view shows what it found.
 * - Otherwise the page waits for the refresh, within a time budget: past it, the page goes on with
 *   what is stored and says so, and the refresh finishes in the background.
 *
 * The page reads the learner's stored grades once (readLearnerSnapshot); the refresh compares the
 * LMS's answer with that, and when it changed nothing the page is built from the same read.
 * Last refresh times are per process: an instance that has not seen the learner refreshes in the
 * foreground, which is always correct, only slower.
 */
import type { Connection, Types } from 'mongoose';
import type { CourseDoc } from '../courses/course.model';
import { courseForRefresh } from '../courses/launched-course';
import { createLogger } from '../logger';
import type { LearnerSnapshot } from './course-grades.service';
import { gradeSourcesFor, type GradeSource, type GradeSourceDeps } from './sources';
import { syncLearner, type SyncSummary } from './sync.service';
import { syncRunModel } from './sync-run.model';

const log = createLogger('grades:learner');

/** Within this time of the last refresh, the page shows stored grades at once and refreshes in the background. */
export const LEARNER_RECENT_REFRESH_MS = 10 * 60 * 1000;

export type LearnerRefresh =
  | { status: 'fresh'; summary: SyncSummary; changed: boolean }
  | { status: 'slow' }
  | { status: 'failed'; message: string }
  | { status: 'unavailable' }
  /** Stored grades shown at once; a background refresh is on its way. */
  | { status: 'background'; refreshedAt: Date }
  /** Stored grades shown: they were refreshed within the minimum interval, the LMS is not asked again. */
  | { status: 'recent'; refreshedAt: Date };

type Deps = GradeSourceDeps & { conn: Connection; now: () => Date };

const MAX_REMEMBERED = 20_000;
const refreshedAt = new Map<string, Date>();
const running = new Map<string, Promise<LearnerRefresh>>();
const keyOf = (conn: Connection, courseId: string, userId: string) => `${conn.name}\n${courseId}\n${userId}`;

/** When this process last finished refreshing this learner's grades without a failure. */
export function lastLearnerRefresh(conn: Connection, courseId: string, userId: string): Date | undefined {
  return refreshedAt.get(keyOf(conn, courseId, userId));
}

/** Waits for the background refreshes under way (tests, shutdown). */
export async function settleLearnerRefreshes(): Promise<void> {
  while (running.size) await Promise.allSettled([...running.values()]);
}

/** Forgets the last refresh times (tests). */
export function forgetLearnerRefreshes(): void {
  refreshedAt.clear();
}

/** Makes every remembered refresh `ms` older (tests: "a refresh two minutes ago"). */
export function backdateLearnerRefreshes(ms: number): void {
  for (const [key, at] of refreshedAt) refreshedAt.set(key, new Date(at.getTime() - ms));
}

/** Past the time budget: 'slow', unless the last finished run of one of the course's sources failed. */
async function slowOrFailed(conn: Connection, courseId: Types.ObjectId, kinds: readonly string[]): Promise<LearnerRefresh> {
  for (const source of kinds) {
    const last = await syncRunModel(conn).findOne({ courseId, source, status: { $ne: 'running' } }, { status: 1, errors: { $slice: 1 } }).sort({ startedAt: -1, _id: -1 }).lean();
    if (last?.status === 'failed') return { status: 'failed', message: last.errors[0]?.message ?? 'the last sync failed' };
  }
  return { status: 'slow' };
}

/** Runs the refresh once per learner at a time in this process; later callers share it. */
function runRefresh(deps: Deps, course: CourseDoc, sources: GradeSource[], user: { id: string; name?: string }, snapshot?: LearnerSnapshot): Promise<LearnerRefresh> {
  const key = keyOf(deps.conn, String(course._id), user.id);
  const under = running.get(key);
  if (under) return under;
  const one = (source: GradeSource) =>
    syncLearner({ conn: deps.conn, source, course, userId: user.id, startedBy: { userId: user.id, name: user.name }, now: deps.now, logger: log, stored: snapshot });
  const run = Promise.all(sources.map(one))
    .then(
      (summaries): LearnerRefresh => {
        const failed = summaries.find((s) => s.status === 'failed');
        if (failed) return { status: 'failed', message: failed.errors[0]?.message ?? 'sync failed' };
        if (refreshedAt.size >= MAX_REMEMBERED) refreshedAt.clear();
        refreshedAt.set(key, deps.now());
        // "changed": the store is no longer what the page read (a write sent, even one another run had made)
        return { status: 'fresh', summary: summaries[0]!, changed: summaries.some((s) => s.counts.changed > 0 || (s.writesSent ?? 0) > 0) };
      },
      (err: Error): LearnerRefresh => {
        log.warn(`refreshing ${user.id} in ${String(course._id)} failed: ${err.message}`);
        return { status: 'failed', message: err.message };
      },
    )
    .finally(() => running.delete(key));
  running.set(key, run);
  return run;
}

/**
 * Refreshes the learner's grades for their page. `snapshot`: their stored grades as the page read
 * them (the refresh then reads nothing more). `background: true` allows showing the stored grades
 * at once when the last refresh is recent; `minIntervalMs`: within that time of the last refresh,
 * none is made at all.
 */
export async function refreshLearnerGrades(
  deps: Deps,
  courseId: string,
  user: { id: string; name?: string },
  timeoutMs = 4000,
  opts: { snapshot?: LearnerSnapshot; background?: boolean; minIntervalMs?: number } = {},
): Promise<LearnerRefresh> {
  // A refresh that finished moments ago found the course's sources and stored what they said.
  const lastDone = lastLearnerRefresh(deps.conn, courseId, user.id);
  if (opts.background && lastDone && deps.now().getTime() - lastDone.getTime() < (opts.minIntervalMs ?? 0)) return { status: 'recent', refreshedAt: lastDone };
  const course = await courseForRefresh(deps.conn, courseId);
  if (!course) return { status: 'unavailable' };
  // AGS without its address would only record a failure; the other sources say themselves.
  const sources = (await gradeSourcesFor(deps, course)).filter((s) => s.kind !== 'ags' || course.services.lineItemsUrl);
  if (sources.length === 0) return { status: 'unavailable' };
  const last = lastLearnerRefresh(deps.conn, courseId, user.id);
  if (opts.background && last && deps.now().getTime() - last.getTime() < LEARNER_RECENT_REFRESH_MS) {
    void runRefresh(deps, course, sources, user, opts.snapshot);
    return { status: 'background', refreshedAt: last };
  }
  const run = runRefresh(deps, course, sources, user, opts.snapshot);
  let timer: NodeJS.Timeout | undefined;
  // "Still on their way" only when they may be: not when the course's last finished run failed.
  const slow = new Promise<LearnerRefresh>((resolve) => (timer = setTimeout(() => resolve(slowOrFailed(deps.conn, course._id, sources.map((x) => x.kind))), timeoutMs)));
  try {
    return await Promise.race([run, slow]);
  } finally {
    clearTimeout(timer);
  }
}

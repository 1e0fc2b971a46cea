/**
 * A learner's launch refreshes that learner's own results (AGS `user_id` filter) before the
 * learner page decides anything. It must be quick: past the time budget the page goes on with
 * what is stored and says so, and the refresh finishes in the background.
 */
import type { Connection, Types } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { createLogger } from '../logger';
import { gradeSourcesFor, type GradeSource, type GradeSourceDeps } from './sources';
import { syncLearner, type SyncSummary } from './sync.service';
import { syncRunModel } from './sync-run.model';

const log = createLogger('grades:learner');

export type LearnerRefresh =
  | { status: 'fresh'; summary: SyncSummary }
  | { status: 'slow' }
  | { status: 'failed'; message: string }
  | { status: 'unavailable' };

/** Past the time budget: 'slow', unless the last finished run of one of the course's sources failed. */
async function slowOrFailed(conn: Connection, courseId: Types.ObjectId, kinds: readonly string[]): Promise<LearnerRefresh> {
  for (const source of kinds) {
    const last = await syncRunModel(conn).findOne({ courseId, source, status: { $ne: 'running' } }, { status: 1, errors: { $slice: 1 } }).sort({ startedAt: -1, _id: -1 }).lean();
    if (last?.status === 'failed') return { status: 'failed', message: last.errors[0]?.message ?? 'the last sync failed' };
  }
  return { status: 'slow' };
}

export async function refreshLearnerGrades(
  deps: GradeSourceDeps & { conn: Connection; now: () => Date },
  courseId: string,
  user: { id: string; name?: string },
  timeoutMs = 4000,
): Promise<LearnerRefresh> {
  const course = await courseModel(deps.conn).findById(courseId).lean();
  if (!course) return { status: 'unavailable' };
  // AGS without its address would only record a failure; the other sources say themselves.
  const sources = (await gradeSourcesFor(deps, course)).filter((s) => s.kind !== 'ags' || course.services.lineItemsUrl);
  if (sources.length === 0) return { status: 'unavailable' };
  const one = (source: GradeSource) =>
    syncLearner({ conn: deps.conn, source, course, userId: user.id, startedBy: { userId: user.id, name: user.name }, now: deps.now, logger: log });
  const run = Promise.all(sources.map(one)).then(
    (summaries): LearnerRefresh => {
      const failed = summaries.find((s) => s.status === 'failed');
      return failed ? { status: 'failed', message: failed.errors[0]?.message ?? 'sync failed' } : { status: 'fresh', summary: summaries[0]! };
    },
    (err: Error): LearnerRefresh => {
      log.warn(`refreshing ${user.id} in ${courseId} failed: ${err.message}`);
      return { status: 'failed', message: err.message };
    },
  );
  let timer: NodeJS.Timeout | undefined;
  // "Still on their way" only when they may be: not when the course's last finished run failed.
  const slow = new Promise<LearnerRefresh>((resolve) => (timer = setTimeout(() => resolve(slowOrFailed(deps.conn, course._id, sources.map((x) => x.kind))), timeoutMs)));
  try {
    return await Promise.race([run, slow]);
  } finally {
    clearTimeout(timer);
  }
}

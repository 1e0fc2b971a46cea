/**
 * "Sync now" and the sync after a teacher's launch: the whole course as a background job, from
 * every grade source that serves it (one run each, AGS first), with progress (columns and
 * learners) that survives a page reload. After a sync, stale certificates are re-issued when the
 * course asks for it (R5).
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { NotFoundError } from '../errors';
import { inEnglish } from '../i18n/english';
import type { JobQueue } from '../jobs';
import { createLogger } from '../logger';
import { gradeSourcesFor, type GradeSourceDeps } from './sources';
import { syncCourse, type SyncSummary } from './sync.service';

export const SYNC_JOB = 'grades.sync';

const log = createLogger('grades:sync');

export interface SyncJobDeps extends GradeSourceDeps {
  conn: Connection;
  now: () => Date;
  /** Runs after every sync that stored something (the certificates' stale check and auto re-issue). */
  afterSync?: (courseId: string) => Promise<void>;
}

export function registerSyncJob(queue: JobQueue, deps: SyncJobDeps): void {
  queue.register(SYNC_JOB, async (ctx) => {
    const course = await courseModel(deps.conn).findById(ctx.courseId).lean();
    if (!course) {
      const ref = { key: 'grades.syncError.courseGone' };
      throw new NotFoundError(inEnglish(ref), { what: 'course' }, ref);
    }
    const sources = await gradeSourcesFor(deps, course);
    const summaries: SyncSummary[] = [];
    for (const source of sources) {
      if (ctx.signal.aborted) break;
      summaries.push(
        await syncCourse({
          conn: deps.conn,
          source,
          course,
          startedBy: ctx.createdBy,
          now: deps.now,
          signal: ctx.signal,
          logger: log,
          onProgress: (p) =>
            ctx.progress({
              done: p.items.done + p.learners.done,
              total: p.items.total + p.learners.total,
              parts: { items: p.items, learners: p.learners },
            }),
        }),
      );
    }
    if (summaries.some((s) => s.status !== 'failed') && deps.afterSync) await deps.afterSync(ctx.courseId);
    const first = summaries[0]!;
    return {
      runId: first.runId,
      status: first.status,
      counts: first.counts,
      errors: first.errors.slice(0, 5),
      runs: summaries.map((s) => ({ runId: s.runId, source: s.source, status: s.status })),
    };
  });
}

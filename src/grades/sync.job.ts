/**
 * "Sync now" and the sync after a teacher's launch: the whole course as a background job, with
 * progress (line items and learners) that survives a page reload. After a sync, stale
 * certificates are re-issued when the course asks for it (R5).
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { NotFoundError } from '../errors';
import type { JobQueue } from '../jobs';
import type { AdvantageClient } from '../lti/advantage';
import type { CourseDoc } from '../courses/course.model';
import { syncCourse } from './sync.service';

export const SYNC_JOB = 'grades.sync';

export interface SyncJobDeps {
  conn: Connection;
  now: () => Date;
  advantageFor(course: Pick<CourseDoc, 'issuer' | 'clientId' | 'platformFamily'>): AdvantageClient;
  /** Runs after every successful sync (the certificates' stale check and auto re-issue). */
  afterSync?: (courseId: string) => Promise<void>;
}

export function registerSyncJob(queue: JobQueue, deps: SyncJobDeps): void {
  queue.register(SYNC_JOB, async (ctx) => {
    const course = await courseModel(deps.conn).findById(ctx.courseId).lean();
    if (!course) throw new NotFoundError('The course of this sync no longer exists.');
    const summary = await syncCourse({
      conn: deps.conn,
      client: deps.advantageFor(course),
      course,
      startedBy: ctx.createdBy,
      now: deps.now,
      signal: ctx.signal,
      onProgress: (p) =>
        ctx.progress({
          done: p.items.done + p.learners.done,
          total: p.items.total + p.learners.total,
          parts: { items: p.items, learners: p.learners },
        }),
    });
    if (summary.status !== 'failed' && deps.afterSync) await deps.afterSync(ctx.courseId);
    return { runId: summary.runId, status: summary.status, counts: summary.counts, errors: summary.errors.slice(0, 5) };
  });
}

/**
 * A learner's launch refreshes that learner's own results (AGS `user_id` filter) before the
 * learner page decides anything. It must be quick: past the time budget the page goes on with
 * what is stored and says so, and the refresh finishes in the background.
 */
import type { Connection } from 'mongoose';
import { courseModel, type CourseDoc } from '../courses/course.model';
import type { AdvantageClient } from '../lti/advantage';
import { createLogger } from '../logger';
import { syncLearner, type SyncSummary } from './sync.service';

const log = createLogger('grades:learner');

export type LearnerRefresh =
  | { status: 'fresh'; summary: SyncSummary }
  | { status: 'slow' }
  | { status: 'failed'; message: string }
  | { status: 'unavailable' };

export async function refreshLearnerGrades(
  deps: { conn: Connection; now: () => Date; advantageFor(course: Pick<CourseDoc, 'issuer' | 'clientId' | 'platformFamily'>): AdvantageClient },
  courseId: string,
  user: { id: string; name?: string },
  timeoutMs = 4000,
): Promise<LearnerRefresh> {
  const course = await courseModel(deps.conn).findById(courseId).lean();
  if (!course?.services.lineItemsUrl) return { status: 'unavailable' };
  const run = syncLearner({
    conn: deps.conn,
    client: deps.advantageFor(course),
    course,
    userId: user.id,
    startedBy: { userId: user.id, name: user.name },
    now: deps.now,
  }).then(
    (summary): LearnerRefresh => (summary.status === 'failed' ? { status: 'failed', message: summary.errors[0]?.message ?? 'sync failed' } : { status: 'fresh', summary }),
    (err: Error): LearnerRefresh => {
      log.warn(`refreshing ${user.id} in ${courseId} failed: ${err.message}`);
      return { status: 'failed', message: err.message };
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<LearnerRefresh>((resolve) => (timer = setTimeout(() => resolve({ status: 'slow' }), timeoutMs)));
  try {
    return await Promise.race([run, slow]);
  } finally {
    clearTimeout(timer);
  }
}

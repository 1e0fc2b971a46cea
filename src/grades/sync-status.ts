/**
 * The grade data block of the teacher's page: when the course was last synced and the outcome,
 * the running sync (its progress bar survives a reload because the page renders it from the
 * job), and the sync a teacher's visit starts when the data is older than ten minutes.
 */
import { Types, type Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import type { JobQueue, JobView } from '../jobs';
import type { Launch } from '../lti/launch';
import type { Clock } from '../runtime';
import { memberModel } from './member.model';
import { syncRunModel, type SyncRun } from './sync-run.model';
import { SYNC_JOB } from './sync.job';
import { isMoodleSourceOn } from './moodle/moodle-connection.service';

/** What the status and the visit's sync need: the database and the job queue (and the clock). */
interface SyncStatusDeps {
  conn: Connection;
  jobs: JobQueue;
  now: Clock;
}

/** A teacher's visit refreshes the course when the last sync is older than this. */
export const AUTO_SYNC_AFTER_MS = 10 * 60_000;

export interface SyncStatus {
  lastRun: Pick<SyncRun, 'status' | 'startedAt' | 'finishedAt' | 'counts' | 'errors'> | null;
  /** Learners on the roster (those who left excluded). */
  learners: number;
  /** The sync job, when one is queued or running (the page shows its progress bar). */
  activeJob: JobView | null;
  /** The latest sync job when it failed outright (no run recorded its error). */
  failedJob: JobView | null;
  /** The course's platform grants neither AGS nor NRPS to the tool. */
  noServices: boolean;
}

const isActive = (job: JobView | null) => job !== null && (job.status === 'queued' || job.status === 'running');

export async function loadSyncStatus(ctx: Pick<SyncStatusDeps, 'conn' | 'jobs'>, courseId: string): Promise<SyncStatus> {
  const cid = new Types.ObjectId(courseId);
  const [lastRun, learners, job, course] = await Promise.all([
    syncRunModel(ctx.conn)
      .findOne({ courseId: cid, scope: 'course', source: 'ags' }, { status: 1, startedAt: 1, finishedAt: 1, counts: 1, errors: { $slice: 3 } })
      .sort({ startedAt: -1 })
      .lean<SyncStatus['lastRun']>(),
    memberModel(ctx.conn).countDocuments({ courseId: cid, isLearner: true, status: { $ne: 'left' } }),
    ctx.jobs.latest(courseId, SYNC_JOB),
    courseModel(ctx.conn).findById(cid, { services: 1 }).lean(),
  ]);
  // A course reading the Moodle gradebook over web services has grades without AGS or NRPS.
  const noServices = !course?.services?.lineItemsUrl && !course?.services?.membershipsUrl && !(await isMoodleSourceOn(ctx.conn, cid));
  const failedJob = job?.status === 'failed' && (!lastRun || new Date(job.createdAt) > lastRun.startedAt) ? job : null;
  return { lastRun, learners, activeJob: isActive(job) ? job : null, failedJob, noServices };
}

/** Starts a course sync (or returns the one already running): the "Sync now" button. */
export function startSync(ctx: Pick<SyncStatusDeps, 'jobs'>, launch: Launch): Promise<JobView> {
  return ctx.jobs.enqueue(SYNC_JOB, { courseId: launch.courseId, createdBy: { userId: launch.user.id, name: launch.user.name }, dedupe: true });
}

/**
 * The sync a teacher's visit starts (issue #4, "when it runs"): only when nothing is running,
 * the platform shares grades at all, and neither the last sync nor the last attempt is recent.
 * Returns the status to show, including the job just started.
 */
export async function syncIfStale(ctx: SyncStatusDeps, launch: Launch, status: SyncStatus): Promise<SyncStatus> {
  if (status.activeJob || status.noServices) return status;
  const now = ctx.now().getTime();
  const recent = (d: Date | string | null | undefined) => d !== null && d !== undefined && now - new Date(d).getTime() < AUTO_SYNC_AFTER_MS;
  if (recent(status.lastRun?.startedAt)) return status;
  const latest = await ctx.jobs.latest(launch.courseId, SYNC_JOB);
  if (latest && recent(latest.createdAt)) return status;
  const job = await startSync(ctx, launch);
  return { ...status, activeJob: job };
}

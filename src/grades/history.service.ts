/**
 * The course's grade history as the teacher's history page reads it: sync runs and imports,
 * newest first, a page at a time, with the first few errors of each run.
 */
import { Types, type Connection } from 'mongoose';
import { syncRunModel, type SyncRun } from './sync-run.model';
export type { SyncRun } from './sync-run.model';

/** What the history shows of a run (the progress of a running sync is the teacher page's). */
const RUN_FIELDS = { source: 1, scope: 1, startedBy: 1, startedAt: 1, status: 1, counts: 1, durationMs: 1 } as const;

export interface RunPage {
  runs: SyncRun[];
  total: number;
  page: number;
  pages: number;
}

/**
 * One page of the course's runs. `scope: 'course'` leaves out learners' own refreshes (one per
 * learner launch), which would bury the course runs.
 */
export async function listSyncRuns(
  conn: Connection,
  courseId: string,
  opts: { scope: 'course' | 'all'; page: number; pageSize: number; errorsPerRun: number },
): Promise<RunPage> {
  const cid = new Types.ObjectId(courseId);
  const Runs = syncRunModel(conn);
  const filter = opts.scope === 'all' ? { courseId: cid } : { courseId: cid, scope: 'course' };
  const total = await Runs.countDocuments(filter);
  const pages = Math.max(1, Math.ceil(total / opts.pageSize));
  const page = Math.min(opts.page, pages);
  const runs = await Runs.find(filter, { ...RUN_FIELDS, errors: { $slice: opts.errorsPerRun } })
    .sort({ startedAt: -1, _id: -1 })
    .skip((page - 1) * opts.pageSize)
    .limit(opts.pageSize)
    .lean<SyncRun[]>();
  return { runs, total, page, pages };
}

/** One run of this course, or null (another course's runs are not found). */
export async function findSyncRun(conn: Connection, courseId: string, runId: string): Promise<SyncRun | null> {
  return syncRunModel(conn).findOne({ _id: new Types.ObjectId(runId), courseId: new Types.ObjectId(courseId) }).lean<SyncRun>();
}

/**
 * A background job: long work (a course's grade sync, generate all, export all) that runs
 * outside any request, reports progress, and outlives a page reload or a server restart.
 * One document per job; every change is a single-document atomic update.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A queued or running job; the others are finished and never change again. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running'];

export interface JobPartProgress {
  done: number;
  total: number;
}

export interface JobProgress {
  done: number;
  total: number;
  /** Named sub-counts, e.g. `{ items: {done, total}, learners: {done, total} }` for a grade sync. */
  parts?: Record<string, JobPartProgress>;
  message?: string;
}

export interface JobError {
  /** A stable code (the AppError code, or 'internal_error', or 'job_interrupted'). */
  code: string;
  /** English, for logs and scripts (and what a page shows of a job stored before keys). */
  message: string;
  /** The message key a page translates into the viewer's language, with its parameters. */
  key?: string;
  params?: Record<string, string | number>;
}

export interface JobDoc {
  _id: Types.ObjectId;
  kind: string;
  courseId: string;
  status: JobStatus;
  progress: JobProgress;
  payload?: unknown;
  /** What the handler returned (small JSON, e.g. a file id). */
  result?: unknown;
  error: JobError | null;
  createdBy: { userId: string; name?: string };
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /**
   * How many times the job was claimed. Also the fencing token: a worker writes only while
   * the job is still `running` with the attempt it claimed, so a worker whose lease expired
   * (and whose job another server took over) can no longer overwrite anything.
   */
  attempts: number;
  /** Until when the claiming worker owns the job; a running job past its lease is claimed again. */
  leaseUntil: Date | null;
  /** The instance (`<hostname>:<pid>`) that claimed the job last. */
  claimedBy?: string | null;
  /**
   * `<courseId>:<kind>` while a deduplicated job is queued or running, absent otherwise. A
   * unique sparse index on it lets only one such job be active per course and kind.
   */
  activeKey?: string;
}

const schema = new Schema<JobDoc>(
  {
    kind: { type: String, required: true },
    courseId: { type: String, required: true },
    status: { type: String, enum: JOB_STATUSES, required: true, default: 'queued' },
    progress: {
      done: { type: Number, default: 0 },
      total: { type: Number, default: 0 },
      // Mixed: part names are chosen by each handler
      parts: { type: Schema.Types.Mixed, default: undefined },
      message: String,
    },
    payload: Schema.Types.Mixed,
    result: Schema.Types.Mixed,
    error: {
      type: new Schema<JobError>({ code: String, message: String, key: String, params: Schema.Types.Mixed }, { _id: false }),
      default: null,
    },
    createdBy: {
      userId: { type: String, required: true },
      name: String,
    },
    createdAt: { type: Date, required: true },
    startedAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
    attempts: { type: Number, default: 0 },
    leaseUntil: { type: Date, default: null },
    claimedBy: { type: String, default: null },
    activeKey: { type: String },
  },
  { collection: 'jobs', versionKey: false, minimize: false },
);
// Claiming: the oldest queued job, or a running one whose lease ran out.
schema.index({ status: 1, kind: 1, createdAt: 1 });
// The page asks for the latest job of a kind in its course.
schema.index({ courseId: 1, kind: 1, createdAt: -1 });
schema.index({ activeKey: 1 }, { unique: true, sparse: true });
/** Finished jobs are kept 30 days for their pages ("last run"), then MongoDB removes them. */
export const FINISHED_JOB_TTL_SECONDS = 30 * 24 * 60 * 60;
schema.index({ finishedAt: 1 }, { expireAfterSeconds: FINISHED_JOB_TTL_SECONDS });

/** The jobs model on `conn` (collection `jobs`). */
export function jobModel(conn: Connection): Model<JobDoc> {
  return (conn.models.Job as Model<JobDoc>) ?? conn.model<JobDoc>('Job', schema);
}

/** The job queue's contract: what handlers receive, what callers pass, what pages see of a job. */
import type { Connection } from 'mongoose';
import type { Logger } from '../logger';
import type { JobDoc, JobError, JobProgress, JobStatus } from './job.model';

/** What the page and the JSON endpoint see of a job (job-progress.js reads exactly this). */
export interface JobView {
  id: string;
  kind: string;
  status: JobStatus;
  progress: JobProgress;
  result: unknown;
  error: JobError | null;
  createdBy: { userId: string; name?: string };
  /** ISO 8601 timestamps, so the view is the same object before and after JSON. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A progress report; fields left out keep their last value, `parts` merge by name. */
export interface ProgressUpdate {
  done?: number;
  total?: number;
  parts?: Record<string, { done: number; total: number }>;
  message?: string;
}

export interface JobContext {
  jobId: string;
  courseId: string;
  kind: string;
  payload: unknown;
  createdBy: { userId: string; name?: string };
  /** 1 on the first run; higher when the job is re-run after an interruption. */
  attempt: number;
  /**
   * Aborted when the job is cancelled, when the server shuts down, or when this worker lost the
   * job to another server; `signal.reason` is a {@link JobAbortedError} saying which. Check it
   * between units of work (`signal.throwIfAborted()`).
   */
  signal: AbortSignal;
  /** Reports progress. Cheap to call often: writes are throttled, the last state always lands. */
  progress(p: ProgressUpdate): Promise<void>;
}

/** Does the work; returns the result stored on the job (small JSON, e.g. a file id). */
export type JobHandler = (ctx: JobContext) => Promise<unknown>;

export type JobAbortCause = 'cancelled' | 'shutdown' | 'lease_lost';

/** The reason of an aborted job signal. */
export class JobAbortedError extends Error {
  constructor(readonly reason: JobAbortCause) {
    super(`job aborted: ${reason}`);
    this.name = 'JobAbortedError';
  }
}

export interface EnqueueOptions {
  courseId: string;
  createdBy: { userId: string; name?: string };
  payload?: unknown;
  /**
   * While a job of this kind for this course is queued or running, return that job instead of
   * starting another (a second click on "sync now" shows the running sync).
   */
  dedupe?: boolean;
}

export interface JobQueueOptions {
  conn: Connection;
  now?: () => Date;
  /** How long a claim lasts without renewal; a dead server's jobs restart after this. Default 60 s. */
  leaseMs?: number;
  /** Names this worker on the jobs it claims (`claimedBy`); default `<hostname>:<pid>`. */
  workerId?: string;
  /** How often an idle queue looks for work. Default 1 s. */
  pollMs?: number;
  /** Jobs run at once by this server. Default 1 (PDF rendering and syncs are heavy). */
  concurrency?: number;
  logger?: Logger;
  /** Minimum time between two progress writes of one job. Default 250 ms (at most 4 per second). */
  progressIntervalMs?: number;
  /** Claims after which a job whose lease keeps running out is failed. Default 5. */
  maxAttempts?: number;
  /** How long stop() waits for running handlers to finish after aborting them. Default 10 s. */
  stopTimeoutMs?: number;
}

export interface JobQueue {
  register(kind: string, handler: JobHandler): void;
  enqueue(kind: string, opts: EnqueueOptions): Promise<JobView>;
  /** The job, only when it belongs to `courseId` (a job of course A is not visible from course B). */
  get(jobId: string, courseId: string): Promise<JobView | null>;
  /** The most recently created job of a kind in a course. */
  latest(courseId: string, kind: string): Promise<JobView | null>;
  /** Cancels a queued or running job (no-op when finished); NotFoundError when not in `courseId`. */
  cancel(jobId: string, courseId: string): Promise<void>;
  start(): void;
  /** Stops claiming, aborts running handlers, waits for them (bounded) and hands their jobs back. */
  stop(): Promise<void>;
  /** For tests: resolves when no job of a registered kind is queued or running. */
  drain(): Promise<void>;
}


/** The public view of a job document. */
export function toJobView(doc: JobDoc): JobView {
  const progress: JobProgress = { done: doc.progress?.done ?? 0, total: doc.progress?.total ?? 0 };
  if (doc.progress?.parts && Object.keys(doc.progress.parts).length > 0) progress.parts = doc.progress.parts;
  if (doc.progress?.message) progress.message = doc.progress.message;
  return {
    id: String(doc._id),
    kind: doc.kind,
    status: doc.status,
    progress,
    result: doc.result ?? null,
    error: doc.error
      ? { code: doc.error.code, message: doc.error.message, ...(doc.error.key ? { key: doc.error.key, ...(doc.error.params ? { params: doc.error.params } : {}) } : {}) }
      : null,
    createdBy: doc.createdBy?.name ? { userId: doc.createdBy.userId, name: doc.createdBy.name } : { userId: doc.createdBy?.userId },
    createdAt: doc.createdAt.toISOString(),
    startedAt: doc.startedAt ? doc.startedAt.toISOString() : null,
    finishedAt: doc.finishedAt ? doc.finishedAt.toISOString() : null,
  };
}

/**
 * A failed job's message in the reader's language: its key translated, else (a job stored before
 * keys, or an error that has none) the English it was stored with.
 */
export function jobErrorText(error: JobError, t: { (key: string, params?: Record<string, string | number>): string; has(key: string): boolean }): string {
  return error.key && t.has(error.key) ? t(error.key, error.params) : error.message;
}

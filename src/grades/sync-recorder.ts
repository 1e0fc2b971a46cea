/**
 * The run recorder: one `syncruns` document per grade run (a course or one learner, from one
 * source), with who started it, its counts, its errors, its progress and its final outcome.
 * Every run is also logged with that outcome, so an operator sees what the teacher sees.
 */
import { performance } from 'node:perf_hooks';
import { Types, type Connection } from 'mongoose';
import { AppError, messageRefOf, type MessageRef } from '../errors';
import { inEnglish } from '../i18n/english';
import type { Logger } from '../logger';
import type { GradeSourceKind } from './sources/grade-source';
import { runExpiry, syncRunModel, type SyncCounts, type SyncRunError, type SyncStatus } from './sync-run.model';

export interface SyncProgress {
  items: { done: number; total: number };
  learners: { done: number; total: number };
}

export interface SyncSummary {
  runId: string;
  /** The run's grade source (a CSV import's summary may leave it out: it is always `csv`). */
  source?: GradeSourceKind;
  status: SyncStatus;
  counts: SyncCounts;
  durationMs: number;
  errors: SyncRunError[];
  startedAt: Date;
  finishedAt: Date;
  /** Write operations the run sent, including those another run had made unnecessary (a learner's refresh). */
  writesSent?: number;
}

export interface RunRecorderOptions {
  conn: Connection;
  courseId: Types.ObjectId;
  source: GradeSourceKind;
  scope: 'course' | 'learner';
  userId?: string;
  startedBy: { userId: string; name?: string };
  now: () => Date;
  onProgress?: (p: SyncProgress) => Promise<void> | void;
  logger?: Logger;
  /**
   * Write the run only when it changed something or had a problem (a learner's page refresh: one
   * per page view, and most find nothing new). Progress is then not stored.
   */
  onlyWhenWorthKeeping?: boolean;
}

/** Minimum time between two progress writes of a run document. */
const PROGRESS_WRITE_MS = 250;

/** The run document keeps the first errors only; `counts.errors` has the full number. */
const MAX_STORED_ERRORS = 200;

/** Collects counts and errors of one run and writes the run document. */
export class RunRecorder {
  readonly counts: SyncCounts = { items: 0, results: 0, members: 0, changed: 0, unchanged: 0, errors: 0 };
  readonly errors: SyncRunError[] = [];
  /** Set when the run as a whole failed (nothing could be synced, aborted, internal error). */
  fatal = false;
  /** Write operations sent (counted by the learner refresh: a page may reuse its read only when none was). */
  writesSent = 0;
  runId!: Types.ObjectId;
  readonly startedAt: Date;

  constructor(private readonly opts: RunRecorderOptions) {
    this.startedAt = opts.now();
  }

  async start(): Promise<void> {
    const o = this.opts;
    if (o.onlyWhenWorthKeeping) {
      this.runId = new Types.ObjectId();
      return;
    }
    const run = await syncRunModel(o.conn).create({
      courseId: o.courseId,
      source: o.source,
      scope: o.scope,
      userId: o.userId,
      startedBy: o.startedBy,
      startedAt: this.startedAt,
      status: 'running',
      counts: this.counts,
      durationMs: 0,
      errors: [],
    });
    this.runId = run._id;
  }

  error(kind: string, message: string, item?: unknown, translated?: MessageRef): void {
    this.counts.errors++;
    if (this.errors.length < MAX_STORED_ERRORS) {
      const e: SyncRunError = item === undefined ? { kind, message } : { kind, message, item };
      if (translated) {
        e.key = translated.key;
        if (translated.params) e.params = translated.params;
      }
      this.errors.push(e);
    }
  }

  /** Records a failed step; platform errors carry a message meant for the teacher (and its key). Others are rethrown. */
  failure(kind: string, err: unknown): void {
    if (err instanceof AppError) this.error(kind, err.message, undefined, messageRefOf(err));
    else throw err;
  }

  /**
   * Reports progress: to `onProgress` every time (the job queue throttles its own writes), to the
   * run document at most every PROGRESS_WRITE_MS (a course sync reports every roster page and
   * column: 120 writes for 5,000 learners × 20 columns otherwise); the last state lands with `finish`.
   */
  async progress(p: SyncProgress): Promise<void> {
    if (!this.opts.onlyWhenWorthKeeping) {
      this.lastProgress = structuredClone(p);
      const t = performance.now();
      if (t - this.progressWrittenAt >= PROGRESS_WRITE_MS) {
        this.progressWrittenAt = t;
        this.progressWritten = true;
        await syncRunModel(this.opts.conn).updateOne({ _id: this.runId }, { $set: { progress: this.lastProgress } });
      } else this.progressWritten = false;
    }
    await this.opts.onProgress?.(p);
  }

  private lastProgress: SyncProgress | undefined;
  private progressWrittenAt = -Infinity;
  private progressWritten = true;

  /** Ends an aborted run; returns whether it was aborted. */
  abortedInto(signal?: AbortSignal): boolean {
    if (!signal?.aborted) return false;
    this.fatal = true;
    const stopped = { key: 'grades.syncError.aborted' };
    this.error('aborted', inEnglish(stopped), undefined, stopped);
    return true;
  }

  /**
   * An exception inside a run: an abort ends the run as aborted; anything else (a database error)
   * is recorded, the run closed as failed, and the error rethrown.
   */
  async recordException(signal: AbortSignal | undefined, err: unknown): Promise<void> {
    if (this.abortedInto(signal)) return;
    this.fatal = true;
    this.error('internal_error', err instanceof Error ? err.message : String(err));
    await this.finish();
    throw err;
  }

  async finish(): Promise<SyncSummary> {
    const o = this.opts;
    const finishedAt = o.now();
    const status: SyncStatus = this.fatal ? 'failed' : this.counts.errors > 0 ? 'partial' : 'succeeded';
    const durationMs = finishedAt.getTime() - this.startedAt.getTime();
    const update: Record<string, unknown> = { status, finishedAt, durationMs, counts: this.counts, errors: this.errors };
    if (!this.progressWritten && this.lastProgress) update.progress = this.lastProgress;
    // a learner's page view that found nothing new (one per launch) is kept a day only
    const unchanged = status === 'succeeded' && this.counts.changed === 0;
    if (o.scope === 'learner' && unchanged) update.expiresAt = runExpiry('learner-unchanged', new Date());
    if (!o.onlyWhenWorthKeeping) await syncRunModel(o.conn).updateOne({ _id: this.runId }, { $set: update });
    else if (!unchanged) {
      const doc = { _id: this.runId, courseId: o.courseId, source: o.source, scope: o.scope, userId: o.userId, startedBy: o.startedBy, startedAt: this.startedAt, ...update };
      await syncRunModel(o.conn).create(doc);
    }
    const what = `${o.source} ${o.scope === 'learner' ? `learner ${o.userId ?? '?'} of ` : ''}course ${String(o.courseId)}`;
    const line = `${what}: ${status} in ${durationMs} ms`;
    if (status === 'succeeded') o.logger?.info(line, this.counts);
    else o.logger?.warn(`${line}; first error: ${this.errors[0]?.kind ?? '?'}: ${this.errors[0]?.message ?? ''}`, this.counts);
    return { runId: String(this.runId), source: o.source, status, counts: { ...this.counts }, durationMs, errors: this.errors, startedAt: this.startedAt, finishedAt, writesSent: this.writesSent };
  }
}

/**
 * The job queue: runs long work in the background with progress, on MongoDB alone.
 *
 * How it stays correct without transactions or a broker:
 * - Claiming is one atomic `findOneAndUpdate` (queued → running, with a lease), so two servers
 *   never run the same job at once.
 * - A running worker renews its lease while the handler runs. A server that dies stops renewing;
 *   when the lease has run out, any server claims the job again and re-runs it from the start —
 *   handlers are written to be idempotent (they skip work already stored).
 * - Every write of a worker is fenced by `{ status: 'running', attempts: <its claim> }`: after a
 *   cancel or a take-over the stale worker's writes match nothing and it aborts its handler.
 * - After `maxAttempts` claims whose leases all ran out, a job is failed ('job_interrupted')
 *   instead of crashing servers forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isValidObjectId } from 'mongoose';
import { AppError, messageRefOf, NotFoundError, type MessageRef } from '../errors';
import { inEnglish } from '../i18n/english';
import { createLogger } from '../logger';
import { ACTIVE_STATUSES, jobModel, type JobDoc, type JobError, type JobProgress } from './job.model';
import { JobAbortedError, toJobView, type JobContext, type JobHandler, type JobQueueOptions, type JobQueue } from './job-queue.types';

export { JobAbortedError, jobErrorText, toJobView, type JobView, type ProgressUpdate, type JobContext, type JobHandler, type JobAbortCause, type EnqueueOptions, type JobQueueOptions, type JobQueue } from './job-queue.types';

/** Shown when a handler throws something that is not an AppError; the details go to the log only. */
const GENERIC_FAILURE = { key: 'errors.internal_error' };
const INTERRUPTED_FAILURE = { key: 'errors.job_interrupted' };
/** cancel() of a job this course does not have. */
const NOT_FOUND = { key: 'teacher.job.notFound' };
const failure = (code: string, ref: MessageRef): JobError => ({ code, message: inEnglish(ref), ...ref });

function activeKeyOf(courseId: string, kind: string): string {
  return `${courseId}:${kind}`;
}

function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

interface RunningJob {
  id: string;
  fence: { _id: JobDoc['_id']; status: 'running'; attempts: number };
  controller: AbortController;
  finished: Promise<void>;
  /** stop() gave the job back to the queue; the handler's outcome is no longer ours to write. */
  released: boolean;
}

/** Creates a queue on `conn`. Register handlers, then start(); enqueue works before start(). */
export function createJobQueue(opts: JobQueueOptions): JobQueue {
  const Job = jobModel(opts.conn);
  const now = opts.now ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 1000;
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const log = opts.logger ?? createLogger('jobs');
  const progressIntervalMs = opts.progressIntervalMs ?? 250;
  const maxAttempts = opts.maxAttempts ?? 5;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  // which instance runs a job (host:pid), for the administrator and for tests that kill it
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;

  const handlers = new Map<string, JobHandler>();
  const running = new Map<string, RunningJob>();
  let started = false;
  let ticking: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  /** Set while looking for jobs keeps failing (a database outage): logged once, not every poll. */
  let failingSince: Error | undefined;
  // The unique activeKey index must exist before the first deduplicated insert relies on it.
  let indexesReady: Promise<unknown> | undefined;
  const ensureIndexes = () => (indexesReady ??= Job.createIndexes());

  const leaseFrom = (t: Date) => new Date(t.getTime() + leaseMs);
  const kinds = () => [...handlers.keys()];

  function schedule(ms: number): void {
    clearTimeout(timer);
    if (!started) return;
    timer = setTimeout(wake, ms);
    // the HTTP server keeps the process alive; an idle queue must not
    timer.unref();
  }

  function wake(): void {
    if (!started) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = tick().finally(() => {
      ticking = undefined;
      schedule(again ? 0 : pollMs);
    });
  }

  async function tick(): Promise<void> {
    try {
      do {
        again = false;
        await failExhausted();
        while (started && running.size < concurrency) {
          const doc = await claim();
          if (!doc) break;
          runJob(doc);
        }
      } while (again && started && running.size < concurrency);
      if (failingSince) log.info('looking for jobs works again');
      failingSince = undefined;
    } catch (err) {
      if (!failingSince) log.error('looking for jobs failed (retrying every poll; logged once)', err);
      failingSince = err as Error;
    }
  }

  async function claim(): Promise<JobDoc | null> {
    if (handlers.size === 0) return null;
    const t = now();
    return Job.findOneAndUpdate(
      {
        kind: { $in: kinds() },
        $or: [{ status: 'queued' }, { status: 'running', leaseUntil: { $lt: t }, attempts: { $lt: maxAttempts } }],
      },
      { $set: { status: 'running', startedAt: t, leaseUntil: leaseFrom(t), error: null, claimedBy: workerId }, $inc: { attempts: 1 } },
      { sort: { createdAt: 1, _id: 1 }, new: true },
    ).lean<JobDoc>();
  }

  /** Jobs that keep killing (or outliving) their servers are failed, not retried forever. */
  async function failExhausted(): Promise<void> {
    if (handlers.size === 0) return;
    const t = now();
    await Job.updateMany(
      { kind: { $in: kinds() }, status: 'running', leaseUntil: { $lt: t }, attempts: { $gte: maxAttempts } },
      {
        $set: { status: 'failed', finishedAt: t, leaseUntil: null, error: failure('job_interrupted', INTERRUPTED_FAILURE) },
        $unset: { activeKey: 1 },
      },
    );
  }

  function runJob(doc: JobDoc): void {
    const handler = handlers.get(doc.kind)!;
    const controller = new AbortController();
    const entry: RunningJob = {
      id: String(doc._id),
      fence: { _id: doc._id, status: 'running', attempts: doc.attempts },
      controller,
      finished: Promise.resolve(),
      released: false,
    };
    running.set(entry.id, entry);
    entry.finished = execute(doc, handler, entry)
      .catch((err) => log.error(`job ${entry.id} (${doc.kind}): recording its outcome failed`, err))
      .finally(() => {
        running.delete(entry.id);
        wake();
      });
  }

  async function execute(doc: JobDoc, handler: JobHandler, entry: RunningJob): Promise<void> {
    const { controller, fence } = entry;
    const state: JobProgress = { done: doc.progress?.done ?? 0, total: doc.progress?.total ?? 0 };
    if (doc.progress?.parts) state.parts = { ...doc.progress.parts };
    if (doc.progress?.message) state.message = doc.progress.message;

    let ended = false;
    let writes: Promise<void> = Promise.resolve();
    let lastWriteAt = -Infinity;
    let trailing: NodeJS.Timeout | undefined;

    /** The job is no longer ours (cancelled or taken over): stop the handler. */
    const lose = async () => {
      if (controller.signal.aborted) return;
      const current = await Job.findById(fence._id, { status: 1 }).lean<Pick<JobDoc, 'status'>>();
      controller.abort(new JobAbortedError(current?.status === 'cancelled' ? 'cancelled' : 'lease_lost'));
    };

    // Writes are chained so that they land in the order they were made.
    const enqueueWrite = (update: Record<string, unknown>) => {
      writes = writes
        .then(async () => {
          const res = await Job.updateOne(fence, { $set: { ...update, leaseUntil: leaseFrom(now()) } });
          if (res.matchedCount === 0) await lose();
        })
        .catch((err) => log.warn(`job ${entry.id}: progress write failed`, err));
      return writes;
    };
    const writeProgress = () => {
      lastWriteAt = performance.now();
      return enqueueWrite({ progress: { ...state } });
    };

    const heartbeat = setInterval(() => void enqueueWrite({}), Math.max(10, Math.floor(leaseMs / 3)));
    heartbeat.unref();

    const ctx: JobContext = {
      jobId: entry.id,
      courseId: doc.courseId,
      kind: doc.kind,
      payload: doc.payload,
      createdBy: doc.createdBy,
      attempt: doc.attempts,
      signal: controller.signal,
      progress: async (p) => {
        if (ended) return;
        if (p.done !== undefined) state.done = p.done;
        if (p.total !== undefined) state.total = p.total;
        if (p.parts) state.parts = { ...state.parts, ...p.parts };
        if (p.message !== undefined) state.message = p.message;
        if (trailing) return;
        const wait = lastWriteAt + progressIntervalMs - performance.now();
        if (wait <= 0) return writeProgress();
        trailing = setTimeout(() => {
          trailing = undefined;
          if (!ended) void writeProgress();
        }, wait);
      },
    };

    let outcome: { ok: true; result: unknown } | { ok: false; err: unknown };
    try {
      outcome = { ok: true, result: await handler(ctx) };
    } catch (err) {
      outcome = { ok: false, err };
    }
    ended = true;
    clearTimeout(trailing);
    clearInterval(heartbeat);
    await writes;
    if (entry.released) return;

    const reason: unknown = controller.signal.reason;
    const aborted = controller.signal.aborted && reason instanceof JobAbortedError ? reason.reason : undefined;
    const t = now();
    let res;
    if (!outcome.ok && aborted === 'shutdown') {
      // interrupted by our own shutdown: hand it back so that the next start re-runs it
      res = await Job.updateOne(fence, { $set: { status: 'queued', leaseUntil: null } });
    } else if (outcome.ok) {
      res = await Job.updateOne(fence, {
        $set: { status: 'succeeded', result: outcome.result ?? null, progress: state, finishedAt: t, leaseUntil: null, error: null },
        $unset: { activeKey: 1 },
      });
    } else {
      const error = describeFailure(outcome.err, entry.id, doc.kind);
      res = await Job.updateOne(fence, {
        $set: { status: 'failed', error, progress: state, finishedAt: t, leaseUntil: null },
        $unset: { activeKey: 1 },
      });
    }
    if (res.matchedCount === 0) log.debug(`job ${entry.id}: cancelled or taken over meanwhile, outcome not recorded`);
  }

  function describeFailure(err: unknown, jobId: string, kind: string): JobError {
    if (err instanceof AppError) {
      log.warn(`job ${jobId} (${kind}) failed: ${err.code}`, err.message);
      // the key goes with it: each page shows the failure in its reader's language
      return { code: err.code, message: err.message, ...messageRefOf(err) };
    }
    log.error(`job ${jobId} (${kind}) failed`, err);
    return failure('internal_error', GENERIC_FAILURE);
  }

  return {
    register(kind, handler) {
      if (handlers.has(kind)) throw new Error(`a handler for job kind "${kind}" is already registered`);
      handlers.set(kind, handler);
      wake();
    },

    async enqueue(kind, { courseId, createdBy, payload, dedupe }) {
      if (!handlers.has(kind)) throw new Error(`no handler registered for job kind "${kind}"`);
      await ensureIndexes();
      const doc = {
        kind,
        courseId,
        status: 'queued' as const,
        progress: { done: 0, total: 0 },
        payload,
        error: null,
        createdBy,
        createdAt: now(),
        startedAt: null,
        finishedAt: null,
        attempts: 0,
        leaseUntil: null,
      };
      if (!dedupe) {
        const created = await Job.create(doc);
        wake();
        return toJobView(created.toObject());
      }
      const activeKey = activeKeyOf(courseId, kind);
      // The active job can end between our failed insert and our read: then simply try again.
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const created = await Job.create({ ...doc, activeKey });
          wake();
          return toJobView(created.toObject());
        } catch (err) {
          if (!isDuplicateKey(err)) throw err;
          const active = await Job.findOne({ activeKey }).lean<JobDoc>();
          if (active) return toJobView(active);
        }
      }
      throw new Error(`could not enqueue a "${kind}" job for course ${courseId}: the active job kept changing`);
    },

    async get(jobId, courseId) {
      if (!isValidObjectId(jobId)) return null;
      const doc = await Job.findOne({ _id: jobId, courseId }).lean<JobDoc>();
      return doc ? toJobView(doc) : null;
    },

    async latest(courseId, kind) {
      const doc = await Job.findOne({ courseId, kind }).sort({ createdAt: -1, _id: -1 }).lean<JobDoc>();
      return doc ? toJobView(doc) : null;
    },

    async cancel(jobId, courseId) {
      if (!isValidObjectId(jobId)) throw new NotFoundError(inEnglish(NOT_FOUND), { what: 'job' }, NOT_FOUND);
      const res = await Job.updateOne(
        { _id: jobId, courseId, status: { $in: ACTIVE_STATUSES } },
        { $set: { status: 'cancelled', finishedAt: now(), leaseUntil: null }, $unset: { activeKey: 1 } },
      );
      if (res.matchedCount === 0) {
        const exists = await Job.exists({ _id: jobId, courseId });
        if (!exists) throw new NotFoundError(inEnglish(NOT_FOUND), { what: 'job' }, NOT_FOUND);
        return;
      }
      // Running here: stop it now. Running on another server: it notices at its next write.
      running.get(String(jobId))?.controller.abort(new JobAbortedError('cancelled'));
    },

    start() {
      if (started) return;
      started = true;
      wake();
    },

    async stop() {
      started = false;
      clearTimeout(timer);
      await ticking;
      const entries = [...running.values()];
      for (const e of entries) e.controller.abort(new JobAbortedError('shutdown'));
      const timeout = sleep(stopTimeoutMs, undefined, { ref: false });
      await Promise.race([Promise.allSettled(entries.map((e) => e.finished)), timeout]);
      // Handlers that ignored the signal: give their jobs back; their fenced writes now match nothing.
      for (const e of running.values()) {
        e.released = true;
        log.warn(`job ${e.id} did not stop within ${stopTimeoutMs} ms; handing it back to the queue`);
        await Job.updateOne(e.fence, { $set: { status: 'queued', leaseUntil: null } });
      }
    },

    async drain() {
      for (;;) {
        if (running.size === 0 && handlers.size > 0) {
          const active = await Job.countDocuments({ kind: { $in: kinds() }, status: { $in: ACTIVE_STATUSES } });
          if (active === 0 && running.size === 0) return;
        }
        wake();
        await sleep(Math.min(pollMs, 20));
      }
    },
  };
}

import { expect } from 'chai';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { createTranslator } from '../../src/i18n';
import { createJobQueue, JobAbortedError, jobErrorText, jobModel, type JobQueue, type JobQueueOptions, type JobView } from '../../src/jobs';
import type { Logger } from '../../src/logger';
import { useTestDatabase } from '../support/db';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const teacher = { userId: 'teacher-1', name: 'Gandalf' };
const COURSE = 'course-a';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function untilAborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

describe('job queue', () => {
  const db = useTestDatabase();
  const queues: JobQueue[] = [];

  function makeQueue(overrides: Partial<JobQueueOptions> = {}): JobQueue {
    const q = createJobQueue({ conn: db.connection, pollMs: 20, leaseMs: 2000, logger: silent, ...overrides });
    queues.push(q);
    return q;
  }

  beforeEach(async () => {
    await jobModel(db.connection).deleteMany({});
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.stop()));
  });

  describe('running a job', () => {
    it('runs a job to success, with its progress visible while it runs', async () => {
      const q = makeQueue();
      const gate = deferred();
      q.register('grade-sync', async (ctx) => {
        await ctx.progress({ done: 1, total: 3, parts: { items: { done: 1, total: 1 }, learners: { done: 0, total: 2 } }, message: 'learners' });
        await gate.promise;
        await ctx.progress({ done: 3, parts: { learners: { done: 2, total: 2 } } });
        return { changed: 7 };
      });
      const queued = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, payload: { full: true } });
      expect(queued.status).to.equal('queued');
      expect(queued.progress).to.deep.equal({ done: 0, total: 0 });
      q.start();

      const midway = await waitFor(async () => {
        const v = await q.get(queued.id, COURSE);
        return v?.status === 'running' && v.progress.done === 1 ? v : null;
      }, 'the first progress report');
      expect(midway.progress).to.deep.equal({
        done: 1,
        total: 3,
        parts: { items: { done: 1, total: 1 }, learners: { done: 0, total: 2 } },
        message: 'learners',
      });
      expect(midway.startedAt).to.be.a('string');
      expect(midway.finishedAt).to.equal(null);

      gate.resolve();
      await q.drain();
      const done = (await q.get(queued.id, COURSE))!;
      expect(done.status).to.equal('succeeded');
      expect(done.result).to.deep.equal({ changed: 7 });
      expect(done.error).to.equal(null);
      expect(done.progress).to.deep.equal({
        done: 3,
        total: 3,
        parts: { items: { done: 1, total: 1 }, learners: { done: 2, total: 2 } },
        message: 'learners',
      });
      expect(done.finishedAt).to.be.a('string');
      expect(done.createdBy).to.deep.equal(teacher);
      const stored = await jobModel(db.connection).findById(queued.id).lean();
      expect(stored!.attempts).to.equal(1);
      expect(stored!.leaseUntil).to.equal(null);
    });

    it('passes the payload and the attempt number to the handler', async () => {
      const q = makeQueue();
      let seen: unknown;
      q.register('export-all', async (ctx) => {
        seen = { payload: ctx.payload, attempt: ctx.attempt, courseId: ctx.courseId, createdBy: ctx.createdBy };
      });
      q.start();
      await q.enqueue('export-all', { courseId: COURSE, createdBy: teacher, payload: { format: 'pdf', filter: { status: 'valid' } } });
      await q.drain();
      expect(seen).to.deep.equal({ payload: { format: 'pdf', filter: { status: 'valid' } }, attempt: 1, courseId: COURSE, createdBy: teacher });
    });

    it('writes progress at most a few times per second, and always the final state', async () => {
      const q = makeQueue({ progressIntervalMs: 250 });
      const writes: string[] = [];
      q.register('generate-all', async (ctx) => {
        const started = Date.now();
        for (let i = 1; i <= 2000; i++) await ctx.progress({ done: i, total: 2000 });
        expect(Date.now() - started).to.be.below(250, 'the loop must finish within one throttle interval for this test to mean anything');
        return 'ok';
      });
      const view = await q.enqueue('generate-all', { courseId: COURSE, createdBy: teacher });
      db.connection.set('debug', (collection: string, method: string, query: Record<string, unknown>, update: Record<string, unknown>) => {
        const set = update?.$set as Record<string, unknown> | undefined;
        if (collection === 'jobs' && method === 'updateOne' && set?.progress) writes.push(String(query?.status ?? ''));
      });
      try {
        q.start();
        await q.drain();
      } finally {
        db.connection.set('debug', false);
      }
      // one leading write, perhaps one trailing, plus the final state
      expect(writes.length).to.be.within(1, 3);
      const done = (await q.get(view.id, COURSE))!;
      expect(done.progress).to.deep.equal({ done: 2000, total: 2000 });
    });
  });

  describe('failures', () => {
    it('records an AppError with its code and message', async () => {
      const q = makeQueue();
      q.register('grade-sync', async (ctx) => {
        await ctx.progress({ done: 2, total: 10 });
        throw new ValidationError('The gradebook has no user id column.');
      });
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, dedupe: true });
      await q.drain();
      const failed = (await q.get(job.id, COURSE))!;
      expect(failed.status).to.equal('failed');
      expect(failed.error).to.deep.equal({ code: 'validation_error', message: 'The gradebook has no user id column.' });
      expect(failed.progress).to.deep.equal({ done: 2, total: 10 });
      expect(failed.finishedAt).to.be.a('string');
      expect(failed.result).to.equal(null);
    });

    it("keeps a failing error's message key and parameters beside its English, for each reader's language", async () => {
      const q = makeQueue();
      const ref = { key: 'grades.apply.stale', params: { n: 3 } };
      q.register('grade-sync', async () => {
        throw new ConflictError('3 grades changed since the preview.', undefined, ref);
      });
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await q.drain();
      const failed = (await q.get(job.id, COURSE))!;
      expect(failed.error).to.deep.equal({ code: 'conflict', message: '3 grades changed since the preview.', key: 'grades.apply.stale', params: { n: 3 } });
      expect(jobErrorText(failed.error!, createTranslator('de'))).to.equal('3 Bewertungen, die dieser Import ändern würde, wurden seit der Vorschau geändert, daher wurde nichts übernommen. Laden Sie die Datei erneut hoch, um eine aktuelle Vorschau zu sehen.');
      // a job stored before keys keeps its English
      expect(jobErrorText({ code: 'conflict', message: 'Old English.' }, createTranslator('de'))).to.equal('Old English.');
    });

    it('records any other error as internal_error without its message', async () => {
      const q = makeQueue();
      q.register('grade-sync', async () => {
        throw new TypeError('cannot read properties of undefined (secret connection string)');
      });
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await q.drain();
      const failed = (await q.get(job.id, COURSE))!;
      expect(failed.status).to.equal('failed');
      expect(failed.error!.code).to.equal('internal_error');
      expect(failed.error!.message).to.not.contain('secret');
      expect(failed.error!.key).to.equal('errors.internal_error');
    });

    it('does not retry a failed job', async () => {
      const q = makeQueue();
      let runs = 0;
      q.register('grade-sync', async () => {
        runs++;
        throw new Error('boom');
      });
      q.start();
      await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await q.drain();
      await new Promise((r) => setTimeout(r, 100));
      expect(runs).to.equal(1);
    });
  });

  it('lets MongoDB remove finished jobs after 30 days (TTL on finishedAt), never queued or running ones', async () => {
    await jobModel(db.connection).createIndexes();
    const indexes = await jobModel(db.connection).collection.listIndexes().toArray();
    const ttl = indexes.find((i) => i.key.finishedAt === 1);
    expect(ttl?.expireAfterSeconds).to.equal(30 * 24 * 60 * 60);
    // queued and running jobs have finishedAt null, which a TTL index never expires
  });

  describe('dedupe', () => {
    it('returns the active job of the same kind and course instead of starting another', async () => {
      const q = makeQueue();
      const gate = deferred();
      let runs = 0;
      q.register('grade-sync', async () => {
        runs++;
        await gate.promise;
      });
      const clicks = await Promise.all(
        Array.from({ length: 5 }, () => q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, dedupe: true })),
      );
      expect(new Set(clicks.map((j) => j.id)).size).to.equal(1);

      const otherCourse = await q.enqueue('grade-sync', { courseId: 'course-b', createdBy: teacher, dedupe: true });
      expect(otherCourse.id).to.not.equal(clicks[0]!.id);
      const notDeduped = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      expect(notDeduped.id).to.not.equal(clicks[0]!.id);

      q.start();
      await waitFor(async () => (await q.get(clicks[0]!.id, COURSE))?.status === 'running', 'the job to run');
      const whileRunning = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, dedupe: true });
      expect(whileRunning.id).to.equal(clicks[0]!.id);

      gate.resolve();
      await q.drain();
      expect(runs).to.equal(3);
      const afterwards = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, dedupe: true });
      expect(afterwards.id).to.not.equal(clicks[0]!.id);
      expect(afterwards.status).to.equal('queued');
    });
  });

  describe('crash recovery', () => {
    it('re-runs a job whose server died once its lease has expired, and fences out the old worker', async () => {
      const t0 = Date.parse('2026-11-23T10:00:00Z');
      const leaseMs = 300;
      // Server A's clock stands still, so its lease renewals never reach past t0 + lease.
      const a = makeQueue({ leaseMs, now: () => new Date(t0) });
      const aStarted = deferred();
      const aAborted = deferred<unknown>();
      a.register('grade-sync', async (ctx) => {
        await ctx.progress({ done: 1, total: 2 });
        aStarted.resolve();
        aAborted.resolve(await untilAborted(ctx.signal));
        return 'from A';
      });
      a.start();
      const job = await a.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher, dedupe: true });
      await aStarted.promise;

      // Server B starts later: for it, A's lease has long run out.
      const b = makeQueue({ leaseMs, now: () => new Date(t0 + 10 * leaseMs) });
      const attempts: number[] = [];
      b.register('grade-sync', async (ctx) => {
        attempts.push(ctx.attempt);
        // B is still running when A finds out (at its next lease renewal) that the job is no
        // longer its own, and A's late outcome lands while B holds the job.
        await aAborted.promise;
        await new Promise((r) => setTimeout(r, 100));
        await ctx.progress({ done: 2, total: 2 });
        return 'from B';
      });
      b.start();
      await b.drain();

      const view = (await b.get(job.id, COURSE))!;
      expect(view.status).to.equal('succeeded');
      expect(view.result).to.equal('from B');
      expect(attempts).to.deep.equal([2]);

      const aAbort = await aAborted.promise;
      expect(aAbort).to.be.instanceOf(JobAbortedError);
      expect((aAbort as JobAbortedError).reason).to.equal('lease_lost');
      await a.stop();
      expect((await b.get(job.id, COURSE))!.progress).to.deep.equal({ done: 2, total: 2 });
    });

    it('re-runs, after a restart, a job its dead server left running', async () => {
      const t0 = Date.parse('2026-11-23T10:00:00Z');
      const Job = jobModel(db.connection);
      const { _id } = await Job.create({
        kind: 'grade-sync',
        courseId: COURSE,
        status: 'running',
        progress: { done: 40, total: 100 },
        createdBy: teacher,
        createdAt: new Date(t0 - 120_000),
        startedAt: new Date(t0 - 90_000),
        attempts: 1,
        leaseUntil: new Date(t0 - 30_000),
        activeKey: `${COURSE}:grade-sync`,
      });
      const q = makeQueue({ now: () => new Date(t0) });
      const seen: unknown[] = [];
      q.register('grade-sync', async (ctx) => {
        seen.push(ctx.attempt);
        await ctx.progress({ done: 100 });
        return 'resumed';
      });
      q.start();
      await q.drain();
      const view = (await q.get(String(_id), COURSE))!;
      expect(seen).to.deep.equal([2]);
      expect(view.status).to.equal('succeeded');
      expect(view.progress).to.deep.equal({ done: 100, total: 100 });
      expect((await Job.findById(_id).lean())!.activeKey).to.equal(undefined);
    });

    it('does not take over a job whose lease is still valid', async () => {
      const t0 = Date.parse('2026-11-23T10:00:00Z');
      const a = makeQueue({ leaseMs: 60_000, now: () => new Date(t0) });
      const gate = deferred();
      a.register('grade-sync', async () => gate.promise);
      a.start();
      const job = await a.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await waitFor(async () => (await a.get(job.id, COURSE))?.status === 'running', 'A to claim');

      const b = makeQueue({ leaseMs: 60_000, now: () => new Date(t0 + 30_000) });
      let bRuns = 0;
      b.register('grade-sync', async () => void bRuns++);
      b.start();
      await new Promise((r) => setTimeout(r, 150));
      expect(bRuns).to.equal(0);
      gate.resolve();
      await a.drain();
      expect((await a.get(job.id, COURSE))!.status).to.equal('succeeded');
    });

    it('fails a job whose lease keeps running out, instead of retrying it forever', async () => {
      const t0 = Date.parse('2026-11-23T10:00:00Z');
      const Job = jobModel(db.connection);
      const { _id } = await Job.create({
        kind: 'export-all',
        courseId: COURSE,
        status: 'running',
        progress: { done: 5, total: 300 },
        createdBy: teacher,
        createdAt: new Date(t0 - 60_000),
        startedAt: new Date(t0 - 30_000),
        attempts: 3,
        leaseUntil: new Date(t0 - 1000),
        activeKey: `${COURSE}:export-all`,
      });
      const q = makeQueue({ maxAttempts: 3, now: () => new Date(t0) });
      let runs = 0;
      q.register('export-all', async () => void runs++);
      q.start();
      await q.drain();
      const view = (await q.get(String(_id), COURSE))!;
      expect(runs).to.equal(0);
      expect(view.status).to.equal('failed');
      expect(view.error!.code).to.equal('job_interrupted');
      expect((await Job.findById(_id).lean())!.activeKey).to.equal(undefined);
    });
  });

  describe('cancel', () => {
    it('aborts the running handler through its signal and keeps the job cancelled', async () => {
      const q = makeQueue();
      const started = deferred();
      let reason: unknown;
      q.register('generate-all', async (ctx) => {
        started.resolve();
        reason = await untilAborted(ctx.signal);
        ctx.signal.throwIfAborted();
      });
      q.start();
      const job = await q.enqueue('generate-all', { courseId: COURSE, createdBy: teacher, dedupe: true });
      await started.promise;
      await q.cancel(job.id, COURSE);
      await q.drain();

      expect(reason).to.be.instanceOf(JobAbortedError);
      expect((reason as JobAbortedError).reason).to.equal('cancelled');
      const view = (await q.get(job.id, COURSE))!;
      expect(view.status).to.equal('cancelled');
      expect(view.error).to.equal(null);
      expect(view.finishedAt).to.be.a('string');
      // the course can start a new one right away
      const next = await q.enqueue('generate-all', { courseId: COURSE, createdBy: teacher, dedupe: true });
      expect(next.id).to.not.equal(job.id);
    });

    it('cancels a queued job before it runs', async () => {
      const q = makeQueue();
      let runs = 0;
      q.register('generate-all', async () => void runs++);
      const job = await q.enqueue('generate-all', { courseId: COURSE, createdBy: teacher });
      await q.cancel(job.id, COURSE);
      q.start();
      await q.drain();
      expect(runs).to.equal(0);
      expect((await q.get(job.id, COURSE))!.status).to.equal('cancelled');
    });

    it('reaches a handler running on another server at its next progress report', async () => {
      const worker = makeQueue();
      const web = makeQueue();
      web.register('generate-all', async () => undefined);
      const started = deferred();
      let reason: unknown;
      worker.register('generate-all', async (ctx) => {
        started.resolve();
        for (let i = 0; !ctx.signal.aborted && i < 500; i++) {
          await ctx.progress({ done: i, total: 500 });
          await new Promise((r) => setTimeout(r, 10));
        }
        reason = ctx.signal.reason;
      });
      worker.start();
      const job = await web.enqueue('generate-all', { courseId: COURSE, createdBy: teacher });
      await started.promise;
      await web.cancel(job.id, COURSE);
      await worker.drain();
      expect((reason as JobAbortedError).reason).to.equal('cancelled');
      expect((await web.get(job.id, COURSE))!.status).to.equal('cancelled');
    });

    it('leaves a finished job as it is', async () => {
      const q = makeQueue();
      q.register('grade-sync', async () => 'done');
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await q.drain();
      await q.cancel(job.id, COURSE);
      expect((await q.get(job.id, COURSE))!.status).to.equal('succeeded');
    });
  });

  describe('course isolation', () => {
    it('does not show, list or cancel a job of course A from course B', async () => {
      const q = makeQueue();
      const gate = deferred();
      q.register('export-all', async () => gate.promise);
      q.start();
      const job = await q.enqueue('export-all', { courseId: COURSE, createdBy: teacher });

      expect(await q.get(job.id, 'course-b')).to.equal(null);
      expect(await q.latest('course-b', 'export-all')).to.equal(null);
      let error: unknown;
      try {
        await q.cancel(job.id, 'course-b');
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(NotFoundError);
      expect((await q.get(job.id, COURSE))!.status).to.be.oneOf(['queued', 'running']);
      gate.resolve();
    });

    it('answers null for ids that are not job ids', async () => {
      const q = makeQueue();
      expect(await q.get('not-an-id', COURSE)).to.equal(null);
      expect(await q.get('000000000000000000000000', COURSE)).to.equal(null);
    });
  });

  describe('latest', () => {
    it('returns the newest job of a kind in the course', async () => {
      let clock = Date.parse('2026-11-23T10:00:00Z');
      const q = makeQueue({ now: () => new Date(clock) });
      q.register('grade-sync', async () => undefined);
      q.register('export-all', async () => undefined);
      await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      clock += 1000;
      const second = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: { userId: 'teacher-2' } });
      clock += 1000;
      await q.enqueue('export-all', { courseId: COURSE, createdBy: teacher });
      const latest = (await q.latest(COURSE, 'grade-sync')) as JobView;
      expect(latest.id).to.equal(second.id);
      expect(latest.createdAt).to.equal('2026-11-23T10:00:01.000Z');
    });
  });

  describe('stop', () => {
    it('aborts running handlers, waits for them, and hands their jobs back for the next start', async () => {
      const q = makeQueue();
      const started = deferred();
      let finishedCleanup = false;
      q.register('export-all', async (ctx) => {
        started.resolve();
        await untilAborted(ctx.signal);
        await new Promise((r) => setTimeout(r, 150)); // e.g. closing the half-written file
        finishedCleanup = true;
        ctx.signal.throwIfAborted();
      });
      q.start();
      const job = await q.enqueue('export-all', { courseId: COURSE, createdBy: teacher, dedupe: true });
      await started.promise;
      await q.stop();
      expect(finishedCleanup).to.equal(true);
      const stored = await jobModel(db.connection).findById(job.id).lean();
      expect(stored!.status).to.equal('queued');
      expect(stored!.leaseUntil).to.equal(null);

      // the restarted server runs it again at once, without waiting for a lease to expire
      const restarted = makeQueue();
      const attempts: number[] = [];
      restarted.register('export-all', async (ctx) => void attempts.push(ctx.attempt));
      restarted.start();
      await restarted.drain();
      expect(attempts).to.deep.equal([2]);
      expect((await restarted.get(job.id, COURSE))!.status).to.equal('succeeded');
    });

    it('records the success of a handler that finishes its work during shutdown', async () => {
      const q = makeQueue();
      const started = deferred();
      q.register('grade-sync', async () => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 100));
        return 'finished anyway';
      });
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await started.promise;
      await q.stop();
      const view = (await q.get(job.id, COURSE))!;
      expect(view.status).to.equal('succeeded');
      expect(view.result).to.equal('finished anyway');
    });

    it('gives up waiting after its time limit and hands back a job whose handler ignores the signal', async () => {
      const q = makeQueue({ stopTimeoutMs: 100 });
      const started = deferred();
      const never = deferred();
      q.register('grade-sync', async () => {
        started.resolve();
        await never.promise;
        return 'too late';
      });
      q.start();
      const job = await q.enqueue('grade-sync', { courseId: COURSE, createdBy: teacher });
      await started.promise;
      const t = Date.now();
      await q.stop();
      expect(Date.now() - t).to.be.within(90, 1000);
      expect((await q.get(job.id, COURSE))!.status).to.equal('queued');
      never.resolve();
      await new Promise((r) => setTimeout(r, 50));
      expect((await q.get(job.id, COURSE))!.status).to.equal('queued', 'the abandoned handler must not write its late outcome');
    });
  });
});

/**
 * The generic grade sync: drives any GradeSource (./sources/) through the write planners
 * (./grade-writes.ts) and records the run (./sync-recorder.ts). Roster first, then the columns,
 * then every column's results, stored incrementally. Only differences are written (unordered bulk
 * writes keyed on the unique indexes), so a second identical run writes nothing; a changed score
 * updates one document and keeps the previous value in its history; a learner missing from a
 * complete roster is marked `left`, a column gone from a complete listing gets `removedAt`,
 * nothing is deleted.
 *
 * A failure in one part (a page that keeps failing, a refused scope) is recorded in the run and
 * the rest carries on; what was written is correct on its own, and the next run completes the
 * job without duplicates because every write is an idempotent single-document operation.
 */
import { createHash } from 'node:crypto';
import type { Connection, Types } from 'mongoose';
import type { CourseDoc } from '../courses/course.model';
import { messageRefOf } from '../errors';
import { SourceUnavailableError } from '../http/platform-errors';
import type { Logger } from '../logger';
import {
  executeWrites,
  planLineItemWrites,
  planMemberWrites,
  planResultWrites,
  STORED_RESULT_PROJECTION,
  type IncomingScore,
  type StoredLineItem,
  type StoredMember,
  type StoredResult,
} from './grade-writes';
import type { LearnerSnapshot } from './course-grades.service';
import { lineItemModel } from './line-item.model';
import { memberModel } from './member.model';
import { resultModel } from './result.model';
import type { GradeSource, ResultBatch, SourceContext, SourceLineItem } from './sources/grade-source';
import { RunRecorder, type SyncProgress, type SyncSummary } from './sync-recorder';

export type { SyncProgress, SyncSummary } from './sync-recorder';

export interface SyncOptions {
  conn: Connection;
  source: GradeSource;
  course: Pick<CourseDoc, '_id'>;
  startedBy: { userId: string; name?: string };
  now: () => Date;
  onProgress?: (p: SyncProgress) => Promise<void> | void;
  signal?: AbortSignal;
  /** Requests at a time for a course's results (default 4: polite to the LMS, and Canvas charges parallel calls). */
  concurrency?: number;
  logger?: Logger;
}

/**
 * A current stored column with what the results step needs. `fresh`: this run created it, so no
 * result of it can be stored yet and its results are inserted without reading anything back.
 */
type SyncItem = StoredLineItem & { resultsDigest?: string | null; resultsEpoch?: number; fresh?: boolean };

/**
 * A digest of a complete result listing, in a stable order (times as epoch milliseconds: a tenth
 * of a no-change sync's CPU went to formatting them as ISO strings).
 */
function digestOf(scores: IncomingScore[]): string {
  const lines = scores.map((s) => `${s.userId}\t${s.scoreGiven}\t${s.scoreMaximum}\t${s.comment ?? ''}\t${s.timestamp?.getTime() ?? ''}`);
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

function contextOf(run: RunRecorder, signal: AbortSignal | undefined, rosterProgress: SourceContext['rosterProgress'], userId?: string): SourceContext {
  return { signal, error: (k, m, i, tr) => run.error(k, m, i, tr), failure: (k, e) => run.failure(k, e), rosterProgress, ...(userId ? { userId } : {}) };
}

/** Records a step that threw: unavailable sources under their own kind, other AppErrors under `kind`. */
function stepFailed(run: RunRecorder, kind: string, err: unknown): void {
  if (err instanceof SourceUnavailableError) run.error(err.runErrorKind, err.message, undefined, messageRefOf(err));
  else run.failure(kind, err);
}

/** Stores the source's columns; returns the current ones with their stored ids, or null when the step failed. */
async function syncColumns(opts: SyncOptions, run: RunRecorder, ctx: SourceContext): Promise<{ item: SourceLineItem; stored: SyncItem }[] | null> {
  const { conn, course, source } = opts;
  let listing;
  try {
    listing = await source.lineItems(ctx);
  } catch (err) {
    stepFailed(run, 'line_items_failed', err);
    return null;
  }
  const Model = lineItemModel(conn);
  const stored = await Model.find(
    { courseId: course._id, source: source.kind },
    { externalId: 1, label: 1, scoreMaximum: 1, resourceLinkId: 1, resourceId: 1, tag: 1, startDateTime: 1, endDateTime: 1, kind: 1, weight: 1, hidden: 1, removedAt: 1 },
  ).lean<StoredLineItem[]>();
  const plan = planLineItemWrites({
    courseId: course._id,
    source: source.kind,
    incoming: listing.items,
    stored: new Map(stored.map((s) => [s.externalId, s])),
    now: opts.now(),
    complete: listing.complete,
  });
  const outcome = plan.ops.length ? await executeWrites(Model.collection, plan.ops) : { written: 0, raced: 0 };
  // Columns this run inserted have no stored results (a first sync: nothing to compare). Only
  // when every insert landed: a raced one was inserted by a learner's refresh, which may also
  // have stored results of it.
  const fresh = new Set<string>();
  if (outcome.raced === 0) for (const op of plan.ops) if ('insertOne' in op) fresh.add(op.insertOne.document.externalId as string);
  run.counts.items = listing.items.length;
  run.counts.changed += plan.changed;
  run.counts.unchanged += plan.unchanged;
  const current = await Model.find(
    { courseId: course._id, source: source.kind, removedAt: null },
    { externalId: 1, scoreMaximum: 1, label: 1, resultsDigest: 1, resultsEpoch: 1 },
  ).lean<SyncItem[]>();
  const byExternal = new Map(current.map((d) => [d.externalId, d]));
  const out: { item: SourceLineItem; stored: SyncItem }[] = [];
  for (const item of listing.items) {
    const s = byExternal.get(item.externalId);
    if (s) out.push({ item, stored: fresh.has(s.externalId) ? { ...s, fresh: true } : s });
  }
  return out;
}

async function syncRoster(opts: SyncOptions, run: RunRecorder, report: (done: number, total: number) => Promise<void>): Promise<{ failed: boolean }> {
  const { conn, course, source } = opts;
  if (!source.roster) return { failed: false };
  const Model = memberModel(conn);
  const stored = await Model.find({ courseId: course._id }, { userId: 1, name: 1, givenName: 1, familyName: 1, email: 1, lisPersonSourcedId: 1, roles: 1, isLearner: 1, teacherLaunchAt: 1, status: 1, leftAt: 1 }).lean<StoredMember[]>();
  const expected = stored.filter((s) => s.status !== 'left').length;
  let listing;
  try {
    listing = await source.roster(contextOf(run, opts.signal, (done) => report(done, Math.max(expected, done))));
  } catch (err) {
    stepFailed(run, 'roster_failed', err);
    return { failed: true };
  }
  const plan = planMemberWrites({ courseId: course._id, incoming: listing.members, stored: new Map(stored.map((s) => [s.userId, s])), now: opts.now(), complete: listing.complete });
  if (plan.ops.length) await executeWrites(Model.collection, plan.ops);
  run.counts.members = listing.members.length;
  run.counts.changed += plan.changed;
  run.counts.unchanged += plan.unchanged;
  await report(listing.members.length, listing.members.length);
  return { failed: listing.failed === true };
}

/**
 * Stores the results of one column, for everyone or for one learner.
 *
 * A course sync keeps a digest of each listing on the column: when the next listing has
 * the same digest, nothing changed and the stored results are not even read. Any other write to
 * the column's results (a learner's refresh) clears the digest and bumps an epoch, and a digest is
 * only saved if the epoch did not move meanwhile, so a skipped column is always equal to the LMS.
 */
async function storeBatch(opts: SyncOptions, run: RunRecorder, item: SyncItem, batch: ResultBatch, userId?: string): Promise<void> {
  const { conn, course, source } = opts;
  const Model = resultModel(conn);
  const incoming = batch.results;
  run.counts.results += incoming.length;
  const wholeItem = userId === undefined;
  // A batch that is not complete (Moodle leaves suspended learners out) is skipped too when it
  // repeats itself; its digest is told apart from a complete one's, which also clears the missing.
  const digest = wholeItem ? (batch.complete ? digestOf(incoming) : `partial:${digestOf(incoming)}`) : undefined;
  if (digest !== undefined && item.resultsDigest === digest) {
    run.counts.unchanged += incoming.length;
    return;
  }
  const filter = wholeItem ? { courseId: course._id, lineItemId: item._id } : { courseId: course._id, lineItemId: item._id, userId };
  const stored = item.fresh && wholeItem ? [] : await Model.find(filter, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
  const storedMap = new Map(stored.map((s) => [s.userId, s]));
  const plan = planResultWrites({
    courseId: course._id,
    lineItemId: item._id,
    source: source.kind,
    incoming,
    stored: storedMap,
    now: opts.now(),
    missingClears: batch.complete ? storedMap.keys() : undefined,
  });
  // The digest is bookkeeping, not data: raw updates, so updatedAt stays the data's.
  const items = lineItemModel(conn).collection;
  if (!wholeItem && plan.ops.length) {
    // Before writing: the column's digest no longer describes what is stored.
    await items.updateOne({ _id: item._id }, { $set: { resultsDigest: null }, $inc: { resultsEpoch: 1 } });
  }
  const outcome = plan.ops.length ? await executeWrites(Model.collection, plan.ops) : { written: 0, raced: 0 };
  run.counts.changed += plan.changed - outcome.raced;
  run.counts.unchanged += plan.unchanged + outcome.raced;
  if (digest !== undefined && outcome.raced === 0) {
    // `null` also matches a column never bumped (no epoch field yet).
    await items.updateOne({ _id: item._id, resultsEpoch: item.resultsEpoch ?? null }, { $set: { resultsDigest: digest } });
  }
}

/**
 * Writes of result batches, in the background while the source fetches the next columns: at most
 * `parallel` at a time (the database works on one while this process encodes the next); a batch
 * that finds every slot taken waits (back-pressure: at most `parallel` stored batches plus the
 * source's requests in flight are held in memory). The first failure stops further writes and is
 * rethrown by `drain()`, which always waits for every write started.
 */
function writeQueue(parallel: number) {
  const running = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  return {
    async push(write: () => Promise<void>): Promise<void> {
      while (running.size >= parallel) await Promise.race(running);
      if (failure) throw failure.err;
      const p: Promise<void> = write()
        .catch((err: unknown) => {
          failure ??= { err };
        })
        .finally(() => running.delete(p));
      running.add(p);
    },
    async drain(): Promise<void> {
      while (running.size) await Promise.race(running);
      if (failure) throw failure.err;
    },
  };
}

/** Parallel result writes of a course sync (see writeQueue). */
const RESULT_WRITES_IN_FLIGHT = 2;

/**
 * Asks the source for the columns' results and stores each batch as it arrives, writing one
 * column while the next ones are fetched.
 */
async function syncResults(
  opts: SyncOptions,
  run: RunRecorder,
  ctx: SourceContext,
  columns: { item: SourceLineItem; stored: SyncItem }[],
  concurrency: number,
  userId: string | undefined,
  onColumnDone: () => Promise<void>,
): Promise<void> {
  const byExternal = new Map(columns.map((c) => [c.item.externalId, c.stored]));
  const done = new Set<string>();
  const writes = writeQueue(RESULT_WRITES_IN_FLIGHT);
  try {
    await opts.source.results(ctx, { items: columns.map((c) => c.item), userId, concurrency }, async (batch) => {
      const stored = byExternal.get(batch.externalId);
      if (!stored || done.has(batch.externalId)) return;
      done.add(batch.externalId);
      await writes.push(async () => {
        // A column fetched before a stop is not written after it (the next run writes it).
        if (opts.signal?.aborted) return;
        await storeBatch(opts, run, stored, batch, userId);
        await onColumnDone();
      });
    });
  } finally {
    // Never leave a write running behind the run's record: a failed fetch or write waits for the others.
    await writes.drain();
  }
}

function recorderFor(opts: SyncOptions, scope: 'course' | 'learner', userId?: string, onlyWhenWorthKeeping = false): RunRecorder {
  return new RunRecorder({
    conn: opts.conn,
    courseId: opts.course._id,
    source: opts.source.kind,
    scope,
    userId,
    startedBy: opts.startedBy,
    now: opts.now,
    onProgress: opts.onProgress,
    logger: opts.logger,
    onlyWhenWorthKeeping,
  });
}

/**
 * Syncs a whole course from one source: roster, columns, then every column's results. Returns the
 * run summary (also stored in `syncruns`). Platform failures are recorded in the run, not thrown;
 * database failures are recorded and rethrown.
 */
export async function syncCourse(opts: SyncOptions): Promise<SyncSummary> {
  const run = recorderFor(opts, 'course');
  await run.start();
  const progress: SyncProgress = { items: { done: 0, total: 0 }, learners: { done: 0, total: 0 } };
  // AGS reads each column's results on their own, whoever is on the roster: its roster (NRPS,
  // page by page) is read and stored while the columns' results are, so that a first sync costs
  // about the larger of the two instead of their sum. Other sources may need the stored roster
  // first (Chamilo matches its gradebook to it): one after the other.
  const overlap = opts.source.kind === 'ags';
  let rosterDone: Promise<{ failed: boolean }> | undefined;
  const rosterStep = () =>
    syncRoster(opts, run, async (done, total) => {
      progress.learners = { done, total };
      await run.progress(progress);
    });
  try {
    if (overlap) {
      rosterDone = rosterStep();
      rosterDone.catch(() => undefined);
    }
    const roster = overlap ? undefined : await rosterStep();
    if (!run.abortedInto(opts.signal)) {
      const ctx = contextOf(run, opts.signal, async () => undefined);
      const columns = await syncColumns(opts, run, ctx);
      if (columns === null) {
        // Neither the roster nor the grade columns: nothing was synced.
        if ((roster ?? (await rosterDone!)).failed || !opts.source.roster) run.fatal = true;
      } else {
        progress.items = { done: 0, total: columns.length };
        await run.progress(progress);
        await syncResults(opts, run, ctx, columns, opts.concurrency ?? 4, undefined, async () => {
          progress.items.done++;
          await run.progress(progress);
        });
        if (rosterDone) await rosterDone;
        run.abortedInto(opts.signal);
      }
    }
    if (rosterDone) await rosterDone;
  } catch (err) {
    if (rosterDone) await rosterDone.catch(() => undefined);
    await run.recordException(opts.signal, err);
  }
  return run.finish();
}

/** Line item fields a learner's refresh reads once: the column diff's, and the results step's. */
const LEARNER_ITEM_FIELDS = {
  externalId: 1, label: 1, scoreMaximum: 1, resourceLinkId: 1, resourceId: 1, tag: 1, startDateTime: 1, endDateTime: 1, kind: 1, weight: 1, hidden: 1, removedAt: 1,
} as const;

/**
 * Refreshes one learner's results from one source (AGS: the `user_id` filter on each line item),
 * for the learner page to decide on fresh data. The roster is left alone.
 *
 * Built for a page that waits on it: one read of the course's columns and one of the learner's
 * stored results; every results call at once, the stored columns' ones (AGS) sent together with
 * the column listing, so that a refresh costs one LMS round trip, two when the listing brings a
 * new column; the writes only when something changed, in one bulk write; and the run recorded
 * only when it changed something or had a problem.
 */
export async function syncLearner(opts: SyncOptions & { userId: string; stored?: LearnerSnapshot }): Promise<SyncSummary> {
  const run = recorderFor(opts, 'learner', opts.userId, true);
  await run.start();
  const { conn, course, source, userId } = opts;
  try {
    const ctx = contextOf(run, opts.signal, async () => undefined, userId);
    const Items = lineItemModel(conn);
    // What is stored: the page's snapshot when it read one (learner-refresh.ts), else two reads.
    const snapshot = opts.stored && opts.stored.courseId.equals(course._id) && opts.stored.userId === userId ? opts.stored : undefined;
    const stored: StoredLineItem[] = snapshot
      ? snapshot.lineItems.filter((li) => li.source === source.kind)
      : await Items.find({ courseId: course._id, source: source.kind }, LEARNER_ITEM_FIELDS).lean<StoredLineItem[]>();
    const current = stored.filter((s) => !s.removedAt);
    const ours = new Set(stored.map((s) => String(s._id)));
    const storedResults: Promise<StoredResult[]> = snapshot
      ? Promise.resolve(snapshot.results.filter((r) => ours.has(String(r.lineItemId))) as StoredResult[])
      : resultModel(conn)
          .find({ courseId: course._id, userId, lineItemId: { $in: stored.map((s) => s._id) } }, STORED_RESULT_PROJECTION)
          .lean<StoredResult[]>()
          .exec();
    storedResults.catch(() => undefined);

    const batches = new Map<string, ResultBatch>();
    const fetchResults = (items: SourceLineItem[]) =>
      items.length === 0
        ? Promise.resolve()
        : source.results(ctx, { items, userId, concurrency: items.length }, async (batch) => {
            if (!batches.has(batch.externalId)) batches.set(batch.externalId, batch);
          });
    // AGS answers each column on its own: its results calls need not wait for the listing.
    const early = source.kind === 'ags' ? current.map((s) => ({ ...s, kind: s.kind ?? 'activity' }) as SourceLineItem) : [];
    const earlyDone = fetchResults(early);
    let listing: Awaited<ReturnType<GradeSource['lineItems']>> | null = null;
    try {
      listing = await source.lineItems(ctx);
    } catch (err) {
      stepFailed(run, 'line_items_failed', err);
    }
    await earlyDone;
    if (listing === null) {
      run.fatal = true;
    } else {
      const plan = planLineItemWrites({
        courseId: course._id,
        source: source.kind,
        incoming: listing.items,
        stored: new Map(stored.map((s) => [s.externalId, s])),
        now: opts.now(),
        complete: listing.complete,
      });
      if (plan.ops.length) await executeWrites(Items.collection, plan.ops);
      run.writesSent += plan.ops.length;
      run.counts.items = listing.items.length;
      run.counts.changed += plan.changed;
      run.counts.unchanged += plan.unchanged;
      // Columns whose early answer cannot be used: new ones, and those whose maximum changed
      // (a result without its own maximum takes the column's).
      const byExternal = new Map(current.map((s) => [s.externalId, s]));
      const late = listing.items.filter((li) => {
        const s = byExternal.get(li.externalId);
        return !s || s.scoreMaximum !== li.scoreMaximum || !batches.has(li.externalId);
      });
      for (const li of late) batches.delete(li.externalId);
      await fetchResults(late);
      const ids = plan.ops.some((op) => 'insertOne' in op)
        ? await Items.find({ courseId: course._id, source: source.kind, removedAt: null }, { externalId: 1, resultsEpoch: 1 }).lean<SyncItem[]>()
        : null;
      const idOf = new Map((ids ?? stored).map((s) => [s.externalId, s._id]));
      const mine = new Map((await storedResults).map((r) => [String(r.lineItemId), r]));
      const ops: Parameters<typeof executeWrites>[1] = [];
      const touched: Types.ObjectId[] = [];
      for (const li of listing.items) {
        const batch = batches.get(li.externalId);
        const lineItemId = idOf.get(li.externalId);
        if (!batch || !lineItemId) continue;
        run.counts.results += batch.results.length;
        const prior = mine.get(String(lineItemId));
        const storedMap = new Map(prior ? [[prior.userId, prior]] : []);
        const plan = planResultWrites({
          courseId: course._id,
          lineItemId,
          source: source.kind,
          incoming: batch.results.filter((r) => r.userId === userId),
          stored: storedMap,
          now: opts.now(),
          missingClears: batch.complete ? storedMap.keys() : undefined,
        });
        run.counts.changed += plan.changed;
        run.counts.unchanged += plan.unchanged;
        if (plan.ops.length) {
          ops.push(...plan.ops);
          touched.push(lineItemId);
        }
      }
      if (ops.length) {
        // Before writing: those columns' digests no longer describe what is stored (storeBatch).
        await Items.collection.updateMany({ _id: { $in: touched } }, { $set: { resultsDigest: null }, $inc: { resultsEpoch: 1 } });
        run.writesSent += ops.length;
        const outcome = await executeWrites(resultModel(conn).collection, ops);
        run.counts.changed -= outcome.raced;
        run.counts.unchanged += outcome.raced;
      }
    }
    run.abortedInto(opts.signal);
  } catch (err) {
    await run.recordException(opts.signal, err);
  }
  return run.finish();
}

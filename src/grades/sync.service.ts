/**
 * Grade sync over LTI Advantage: the course roster (NRPS), its line items and every result (AGS),
 * stored incrementally. Only differences are written (unordered bulk writes keyed on the unique
 * indexes), so a second identical run writes nothing; a changed score updates one document and
 * keeps the previous value in its history; a learner missing from the roster is marked `left`, a
 * line item gone from AGS gets `removedAt`, nothing is deleted.
 *
 * A failure in one part (a page that keeps failing, a refused scope) is recorded in the run and
 * the rest carries on; what was written is correct on its own, and the next run completes the
 * job without duplicates because every write is an idempotent single-document operation.
 */
import { createHash } from 'node:crypto';
import type { Connection, Types } from 'mongoose';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { AdvantageClient, AdvantageItemError, AgsLineItem, AgsResult, NrpsMember } from '../lti/advantage';
import { toolRoleOf } from '../lti/roles';
import type { CourseDoc } from '../courses/course.model';
import {
  executeWrites,
  planLineItemWrites,
  planMemberWrites,
  planResultWrites,
  STORED_RESULT_PROJECTION,
  type IncomingMember,
  type IncomingScore,
  type StoredLineItem,
  type StoredMember,
  type StoredResult,
} from './grade-writes';
import { lineItemModel } from './line-item.model';
import { memberModel } from './member.model';
import { resultModel } from './result.model';
import { syncRunModel, type SyncCounts, type SyncRunError, type SyncStatus } from './sync-run.model';

export interface SyncProgress {
  items: { done: number; total: number };
  learners: { done: number; total: number };
}

export interface SyncOptions {
  conn: Connection;
  client: AdvantageClient;
  course: Pick<CourseDoc, '_id' | 'services'>;
  startedBy: { userId: string; name?: string };
  now: () => Date;
  onProgress?: (p: SyncProgress) => Promise<void> | void;
  signal?: AbortSignal;
  /** Line items fetched at the same time (default 4: polite to the LMS, and Canvas charges parallel calls). */
  concurrency?: number;
  logger?: Logger;
}

export interface SyncSummary {
  runId: string;
  status: SyncStatus;
  counts: SyncCounts;
  durationMs: number;
  errors: SyncRunError[];
  startedAt: Date;
  finishedAt: Date;
}

/** The run document keeps the first errors only; `counts.errors` has the full number. */
const MAX_STORED_ERRORS = 200;

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function toIncomingMember(m: NrpsMember): IncomingMember {
  return {
    userId: m.userId,
    name: m.name,
    givenName: m.givenName,
    familyName: m.familyName,
    email: m.email,
    lisPersonSourcedId: m.lisPersonSourcedId,
    roles: m.roles,
    isLearner: toolRoleOf(m.roles) === 'learner',
    status: m.status === 'deleted' ? 'left' : m.status,
  };
}

/** Collects counts and errors of one run and writes the run document. */
class RunRecorder {
  readonly counts: SyncCounts = { items: 0, results: 0, members: 0, changed: 0, unchanged: 0, errors: 0 };
  readonly errors: SyncRunError[] = [];
  fatal = false;
  runId!: Types.ObjectId;
  readonly startedAt: Date;

  constructor(
    private readonly opts: SyncOptions,
    private readonly scope: 'course' | 'learner',
    private readonly userId?: string,
  ) {
    this.startedAt = opts.now();
  }

  async start(): Promise<void> {
    const run = await syncRunModel(this.opts.conn).create({
      courseId: this.opts.course._id,
      source: 'ags',
      scope: this.scope,
      userId: this.userId,
      startedBy: this.opts.startedBy,
      startedAt: this.startedAt,
      status: 'running',
      counts: this.counts,
      durationMs: 0,
      errors: [],
    });
    this.runId = run._id;
  }

  error(kind: string, message: string, item?: unknown): void {
    this.counts.errors++;
    if (this.errors.length < MAX_STORED_ERRORS) this.errors.push(item === undefined ? { kind, message } : { kind, message, item });
  }

  itemErrors(errors: AdvantageItemError[]): void {
    for (const e of errors) this.error(e.kind, `${e.message} (${e.url})`, e.item);
  }

  /** Records a failed step; platform errors carry a message meant for the teacher. */
  failure(kind: string, err: unknown): void {
    if (err instanceof AppError) this.error(kind, err.message);
    else throw err;
  }

  async progress(p: SyncProgress): Promise<void> {
    await syncRunModel(this.opts.conn).updateOne({ _id: this.runId }, { $set: { progress: p } });
    await this.opts.onProgress?.(p);
  }

  async finish(): Promise<SyncSummary> {
    const finishedAt = this.opts.now();
    const status: SyncStatus = this.fatal ? 'failed' : this.counts.errors > 0 ? 'partial' : 'succeeded';
    const durationMs = finishedAt.getTime() - this.startedAt.getTime();
    await syncRunModel(this.opts.conn).updateOne(
      { _id: this.runId },
      { $set: { status, finishedAt, durationMs, counts: this.counts, errors: this.errors } },
    );
    return { runId: String(this.runId), status, counts: { ...this.counts }, durationMs, errors: this.errors, startedAt: this.startedAt, finishedAt };
  }
}

/** Scores from AGS results, with the line item's maximum where the platform left the result's out. */
function toIncomingScores(results: AgsResult[], item: { scoreMaximum: number }, run: RunRecorder, url: string): IncomingScore[] {
  const scores: IncomingScore[] = [];
  for (const r of results) {
    const scoreMaximum = r.resultMaximum ?? item.scoreMaximum;
    if (r.resultScore !== null && r.resultScore > scoreMaximum) {
      run.error('invalid_result', `resultScore ${r.resultScore} is above the maximum ${scoreMaximum} (${url})`, r);
      continue;
    }
    scores.push({ userId: r.userId, scoreGiven: r.resultScore, scoreMaximum, timestamp: r.timestamp, comment: r.comment });
  }
  return scores;
}

/** A current AGS line item with what the results step needs. */
type SyncItem = StoredLineItem & { resultsDigest?: string | null; resultsEpoch?: number };

/** A digest of a complete result listing, in a stable order. */
function digestOf(scores: IncomingScore[]): string {
  const lines = scores.map((s) => `${s.userId}\t${s.scoreGiven}\t${s.scoreMaximum}\t${s.comment ?? ''}\t${s.timestamp?.toISOString() ?? ''}`);
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

async function syncLineItems(opts: SyncOptions, run: RunRecorder): Promise<SyncItem[] | null> {
  const { conn, course, client } = opts;
  const url = course.services.lineItemsUrl;
  if (!url) {
    run.error('ags_unavailable', 'The platform has not sent the grade service (AGS) address for this course yet: open the tool once from the course as a teacher, and check that AGS is enabled for the tool.');
    return null;
  }
  let fetched: AgsLineItem[];
  let complete: boolean;
  try {
    const listing = await client.listLineItems(url, undefined, { signal: opts.signal });
    run.itemErrors(listing.itemErrors);
    fetched = listing;
    // A line item we could not read is not a line item that was removed.
    complete = listing.itemErrors.length === 0;
  } catch (err) {
    run.failure('line_items_failed', err);
    return null;
  }
  const Model = lineItemModel(conn);
  const stored = await Model.find({ courseId: course._id, source: 'ags' }, { externalId: 1, label: 1, scoreMaximum: 1, resourceLinkId: 1, resourceId: 1, tag: 1, startDateTime: 1, endDateTime: 1, removedAt: 1 }).lean<StoredLineItem[]>();
  const plan = planLineItemWrites({
    courseId: course._id,
    source: 'ags',
    incoming: fetched.map((li) => ({ ...li, externalId: li.id })),
    stored: new Map(stored.map((s) => [s.externalId, s])),
    now: opts.now(),
    complete,
  });
  if (plan.ops.length) await executeWrites(Model.collection, plan.ops);
  run.counts.items = fetched.length;
  run.counts.changed += plan.changed;
  run.counts.unchanged += plan.unchanged;
  const ids = await Model.find(
    { courseId: course._id, source: 'ags', removedAt: null },
    { externalId: 1, scoreMaximum: 1, label: 1, resultsDigest: 1, resultsEpoch: 1 },
  ).lean<SyncItem[]>();
  const byExternal = new Map(ids.map((d) => [d.externalId, d]));
  return fetched.map((li) => byExternal.get(li.id)).filter((d): d is SyncItem => d !== undefined);
}

async function syncRoster(opts: SyncOptions, run: RunRecorder, report: (done: number, total: number) => Promise<void>): Promise<void> {
  const { conn, course, client } = opts;
  const url = course.services.membershipsUrl;
  if (!url) {
    run.error('nrps_unavailable', 'The platform has not sent the roster service (NRPS) address for this course yet: open the tool once from the course as a teacher (Chamilo sends it only then), and check that NRPS is enabled for the tool.');
    return;
  }
  const Model = memberModel(conn);
  const stored = await Model.find({ courseId: course._id }, { userId: 1, name: 1, givenName: 1, familyName: 1, email: 1, lisPersonSourcedId: 1, roles: 1, isLearner: 1, status: 1, leftAt: 1 }).lean<StoredMember[]>();
  const storedMap = new Map(stored.map((s) => [s.userId, s]));
  const expected = stored.filter((s) => s.status !== 'left').length;
  const incoming: IncomingMember[] = [];
  let complete = true;
  try {
    const listing = await client.listMembers(url, {
      signal: opts.signal,
      onPage: async (members) => {
        for (const m of members) incoming.push(toIncomingMember(m));
        await report(incoming.length, Math.max(expected, incoming.length));
      },
    });
    run.itemErrors(listing.itemErrors);
    // A member we could not read is not a member who left.
    if (listing.itemErrors.length) complete = false;
  } catch (err) {
    run.failure('roster_failed', err);
    complete = false;
  }
  // Even a roster read halfway is worth storing: every write stands on its own.
  const plan = planMemberWrites({ courseId: course._id, incoming, stored: storedMap, now: opts.now(), complete });
  if (plan.ops.length) await executeWrites(Model.collection, plan.ops);
  run.counts.members = incoming.length;
  run.counts.changed += plan.changed;
  run.counts.unchanged += plan.unchanged;
  await report(incoming.length, incoming.length);
}

/**
 * Fetches and stores the results of one line item, for everyone or for one learner.
 *
 * A course sync keeps a digest of each complete listing on the line item: when the next listing
 * has the same digest, nothing changed and the stored results are not even read. Any other write
 * to the item's results (a learner's refresh) clears the digest and bumps an epoch, and a digest is
 * only saved if the epoch did not move meanwhile, so a skipped item is always equal to the LMS.
 */
async function syncItemResults(opts: SyncOptions, run: RunRecorder, item: SyncItem, userId?: string): Promise<void> {
  const { conn, course, client } = opts;
  const Model = resultModel(conn);
  let results: AgsResult[];
  let complete = true;
  try {
    const listing = await client.listResults(item.externalId, { userId, signal: opts.signal });
    run.itemErrors(listing.itemErrors);
    if (listing.itemErrors.length) complete = false;
    results = listing;
  } catch (err) {
    run.failure('results_failed', err);
    return;
  }
  const incoming = toIncomingScores(results, item, run, item.externalId);
  if (incoming.length !== results.length) complete = false;
  run.counts.results += incoming.length;
  const wholeItem = userId === undefined;
  const digest = wholeItem && complete ? digestOf(incoming) : undefined;
  if (digest !== undefined && item.resultsDigest === digest) {
    run.counts.unchanged += incoming.length;
    return;
  }

  const filter = wholeItem ? { courseId: course._id, lineItemId: item._id } : { courseId: course._id, lineItemId: item._id, userId };
  const stored = await Model.find(filter, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
  const storedMap = new Map(stored.map((s) => [s.userId, s]));
  const plan = planResultWrites({
    courseId: course._id,
    lineItemId: item._id,
    source: 'ags',
    incoming,
    stored: storedMap,
    now: opts.now(),
    missingClears: complete ? storedMap.keys() : undefined,
  });
  // The digest is bookkeeping, not data: raw updates, so updatedAt stays the data's.
  const items = lineItemModel(conn).collection;
  if (!wholeItem && plan.ops.length) {
    // Before writing: the item's digest no longer describes what is stored.
    await items.updateOne({ _id: item._id }, { $set: { resultsDigest: null }, $inc: { resultsEpoch: 1 } });
  }
  const outcome = plan.ops.length ? await executeWrites(Model.collection, plan.ops) : { written: 0, raced: 0 };
  run.counts.changed += plan.changed - outcome.raced;
  run.counts.unchanged += plan.unchanged + outcome.raced;
  if (digest !== undefined && outcome.raced === 0) {
    // `null` also matches an item never bumped (no epoch field yet).
    await items.updateOne({ _id: item._id, resultsEpoch: item.resultsEpoch ?? null }, { $set: { resultsDigest: digest } });
  }
}

function abortedInto(run: RunRecorder, signal?: AbortSignal): boolean {
  if (!signal?.aborted) return false;
  run.fatal = true;
  run.error('aborted', 'The sync was stopped before it finished; what was stored so far is correct, and the next sync completes it.');
  return true;
}

/**
 * Syncs a whole course: roster, line items, then every result of every line item (a few line
 * items at a time). Returns the run summary (also stored in `syncruns`). Platform failures are
 * recorded in the run, not thrown; database failures are recorded and rethrown.
 */
/**
 * An exception inside a run: an abort ends the run as aborted; anything else (a database error)
 * is recorded, the run closed as failed, and the error rethrown.
 */
async function recordFailure(run: RunRecorder, signal: AbortSignal | undefined, err: unknown): Promise<void> {
  if (signal?.aborted) {
    abortedInto(run, signal);
    return;
  }
  run.fatal = true;
  run.error('internal_error', err instanceof Error ? err.message : String(err));
  await run.finish();
  throw err;
}

export async function syncCourse(opts: SyncOptions): Promise<SyncSummary> {
  const run = new RunRecorder(opts, 'course');
  await run.start();
  const progress: SyncProgress = { items: { done: 0, total: 0 }, learners: { done: 0, total: 0 } };
  try {
    await syncRoster(opts, run, async (done, total) => {
      progress.learners = { done, total };
      await run.progress(progress);
    });
    const rosterFailed = run.errors.some((e) => e.kind === 'roster_failed' || e.kind === 'nrps_unavailable');
    if (!abortedInto(run, opts.signal)) {
      const items = await syncLineItems(opts, run);
      if (items === null) {
        // Neither the roster nor the grade columns: nothing was synced.
        if (rosterFailed) run.fatal = true;
      } else {
        progress.items = { done: 0, total: items.length };
        await run.progress(progress);
        await mapLimit(items, opts.concurrency ?? 4, async (item) => {
          if (opts.signal?.aborted) return;
          await syncItemResults(opts, run, item);
          progress.items.done++;
          await run.progress(progress);
        });
        abortedInto(run, opts.signal);
      }
    }
  } catch (err) {
    await recordFailure(run, opts.signal, err);
  }
  const summary = await run.finish();
  opts.logger?.info(`course ${String(opts.course._id)} synced: ${summary.status}`, summary.counts);
  return summary;
}

/**
 * Refreshes one learner's results (AGS `user_id` filter on each line item, a few in parallel),
 * for the learner page to decide on fresh data. The roster is left alone.
 */
export async function syncLearner(opts: SyncOptions & { userId: string }): Promise<SyncSummary> {
  const run = new RunRecorder(opts, 'learner', opts.userId);
  await run.start();
  try {
    const items = await syncLineItems(opts, run);
    if (items === null) run.fatal = true;
    else await mapLimit(items, opts.concurrency ?? 6, (item) => syncItemResults(opts, run, item, opts.userId));
    abortedInto(run, opts.signal);
  } catch (err) {
    await recordFailure(run, opts.signal, err);
  }
  return run.finish();
}

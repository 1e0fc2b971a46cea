/**
 * The teacher's "generate all certificates" (R4): each learner's own score decides. A dry run
 * shows first who will get one, who has one (or a stale one) and who does not qualify; the run
 * itself re-plans from fresh data, issues in batches with progress, stops cleanly on abort and is
 * idempotent, so an interrupted run is resumed by running it again.
 *
 * Learners who left the course or whose enrolment is inactive are not issued automatically (they
 * are listed as skipped); a learner the LMS sent no name for cannot get a printable certificate.
 */
import type { Connection, Types } from 'mongoose';
import type { Actor } from './audit.model';
import { repairIssueAudit } from './audit-repair';
import { recordAudit } from './audit.service';
import type { DefinitionDoc } from './definition.model';
import { getDefinition } from './definition.service';
import type { Reason } from './evaluate';
import { toObjectId, type Id } from './ids';
import type { Clock, RandomBytes } from '../runtime';
import { issueBatch, type BatchEntry } from './issue.service';
import { printedCourseTitle } from './issue-writes';
import { evaluateCourse, type OverviewRow, type OverviewStatus } from './overview.service';

export interface PlanEntry {
  userId: string;
  name: string | null;
  email: string | null;
  scorePercent: number;
  status: OverviewStatus;
  reasons: Reason[];
  /** The code of the learner's current certificate, if any. */
  code: string | null;
}

export type SkipReason = 'not_active' | 'name_unknown';

export interface GenerateAllPlan {
  definitionId: string;
  counts: { willIssue: number; alreadyIssued: number; stale: number; notEligible: number; skipped: number };
  /** Eligible, active on the roster, no valid certificate yet. */
  willIssue: PlanEntry[];
  /** Has a valid (or expired) certificate that matches the grades. */
  alreadyIssued: PlanEntry[];
  /** Has a valid certificate whose score differs from the grades now (re-issue is separate). */
  stale: PlanEntry[];
  notEligible: PlanEntry[];
  /** Eligible but not issued automatically. */
  skipped: Array<PlanEntry & { skipReason: SkipReason }>;
}

interface InternalPlan {
  plan: GenerateAllPlan;
  toIssue: BatchEntry[];
}

function entryOf(row: OverviewRow): PlanEntry {
  return {
    userId: row.userId,
    name: row.name,
    email: row.email,
    scorePercent: row.scorePercent,
    status: row.status,
    reasons: row.reasons,
    code: row.certificate?.code ?? null,
  };
}

async function planGenerateAll(conn: Connection, courseId: Types.ObjectId, definition: DefinitionDoc, now: Date): Promise<InternalPlan> {
  const { rows, certificates } = await evaluateCourse(conn, courseId, definition, now);
  const plan: GenerateAllPlan = {
    definitionId: String(definition._id),
    counts: { willIssue: 0, alreadyIssued: 0, stale: 0, notEligible: 0, skipped: 0 },
    willIssue: [],
    alreadyIssued: [],
    stale: [],
    notEligible: [],
    skipped: [],
  };
  const toIssue: BatchEntry[] = [];
  for (const row of rows) {
    const entry = entryOf(row);
    if (row.status === 'stale') plan.stale.push(entry);
    else if (row.status === 'active' || row.status === 'expired') plan.alreadyIssued.push(entry);
    else if (!row.eligible) plan.notEligible.push(entry);
    else if (row.memberStatus !== 'active') plan.skipped.push({ ...entry, skipReason: 'not_active' });
    else if (!row.name) plan.skipped.push({ ...entry, skipReason: 'name_unknown' });
    else {
      plan.willIssue.push(entry);
      toIssue.push({
        userId: row.userId,
        learnerName: row.name,
        learnerEmail: row.email ?? undefined,
        evaluation: row.evaluation,
        version: (certificates.get(row.userId)?.maxVersion ?? 0) + 1,
      });
    }
  }
  plan.counts = {
    willIssue: plan.willIssue.length,
    alreadyIssued: plan.alreadyIssued.length,
    stale: plan.stale.length,
    notEligible: plan.notEligible.length,
    skipped: plan.skipped.length,
  };
  return { plan, toIssue };
}

/** What "generate all" would do now, changing nothing (shown before the teacher confirms). */
export async function dryRunGenerateAll(conn: Connection, courseId: Id, definitionId: Id, now: Date): Promise<GenerateAllPlan> {
  const cid = toObjectId(courseId, 'course');
  const definition = await getDefinition(conn, cid, definitionId);
  return (await planGenerateAll(conn, cid, definition, now)).plan;
}

export interface GenerateAllOptions {
  courseId: Id;
  definitionId: Id;
  by: Actor;
  now: Clock;
  random: RandomBytes;
  /** Called after each batch with the learners handled so far and the total to issue. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Stops between batches; what was issued stays issued, and a new run continues. */
  signal?: AbortSignal;
  batchSize?: number;
}

export interface GenerateAllResult {
  total: number;
  issued: number;
  alreadyIssued: number;
  stale: number;
  notEligible: number;
  skipped: number;
  aborted: boolean;
}

/**
 * Issues a certificate to every eligible active learner who has none, and nobody else. Meant to
 * run inside a background job (progress + abort); safe to run twice or concurrently with claims.
 */
export async function generateAll(conn: Connection, opts: GenerateAllOptions): Promise<GenerateAllResult> {
  const cid = toObjectId(opts.courseId, 'course');
  const definition = await getDefinition(conn, cid, opts.definitionId);
  // a run killed between a batch's certificates and their audit entries is completed here
  await repairIssueAudit(conn, cid);
  const { plan, toIssue } = await planGenerateAll(conn, cid, definition, opts.now());
  const courseTitle = await printedCourseTitle(conn, cid);
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 500));
  const result: GenerateAllResult = {
    total: toIssue.length,
    issued: 0,
    alreadyIssued: plan.counts.alreadyIssued,
    stale: plan.counts.stale,
    notEligible: plan.counts.notEligible,
    skipped: plan.counts.skipped,
    aborted: false,
  };
  await opts.onProgress?.(0, toIssue.length);
  for (let start = 0; start < toIssue.length; start += batchSize) {
    if (opts.signal?.aborted) {
      result.aborted = true;
      break;
    }
    const batch = toIssue.slice(start, start + batchSize);
    const r = await issueBatch(conn, { courseId: cid, definition, entries: batch, issuedBy: opts.by, now: opts.now, random: opts.random, courseTitle });
    result.issued += r.issued.length;
    result.alreadyIssued += r.alreadyIssued.length;
    result.notEligible += r.notEligible;
    await opts.onProgress?.(Math.min(start + batch.length, toIssue.length), toIssue.length);
  }
  await recordAudit(conn, {
    courseId: cid,
    action: 'generate_all',
    actor: opts.by,
    at: opts.now(),
    definitionId: definition._id,
    details: { ...result, definitionVersion: definition.version },
  });
  return result;
}

/**
 * "Generate all certificates" as a background job (R4): the teacher confirms the dry run, the
 * job issues in batches with progress (learners done / total) and never blocks a web request.
 * `generateAll` re-plans from fresh grades on every run and issues only what is missing, so a
 * job interrupted by a restart, or started twice, simply completes the work.
 *
 * "Re-issue all stale certificates" (R5) runs the same way: each re-issue is its own atomic step
 * and a re-run picks up what is still stale.
 */
import type { Connection } from 'mongoose';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { jobModel, toJobView, type JobDoc, type JobQueue, type JobView } from '../jobs';
import type { Actor } from './audit.model';
import type { Clock, RandomBytes } from '../runtime';
import { generateAll, type GenerateAllResult } from './generate-all.service';
import { reissueStale } from './stale.service';
import { inEnglish } from '../i18n/english';

export const GENERATE_ALL_JOB = 'certificates.generate-all';
export const REISSUE_STALE_JOB = 'certificates.reissue-stale';

/** What the job stores as its payload: the definition, and the teacher as the audit's actor. */
export const GenerateAllPayloadSchema = z.object({
  definitionId: z.string().regex(/^[0-9a-f]{24}$/i),
  by: z.object({ kind: z.enum(['teacher', 'admin']), userId: z.string().optional(), name: z.string().optional() }),
});
export type GenerateAllPayload = z.infer<typeof GenerateAllPayloadSchema>;

/** The job's result (JobView.result): the service's counts and the definition they belong to. */
export type GenerateAllJobResult = GenerateAllResult & { definitionId: string };

/** The result of a re-issue job: how many were re-issued, left (no longer eligible) or skipped. */
export interface ReissueStaleJobResult {
  definitionId: string;
  reissued: number;
  notEligible: number;
  skipped: number;
}

export interface GenerateAllJobDeps {
  conn: Connection;
  now: Clock;
  /** Randomness for verification codes. */
  random: RandomBytes;
  /** Learners issued per database round trip (default: the service's). */
  batchSize?: number;
}

function payloadOf(payload: unknown): GenerateAllPayload {
  const parsed = GenerateAllPayloadSchema.safeParse(payload);
  if (!parsed.success) {
    const ref = { key: 'certificates.error.jobInvalid' };
    throw new ValidationError(inEnglish(ref), { field: 'definitionId' }, ref);
  }
  return parsed.data;
}

/** Registers both certificate jobs: generate all, and re-issue all stale certificates. */
export function registerGenerateAllJob(queue: JobQueue, deps: GenerateAllJobDeps): void {
  const { random } = deps;
  queue.register(REISSUE_STALE_JOB, async (ctx) => {
    const payload = payloadOf(ctx.payload);
    const r = await reissueStale(deps.conn, { courseId: ctx.courseId, definitionId: payload.definitionId, by: payload.by, now: deps.now, random, signal: ctx.signal });
    ctx.signal.throwIfAborted();
    const done = r.reissued.length + r.notEligible.length + r.skipped.length;
    await ctx.progress({ done, total: done });
    const out: ReissueStaleJobResult = { definitionId: payload.definitionId, reissued: r.reissued.length, notEligible: r.notEligible.length, skipped: r.skipped.length };
    return out;
  });
  queue.register(GENERATE_ALL_JOB, async (ctx) => {
    const parsed = { data: payloadOf(ctx.payload) };
    const by: Actor = parsed.data.by;
    const result = await generateAll(deps.conn, {
      courseId: ctx.courseId,
      definitionId: parsed.data.definitionId,
      by,
      now: deps.now,
      random,
      signal: ctx.signal,
      batchSize: deps.batchSize,
      onProgress: (done, total) => ctx.progress({ done, total }),
    });
    // Stopped between batches: let the queue record why (cancelled, or handed back at shutdown
    // so that the next start finishes it) instead of calling a partial run a success.
    if (result.aborted) ctx.signal.throwIfAborted();
    const out: GenerateAllJobResult = { ...result, definitionId: parsed.data.definitionId };
    return out;
  });
}

/** The payload of a generate-all or re-issue job for a definition, started by `by`. */
export function generateAllPayload(definitionId: string, by: Actor): GenerateAllPayload {
  return GenerateAllPayloadSchema.parse({ definitionId, by: { kind: by.kind === 'admin' ? 'admin' : 'teacher', userId: by.userId, name: by.name } });
}

/**
 * Starts a certificate job (generate all, re-issue stale) for a definition. One job of a kind
 * per course at a time: a click while another definition's run is going returns that run, and
 * this answers false (the teacher is told to wait).
 */
export async function startDefinitionJob(
  deps: { conn: Connection; jobs: JobQueue },
  opts: { kind: string; courseId: string; definitionId: string; by: Actor; createdBy: { userId: string; name?: string } },
): Promise<boolean> {
  const job = await deps.jobs.enqueue(opts.kind, { courseId: opts.courseId, createdBy: opts.createdBy, payload: generateAllPayload(opts.definitionId, opts.by), dedupe: true });
  const doc = await jobModel(deps.conn).findById(job.id, { payload: 1 }).lean<Pick<JobDoc, 'payload'>>();
  return (doc?.payload as { definitionId?: string } | undefined)?.definitionId === opts.definitionId;
}

/** The newest job of a kind for a definition (a reload shows its progress or its outcome). */
export async function latestDefinitionJob(conn: Connection, opts: { kind: string; courseId: string; definitionId: string }): Promise<JobView | null> {
  const doc = await jobModel(conn)
    .findOne({ courseId: opts.courseId, kind: opts.kind, 'payload.definitionId': opts.definitionId })
    .sort({ createdAt: -1, _id: -1 })
    .lean<JobDoc>();
  return doc ? toJobView(doc) : null;
}

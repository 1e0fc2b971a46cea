/**
 * "Generate all certificates" as a background job (R4): the teacher confirms the dry run, the
 * job issues in batches with progress (learners done / total) and never blocks a web request.
 * `generateAll` re-plans from fresh grades on every run and issues only what is missing, so a
 * job interrupted by a restart, or started twice, simply completes the work.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { z } from 'zod';
import { ValidationError } from '../errors';
import type { JobQueue } from '../jobs';
import type { Actor } from './audit.model';
import type { RandomBytes } from './codes';
import { generateAll, type GenerateAllResult } from './generate-all.service';

export const GENERATE_ALL_JOB = 'certificates.generate-all';

/** What the job stores as its payload: the definition, and the teacher as the audit's actor. */
export const GenerateAllPayloadSchema = z.object({
  definitionId: z.string().regex(/^[0-9a-f]{24}$/i),
  by: z.object({ kind: z.enum(['teacher', 'admin']), userId: z.string().optional(), name: z.string().optional() }),
});
export type GenerateAllPayload = z.infer<typeof GenerateAllPayloadSchema>;

/** The job's result (JobView.result): the service's counts and the definition they belong to. */
export type GenerateAllJobResult = GenerateAllResult & { definitionId: string };

export interface GenerateAllJobDeps {
  conn: Connection;
  now: () => Date;
  /** Randomness for verification codes (tests may fix it). Default: crypto.randomBytes. */
  random?: RandomBytes;
  /** Learners issued per database round trip (default: the service's). */
  batchSize?: number;
}

export function registerGenerateAllJob(queue: JobQueue, deps: GenerateAllJobDeps): void {
  const random = deps.random ?? ((n: number) => cryptoRandomBytes(n));
  queue.register(GENERATE_ALL_JOB, async (ctx) => {
    const parsed = GenerateAllPayloadSchema.safeParse(ctx.payload);
    if (!parsed.success) throw new ValidationError('This generate-all job has no valid certificate to work on.', { field: 'definitionId' });
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

/** The payload of a generate-all job for a definition, started by `by`. */
export function generateAllPayload(definitionId: string, by: Actor): GenerateAllPayload {
  return GenerateAllPayloadSchema.parse({ definitionId, by: { kind: by.kind === 'admin' ? 'admin' : 'teacher', userId: by.userId, name: by.name } });
}

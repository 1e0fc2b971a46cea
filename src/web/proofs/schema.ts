/** Request bodies of the proof pages (src/web/proofs.routes.ts). */
import { z } from 'zod';

/** The completion date the learner states: a calendar day (the form's date input), 1950 or later. */
export const ProofSubmitBody = z.object({
  completedAt: z
    .string('is required')
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
    .transform((s) => new Date(`${s}T00:00:00Z`))
    .refine((d) => !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1950, 'must be a real date'),
});

export const ProofRejectBody = z.object({
  reason: z.string('is required').trim().min(1, 'is required').max(1000, 'must be at most 1000 characters'),
});

export const ProofApproveBody = z.object({}).passthrough();

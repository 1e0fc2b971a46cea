/**
 * The certification form (administrators only), as one zod schema: a form post (urlencoded,
 * repeated fields arrive as arrays) in, a typed `CertificationInput` out. Each refusal names the
 * field (src/web/validate.ts).
 */
import { z } from 'zod';

export const CERTIFICATION_LIMITS = { name: 80, overview: 300, issuerName: 120, courses: 50, validForMonths: 120, renewalWindowDays: 365 } as const;

const list = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((s) => s.trim()).filter(Boolean));
const objectIds = list.pipe(z.array(z.string().regex(/^[0-9a-f]{24}$/i, 'must be ids of courses the tool knows')));
const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const CertificationForm = z
  .object({
    name: z.string('is required').trim().min(1, 'is required').max(CERTIFICATION_LIMITS.name, `must be at most ${CERTIFICATION_LIMITS.name} characters`),
    overview: z.string().trim().max(CERTIFICATION_LIMITS.overview, `must be at most ${CERTIFICATION_LIMITS.overview} characters`).default(''),
    issuerName: z
      .string('is required')
      .trim()
      .min(1, 'is required')
      .max(CERTIFICATION_LIMITS.issuerName, `must be at most ${CERTIFICATION_LIMITS.issuerName} characters`),
    kind: z.enum(['internal', 'external'], 'must be internal or external'),
    type: z.enum(['perpetual', 'recurring'], 'must be perpetual or recurring'),
    validForMonths: z.union([z.literal(''), intIn(1, CERTIFICATION_LIMITS.validForMonths)]).optional(),
    renewalWindowDays: z.union([z.literal(''), intIn(0, CERTIFICATION_LIMITS.renewalWindowDays)]).optional(),
    onCourseRevoked: z.enum(['revoke', 'keep'], 'must be revoke or keep').default('revoke'),
    courses: objectIds,
    mandatory: objectIds,
    definitionIds: list.pipe(z.array(z.string().regex(/^[0-9a-f]{24}$/i, 'must be certificate definition ids'))),
    minimumMandatory: z.union([z.literal(''), intIn(1, CERTIFICATION_LIMITS.courses)]).optional(),
    useLmsCompletion: z.enum(['on', 'true']).optional(),
    assignEveryone: z.enum(['on', 'true']).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.type === 'recurring' && (f.validForMonths === undefined || f.validForMonths === '')) {
      ctx.addIssue({ code: 'custom', path: ['validForMonths'], message: 'is required for a recurring certification' });
    }
    if (f.kind === 'internal') {
      if (f.courses.length === 0) ctx.addIssue({ code: 'custom', path: ['courses'], message: 'pick at least one course of the programme' });
      if (f.courses.length > CERTIFICATION_LIMITS.courses) ctx.addIssue({ code: 'custom', path: ['courses'], message: `at most ${CERTIFICATION_LIMITS.courses} courses` });
      const chosen = new Set(f.courses);
      if (f.mandatory.some((m) => !chosen.has(m))) ctx.addIssue({ code: 'custom', path: ['mandatory'], message: 'a mandatory course must be one of the programme' });
      if (f.mandatory.length === 0 && f.courses.length > 0) ctx.addIssue({ code: 'custom', path: ['mandatory'], message: 'mark at least one course as mandatory' });
      const min = f.minimumMandatory === '' ? undefined : f.minimumMandatory;
      if (min !== undefined && min > new Set(f.mandatory).size) {
        ctx.addIssue({ code: 'custom', path: ['minimumMandatory'], message: `cannot be more than the ${new Set(f.mandatory).size} mandatory courses` });
      }
    }
  });

export type CertificationFormInput = z.output<typeof CertificationForm>;

/** The admin page's form also names the registration. */
export const AdminCertificationForm = z.object({ issuer: z.string('is required').min(1, 'is required'), clientId: z.string('is required').min(1, 'is required') }).passthrough();

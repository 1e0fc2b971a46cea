/**
 * One zod schema per body and query of the gradebook import and history pages. A maximum is
 * read here ("12", "12.5" or "12,5"), so the services receive numbers.
 */
import { z } from 'zod';
import { pageParam } from '../teacher/query';

/** Preview ids are 16 random bytes in hex (csv-import.service); anything else is not looked up. */
export const PreviewIdSchema = z.string().regex(/^[0-9a-f]{32}$/);

/** A maximum typed by a teacher; empty = not answered yet. */
const maximum = z
  .string()
  .trim()
  .max(20)
  .transform((raw, ctx) => {
    if (raw === '') return undefined;
    const s = raw.replace(/\s/g, '');
    const n = /^\d+([.,]\d+)?$/.test(s) ? Number(s.replace(',', '.')) : NaN;
    if (!(Number.isFinite(n) && n > 0 && n <= 1_000_000)) {
      ctx.addIssue({ code: 'custom', message: 'must be a number greater than 0' });
      return z.NEVER;
    }
    return n;
  });

/** `max-<column index>` fields, and the Chamilo checkbox "0 in this file means a real zero". */
const answers = {
  maxima: z.record(z.string().regex(/^max-\d{1,3}$/), maximum),
  zeroIsReal: z.boolean(),
};

/** Splits a flat form body into `max-<i>` answers and the checkbox. */
function answersOf(body: unknown): unknown {
  const flat = (body ?? {}) as Record<string, unknown>;
  const maxima: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    if (k.startsWith('max-')) maxima[k] = v;
    else rest[k] = v;
  }
  return { ...rest, maxima, zeroIsReal: rest['zero-is-real'] === 'on' || rest['zero-is-real'] === '1' };
}

/** The multipart fields besides `file` on the upload form (maxima after a refused upload). */
export const UploadBodySchema = z.preprocess(answersOf, z.strictObject({ ...answers, 'zero-is-real': z.enum(['on', '1']).optional() }));
export type UploadBody = z.output<typeof UploadBodySchema>;

/** POST /teacher/grades/import/:previewId: the teacher's answers to what the file does not say. */
export const ReviseBodySchema = UploadBodySchema;
export type ReviseBody = UploadBody;

export const FormQuerySchema = z.strictObject({});
export const PreviewQuerySchema = z.strictObject({ page: pageParam() });
export const HistoryQuerySchema = z.strictObject({
  page: pageParam(),
  scope: z.enum(['course', 'all']).default('course'),
  imported: z.string().regex(/^[0-9a-f]{24}$/i).optional(),
});
export type HistoryQuery = z.output<typeof HistoryQuerySchema>;

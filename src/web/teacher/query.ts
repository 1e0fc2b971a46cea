/**
 * Query-string pieces shared by the teacher's schemas (src/web/teacher/schema.ts).
 */
import { z } from 'zod';
import type { Translator } from '../../i18n';
import { parseWith, QUERY_MESSAGES } from '../validate';

/**
 * Parses a query inside a handler. Prefer the `validateQuery(schema)` route step
 * (src/web/validate.ts); kept for the routes that still parse inline.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, _t?: Translator): z.output<S> {
  return parseWith(schema, query, QUERY_MESSAGES, 'query');
}

/** A page number from the query string (1, 2, …). */
export const pageParam = () => z.coerce.number('must be a number').int('must be a whole number').min(1).max(1_000_000).default(1);

/** A notice shown after an action redirected back (`?notice=reissued&n=3`). */
export const noticeParams = <const T extends readonly [string, ...string[]]>(codes: T) => ({
  notice: z.enum(codes).optional(),
  n: z.coerce.number().int().min(0).max(10_000_000).optional(),
});

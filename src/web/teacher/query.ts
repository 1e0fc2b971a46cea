/**
 * Query strings of the teacher's pages, validated with zod. A value we do not understand (or a
 * parameter we do not know) is a 400 that names the parameter, never a silently ignored filter:
 * a teacher who bookmarked a broken link should see why the list is not what they expect.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors';
import type { Translator } from '../../i18n';

/** One value per parameter: `?status=a&status=b` arrives as an array and is refused. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown, t: Translator): z.output<S> {
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const parameter = issue.code === 'unrecognized_keys' ? String(issue.keys[0]) : issue.path.map(String).join('.') || 'query';
  const message =
    issue.code === 'unrecognized_keys'
      ? t('teacher.query.unknownParameter', { parameter })
      : t('teacher.query.invalidValue', { parameter });
  throw new ValidationError(message, { field: parameter, parameter });
}

/** A page number from the query string (1, 2, …). */
export const pageParam = () => z.coerce.number('must be a number').int('must be a whole number').min(1).max(1_000_000).default(1);

/** A notice shown after an action redirected back (`?notice=reissued&n=3`). */
export const noticeParams = <const T extends readonly [string, ...string[]]>(codes: T) => ({
  notice: z.enum(codes).optional(),
  n: z.coerce.number().int().min(0).max(10_000_000).optional(),
});

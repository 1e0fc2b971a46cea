/**
 * The validation step of a route (Outline's `validate` middleware): one zod schema per request
 * body or query string (`src/web/<audience>/schema.ts`), checked before the handler runs. A
 * refusal is a 400 ValidationError that names the field (`details.field`) with a translated
 * message; the handler then reads the typed value with `bodyOf(res, Schema)` / `queryOf(res, Schema)`.
 *
 *   router.post('/claim', validateBody(ClaimBody), async (req, res) => {
 *     const { definitionId } = bodyOf(res, ClaimBody);
 *
 * A query parameter we do not know is refused too (strict schemas), never silently ignored: a
 * teacher who bookmarked a broken link should see why the list is not what they expect.
 */
import type { RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../errors';

/** The message keys shown for a refused value (`{parameter}` is the field's name). */
export interface ValidationMessages {
  /** A value of the wrong shape, or a missing one. */
  invalid: string;
  /** A field the schema does not know (strict schemas only). */
  unknown?: string;
  /** The field named when the whole value is wrong (not an object at all); default `body` / `query`. */
  field?: string;
}

/** Teacher pages' wording: it names the parameter of the address. */
export const QUERY_MESSAGES: ValidationMessages = { invalid: 'teacher.query.invalidValue', unknown: 'teacher.query.unknownParameter' };

const VALIDATED = Symbol('validated');
type Validated = { body?: unknown; query?: unknown };
type Locals = Record<symbol, Validated | undefined>;

/**
 * Parses `value` with `schema`, or throws a ValidationError naming the first wrong field.
 * One value per parameter: `?status=a&status=b` arrives as an array and is refused.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, messages: ValidationMessages, where: 'body' | 'query'): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const unknownKey = issue.code === 'unrecognized_keys';
  const field = unknownKey ? String(issue.keys[0]) : issue.path.map(String).join('.') || messages.field || where;
  const key = unknownKey && messages.unknown ? messages.unknown : messages.invalid;
  // a query's field is also named as the address parameter it is
  const details = where === 'query' ? { field, parameter: field } : { field };
  throw new ValidationError(`${unknownKey ? 'unknown' : 'invalid'} ${where} field "${field}": ${issue.message}`, details, { key, params: { parameter: field } });
}

function step(where: 'body' | 'query', schema: z.ZodType, messages: ValidationMessages): RequestHandler {
  return (req, res, next) => {
    const locals = res.locals as Locals;
    const validated = (locals[VALIDATED] ??= {});
    validated[where] = parseWith(schema, req[where], messages, where);
    next();
  };
}

/** Validates the request body with `schema` (400 naming the field otherwise). */
export function validateBody(schema: z.ZodType, messages: ValidationMessages): RequestHandler {
  return step('body', schema, messages);
}

/** Validates the query string with `schema` (400 naming the parameter otherwise). */
export function validateQuery(schema: z.ZodType, messages: ValidationMessages = QUERY_MESSAGES): RequestHandler {
  return step('query', schema, messages);
}

function validatedOf(res: Response, where: 'body' | 'query'): unknown {
  const validated = (res.locals as Locals)[VALIDATED];
  if (!validated || !(where in validated)) throw new Error(`the route has no validate${where === 'body' ? 'Body' : 'Query'}() step before its handler`);
  return validated[where];
}

/** The body as `validateBody(schema)` parsed it. */
export function bodyOf<S extends z.ZodType>(res: Response, _schema: S): z.output<S> {
  return validatedOf(res, 'body') as z.output<S>;
}

/** The query as `validateQuery(schema)` parsed it. */
export function queryOf<S extends z.ZodType>(res: Response, _schema: S): z.output<S> {
  return validatedOf(res, 'query') as z.output<S>;
}

/**
 * Parses an administrator's form with `schema`, or throws a ValidationError naming the first
 * wrong field: `field: what is wrong` in English (zod's words, for the log); the page says in the
 * reader's language which field is not filled in right (`common.invalidField`), or the route's own
 * text for it (`messageKey`, with the field as `{field}`).
 */
export function parseAdminForm<T>(schema: z.ZodType<T>, body: unknown, messageKey = 'common.invalidField'): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = i.path.join('.') || 'body';
    throw new ValidationError(`${field}: ${i.message}`, { field }, { key: messageKey, params: { field } });
  }
  return r.data;
}

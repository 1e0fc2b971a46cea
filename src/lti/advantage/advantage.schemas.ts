/**
 * What the tool accepts from AGS and NRPS responses. Each item of a container is validated on
 * its own, so one malformed result never hides the good ones, and never becomes a stored grade.
 */
import { z } from 'zod';

/** Platforms are loose with JSON types (PHP sends numbers as strings, ids as numbers). */
const numberish = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v), z.number());
const idString = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().trim().min(1));
const optionalText = z.preprocess((v) => (v === null || v === '' ? undefined : typeof v === 'number' ? String(v) : v), z.string().optional());

export const LineItemSchema = z.object({
  id: z.string().trim().min(1, 'missing id'),
  label: optionalText,
  scoreMaximum: numberish.refine((n) => Number.isFinite(n) && n > 0, 'scoreMaximum must be a number greater than 0'),
  resourceLinkId: optionalText,
  resourceId: optionalText,
  tag: optionalText,
  startDateTime: optionalText,
  endDateTime: optionalText,
});

/** One AGS line item, as validated. */
export interface AgsLineItem {
  /** The line item URL (the AGS id). */
  id: string;
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  startDateTime?: Date;
  endDateTime?: Date;
}

export const ResultSchema = z
  .object({
    id: optionalText,
    scoreOf: optionalText,
    userId: idString,
    resultScore: z.union([numberish, z.null()]).optional(),
    resultMaximum: z.union([numberish, z.null()]).optional(),
    comment: z.preprocess((v) => (v === null ? undefined : v), z.string().optional()),
    timestamp: optionalText,
  })
  .superRefine((r, ctx) => {
    if (r.resultMaximum != null && !(Number.isFinite(r.resultMaximum) && r.resultMaximum > 0)) {
      ctx.addIssue({ code: 'custom', path: ['resultMaximum'], message: 'resultMaximum must be a number greater than 0' });
    }
    if (r.resultScore != null && !Number.isFinite(r.resultScore)) {
      ctx.addIssue({ code: 'custom', path: ['resultScore'], message: 'resultScore must be a number' });
    } else if (r.resultScore != null && r.resultScore < 0) {
      ctx.addIssue({ code: 'custom', path: ['resultScore'], message: `resultScore ${r.resultScore} is below 0` });
    } else if (r.resultScore != null && r.resultMaximum != null && r.resultScore > r.resultMaximum) {
      ctx.addIssue({ code: 'custom', path: ['resultScore'], message: `resultScore ${r.resultScore} is above resultMaximum ${r.resultMaximum}` });
    }
  });

/** One AGS result, as validated. `resultMaximum` is absent when the platform left it out. */
export interface AgsResult {
  id?: string;
  userId: string;
  resultScore: number | null;
  resultMaximum?: number;
  comment?: string;
  timestamp?: Date;
}

export const MemberSchema = z.object({
  user_id: idString,
  roles: z.array(z.string()).default([]),
  status: optionalText,
  name: optionalText,
  given_name: optionalText,
  family_name: optionalText,
  email: optionalText,
  lis_person_sourcedid: optionalText,
});

/** One NRPS member, as validated, with camelCase names. */
export interface NrpsMember {
  userId: string;
  roles: string[];
  status: 'active' | 'inactive' | 'deleted';
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
  lisPersonSourcedId?: string;
}

/** A malformed item found in a response: reported, never stored. */
export interface AdvantageItemError {
  kind: 'invalid_line_item' | 'invalid_result' | 'invalid_member';
  /** Which field is wrong and why, for the sync history. */
  message: string;
  /** The offending item as received (truncated when large). */
  item: unknown;
  /** The page it came from. */
  url: string;
}

/** Parses an ISO date the platform sent; an unreadable date is dropped, not fatal. */
export function toDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function toLineItem(raw: z.infer<typeof LineItemSchema>): AgsLineItem {
  return {
    id: raw.id,
    label: raw.label ?? raw.resourceId ?? raw.tag ?? raw.id,
    scoreMaximum: raw.scoreMaximum,
    resourceLinkId: raw.resourceLinkId,
    resourceId: raw.resourceId,
    tag: raw.tag,
    startDateTime: toDate(raw.startDateTime),
    endDateTime: toDate(raw.endDateTime),
  };
}

export function toResult(raw: z.infer<typeof ResultSchema>): AgsResult {
  return {
    id: raw.id,
    userId: raw.userId,
    resultScore: raw.resultScore ?? null,
    resultMaximum: raw.resultMaximum ?? undefined,
    comment: raw.comment,
    timestamp: toDate(raw.timestamp),
  };
}

/** A text field as ResultSchema takes it when it needs no conversion; `false`: not that simple. */
function plainText(v: unknown): string | undefined | false {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : false;
}

/**
 * `toResult(ResultSchema.parse(entry))` for the result platforms send nearly always: fields
 * already of their JSON type (strings, numbers, null) and within ResultSchema's rules. Returns
 * undefined for anything else, which then goes through ResultSchema: it converts what it can
 * (PHP's numbers as strings) and names what is wrong. zod allocates several objects per field,
 * and a course sync checks 100,000 results; this keeps that off the CPU and the garbage collector
 * (bench/README.md, grade sync). test/grades/advantage-client.spec.ts holds the two to the same answers.
 */
export function readPlainResult(entry: unknown): AgsResult | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const r = entry as Record<string, unknown>;
  const userId = typeof r.userId === 'string' ? r.userId.trim() : '';
  if (!userId) return undefined;
  const score = r.resultScore;
  const max = r.resultMaximum;
  if (!(score === undefined || score === null || typeof score === 'number')) return undefined;
  if (!(max === undefined || max === null || typeof max === 'number')) return undefined;
  if (typeof max === 'number' && !(Number.isFinite(max) && max > 0)) return undefined;
  if (typeof score === 'number' && !(Number.isFinite(score) && score >= 0 && (typeof max !== 'number' || score <= max))) return undefined;
  const id = plainText(r.id);
  const timestamp = plainText(r.timestamp);
  const comment = r.comment;
  if (id === false || timestamp === false || plainText(r.scoreOf) === false) return undefined;
  if (!(comment === undefined || comment === null || typeof comment === 'string')) return undefined;
  return { id, userId, resultScore: score ?? null, resultMaximum: max ?? undefined, comment: comment ?? undefined, timestamp: toDate(timestamp) };
}

export function toMember(raw: z.infer<typeof MemberSchema>): NrpsMember {
  const s = raw.status?.toLowerCase();
  return {
    userId: raw.user_id,
    roles: raw.roles,
    // NRPS says Active when absent; Deleted only appears in "differences" answers.
    status: s === 'inactive' ? 'inactive' : s === 'deleted' ? 'deleted' : 'active',
    name: raw.name,
    givenName: raw.given_name,
    familyName: raw.family_name,
    email: raw.email,
    lisPersonSourcedId: raw.lis_person_sourcedid,
  };
}

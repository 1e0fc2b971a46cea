/**
 * The teacher's query strings and request bodies, one zod schema each, checked by the route's
 * validateQuery/validateBody step (src/web/validate.ts). Query schemas are strict: a parameter
 * the page does not know is a 400 naming it.
 */
import { z } from 'zod';
import type { ValidationMessages } from '../validate';
import { noticeParams, pageParam } from './query';

/** Any page without parameters of its own. */
export const EmptyQuery = z.strictObject({});

/** GET / (the course's page). */
export const HomeQuery = z.strictObject({ ...noticeParams(['synced', 'syncStarted', 'settingsSaved', 'archived'] as const) });

/** GET /audit: older entries before an entry id. */
export const AuditQuery = z.strictObject({ before: z.string().regex(/^[0-9a-f]{24}$/i).optional() });

/** An image id as the template routes hand it back ('' removes the image). */
const imageIdParam = () => z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)]).optional();

/** GET /definitions/:id/edit, back from an image upload with the image to save. */
export const EditQuery = z.strictObject({ 'template.logoFileId': imageIdParam(), 'template.signatureFileId': imageIdParam() });

/** Status names in the address and on the page ("valid" reads better than the model's "active"). */
export const STATUS_FILTERS = ['all', 'none', 'valid', 'stale', 'superseded', 'revoked', 'expired'] as const;

/** Notices the definition page shows after an action redirected back to it. */
export const OVERVIEW_NOTICES = [
  'created',
  'saved',
  'unchanged',
  'revoked',
  'revokedAll',
  'reissued',
  'reissueStarted',
  'reissueNotEligible',
  'generateStarted',
  'jobOther',
  'issuedOne',
  'issueNotEligible',
] as const;

/** GET /definitions/:id: the roster table's filters, sort and page. */
export const OverviewQuery = z.strictObject({
  status: z.enum(STATUS_FILTERS).default('all'),
  eligible: z.enum(['all', 'yes', 'no']).default('all'),
  q: z.string().trim().max(100).default(''),
  sort: z.enum(['name', 'score', 'issued']).default('name'),
  dir: z.enum(['asc', 'desc']).optional(),
  page: pageParam(),
  ...noticeParams(OVERVIEW_NOTICES),
});
export type OverviewQuery = z.output<typeof OverviewQuery>;

/** POST /settings. */
export const SettingsBody = z.object({ autoReissue: z.enum(['on', 'off']) });
/** "Issue" in one learner's row of the overview. */
export const IssueOneBody = z.object({ userId: z.string().min(1).max(255) });
export const ISSUE_ONE_MESSAGES: ValidationMessages = { invalid: 'teacher.overview.issueInvalid' };
export const SETTINGS_MESSAGES: ValidationMessages = { invalid: 'teacher.settings.invalid' };

/**
 * POST …/delete and …/delete-all: the reason, as text (the last one when a form sends several).
 * Whether it may be empty and how long it may be is the revoke service's rule, checked there once.
 */
export const RevokeBody = z.object({ reason: z.preprocess((v) => (Array.isArray(v) ? v[v.length - 1] : v) ?? '', z.string()) });
export const REVOKE_MESSAGES: ValidationMessages = { invalid: 'teacher.delete.reasonInvalid', field: 'reason' };

/** POST /teacher/exports: "Export all" as one PDF or a ZIP, of one definition or the course. */
export const ExportBody = z.object({
  format: z.enum(['pdf', 'zip'], 'must be pdf or zip').default('pdf'),
  definitionId: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().optional()),
  /** Only these learners (the teacher page's current filter; JSON only). */
  userIds: z.array(z.string().min(1).max(256)).max(10_000).optional(),
});
export const EXPORT_MESSAGES: ValidationMessages = { invalid: 'documents.export.invalid', field: 'format' };

/**
 * The teacher's certificate definition form: one zod schema, and a parser that adds the checks
 * needing the course (do the line items exist? may certificates be public?). Impossible settings
 * are refused with the field named (`details.fields[].field`, e.g. `items.items.2.weight`), so the
 * page can put the message next to the right input.
 *
 * Accepts JSON and what an HTML form posts: numbers and booleans may arrive as strings.
 */
import { z } from 'zod';
import { ValidationError, type MessageRef } from '../errors';
import { createTranslator } from '../i18n/translator';
import { TEXT_LIMITS } from '../render/certificate-document';

/** Numbers typed into a form arrive as strings (decimal comma allowed); an empty field means "not given". */
function toNumber(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  return t === '' ? undefined : Number(t.replace(',', '.'));
}

const number = () => z.number({ error: (i) => (i.input === undefined ? 'is required' : 'must be a number') }).finite('must be a number');

/** A required number from JSON or a form field, checked by `refine` (bounds). */
const formNumber = (refine: (n: z.ZodNumber) => z.ZodNumber = (n) => n) => z.preprocess(toNumber, refine(number()));

/** An optional number: absent, null or an empty field all give null. */
const optionalFormNumber = (refine: (n: z.ZodNumber) => z.ZodNumber) =>
  z.preprocess(toNumber, refine(number()).nullable().optional()).transform((v) => v ?? null);

const formBoolean = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['true', 'on', '1', 'yes'].includes(s)) return true;
    if (['false', 'off', '0', 'no', ''].includes(s)) return false;
    return v;
  }, z.boolean('must be true or false'));

const optionalText = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string('must be text').trim().max(max, `must be at most ${max} characters`).optional(),
  );

const requiredText = (max: number) =>
  z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).trim().min(1, 'is required').max(max, `must be at most ${max} characters`);

const fileId = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.string('must be a file id').regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a file id').optional(),
  );

export const TemplateSettingsSchema = z.object({
  design: z.enum(['classic', 'modern'], 'must be classic or modern').default('classic'),
  paper: z.enum(['A4', 'Letter'], 'must be A4 or Letter').default('A4'),
  orientation: z.enum(['landscape', 'portrait'], 'must be landscape or portrait').default('landscape'),
  /** 'auto' = the learner's language from the launch. */
  language: z.enum(['en', 'nl', 'fr', 'de', 'es', 'auto'], 'must be en, nl, fr, de, es or auto').default('auto'),
  accentColor: z
    .string('must be a colour like #1a5fb4')
    .trim()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1a5fb4')
    .transform((c) => c.toLowerCase())
    .default('#1a5fb4'),
  bodyText: optionalText(TEXT_LIMITS.bodyText),
  logoFileId: fileId(),
  signatureFileId: fileId(),
  signatoryName: optionalText(TEXT_LIMITS.signatoryName),
  showScore: formBoolean().default(true),
});

export const SelectedItemSchema = z.object({
  lineItemId: z.string('must be a line item id').trim().min(1, 'is required'),
  weight: formNumber((n) => n.min(0, 'must not be negative').max(1_000_000, 'is too large')),
  minimumPercent: optionalFormNumber((n) => n.min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100')),
  mandatory: formBoolean().default(false),
});

const ItemSelectionSchema = z.discriminatedUnion(
  'mode',
  [
    // `known` is filled in by the definition service (the activities there are), never by the form.
    z.object({ mode: z.literal('all'), known: z.array(z.string().max(200)).max(5000).optional() }),
    // The LMS's category columns with the LMS's weights (Canvas assignment groups).
    z.object({ mode: z.literal('groups'), source: z.enum(['canvas', 'moodle', 'chamilo', 'csv', 'ags'], 'must be a grade source').optional() }),
    z.object({
      mode: z.literal('selected'),
      items: z.array(SelectedItemSchema, 'must be a list').min(1, 'must name at least one line item').max(1000, 'has too many items'),
    }),
  ],
  'must be "all", "selected" or "groups"',
);

const ValiditySchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('perpetual') }),
    z.object({
      kind: z.literal('recurring'),
      validForMonths: formNumber((n) => n.int('must be a whole number of months').min(1, 'must be at least 1').max(600, 'must be at most 600')),
    }),
  ],
  'must be "perpetual" or "recurring"',
);

export const DefinitionInputSchema = z
  .object({
    title: requiredText(TEXT_LIMITS.title),
    issuerName: requiredText(TEXT_LIMITS.issuerName),
    items: ItemSelectionSchema.prefault({ mode: 'all' }),
    thresholdPercent: formNumber((n) => n.min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100')).default(80),
    /** On by default for new definitions: the guard against temporary scores (R5). */
    requireAllGraded: formBoolean().default(true),
    /** "At least N of the mandatory items"; null = all of them. */
    mandatoryMinimum: optionalFormNumber((n) => n.int('must be a whole number').min(0, 'must not be negative')),
    validity: ValiditySchema.prefault({ kind: 'perpetual' }),
    public: formBoolean().default(false),
    /** E-mail the learner when their certificate is issued (src/mail). */
    mailOnIssue: formBoolean().default(false),
    template: TemplateSettingsSchema.prefault({}),
  })
  .superRefine((d, ctx) => {
    if (d.items.mode === 'selected') {
      const seen = new Set<string>();
      d.items.items.forEach((item, i) => {
        if (seen.has(item.lineItemId)) {
          ctx.addIssue({ code: 'custom', message: 'is selected twice', path: ['items', 'items', i, 'lineItemId'], params: { reason: 'duplicate' } });
        }
        seen.add(item.lineItemId);
      });
      if (d.items.items.every((item) => item.weight === 0)) {
        ctx.addIssue({ code: 'custom', message: 'must not all be zero', path: ['items', 'items', 'weight'], params: { reason: 'all_weights_zero' } });
      }
    }
    const mandatoryCount = d.items.mode === 'selected' ? d.items.items.filter((i) => i.mandatory).length : 0;
    if (d.mandatoryMinimum !== null && d.mandatoryMinimum > mandatoryCount) {
      ctx.addIssue({
        code: 'custom',
        message: `must not be more than the number of mandatory items (${mandatoryCount})`,
        path: ['mandatoryMinimum'],
        params: { reason: 'more_than_mandatory' },
      });
    }
  });

export type DefinitionInput = z.input<typeof DefinitionInputSchema>;
export type DefinitionSettings = z.output<typeof DefinitionInputSchema>;
export type TemplateSettings = z.output<typeof TemplateSettingsSchema>;

export interface FieldError {
  field: string;
  message: string;
}

/** What the parser needs to know about the course. */
export interface DefinitionContext {
  /** Ids of the course's current line items (a selection may name only these). */
  lineItemIds: ReadonlySet<string>;
  /** The administrator's `publicCertificates` switch. */
  publicAllowed: boolean;
}

const en = createTranslator('en');

/**
 * What a teacher reads about a refused setting outside the form (the preview, an error page): the
 * form's own text for that field (teacher.form.error.*, as definition-form.view.ts puts it beside
 * the field), else the setting's name in a general sentence.
 */
export function settingErrorRef(field: string): MessageRef {
  const item = /^items\.items\.\d+\.(weight|minimumPercent|lineItemId)$/.exec(field);
  const key = item
    ? `teacher.form.error.item.${item[1]}`
    : field === 'items.items.weight'
      ? 'teacher.form.error.itemsAllZero'
      : field === 'validity'
        ? 'teacher.form.error.validity.kind'
        : field.startsWith('items')
          ? 'teacher.form.error.items'
          : `teacher.form.error.${field}`;
  // mandatoryMinimum's text names the count of mandatory items, which only the form knows
  if (field !== 'mandatoryMinimum' && en.has(key)) return { key };
  return { key: 'documents.preview.invalidSetting', params: { field } };
}

/**
 * Validates a teacher's definition form and fills in the defaults. Throws ValidationError with
 * `details.fields` listing every bad field (and `details.field`, the first one).
 */
export function parseDefinitionInput(input: unknown, context: DefinitionContext): DefinitionSettings {
  const parsed = DefinitionInputSchema.safeParse(input ?? {});
  const fields: FieldError[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) fields.push({ field: issue.path.map(String).join('.') || 'definition', message: issue.message });
  } else {
    const d = parsed.data;
    if (d.items.mode === 'selected') {
      d.items.items.forEach((item, i) => {
        if (!context.lineItemIds.has(item.lineItemId)) fields.push({ field: `items.items.${i}.lineItemId`, message: 'is not a line item of this course' });
      });
    }
    if (d.public && !context.publicAllowed) fields.push({ field: 'public', message: 'public certificates are switched off by the administrator' });
  }
  if (fields.length > 0) {
    const first = fields[0]!;
    // The form puts each field's own text beside it (src/web/teacher/definition-form.view.ts); the
    // error names the first field for any other reader, the English keeps zod's reason for the log.
    throw new ValidationError(`Certificate setting ${first.field} ${first.message}`, { field: first.field, fields }, settingErrorRef(first.field));
  }
  return (parsed as { data: DefinitionSettings }).data;
}

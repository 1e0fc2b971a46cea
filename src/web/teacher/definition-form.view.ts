/**
 * The certificate definition form: what the page shows (defaults for a new definition, the
 * stored settings when editing, or exactly what the teacher typed after a refusal), how the
 * posted fields become the service's input, and how the service's field errors
 * (`items.items.2.weight`) land next to the right input.
 *
 * Our forms are parsed flat (`express.urlencoded({ extended: false })`), so the names are plain
 * strings: `thresholdPercent`, `validity.validForMonths`, `template.accentColor`, and per line
 * item `item.<lineItemId>.weight`. A checkbox that is not ticked sends nothing, so a boolean is
 * "ticked" exactly when present: the form always posts every field.
 */
import type { DefinitionDoc } from '../../certificates/definition.service';
import type { DefinitionInput, FieldError } from '../../certificates/definition.schema';
import type { MessageRef } from '../../errors';
import { columnLabel } from '../../grades/label-ref';
import type { Translator } from '../../i18n';
import type { TeacherPage } from '../teacher-page';

export interface FormLineItem {
  id: string;
  label: string;
  scoreMaximum: number;
  /** Where the column comes from (`ags`, `moodle`, `chamilo`, `csv`) and how that is named. */
  source?: string;
  sourceLabel?: string;
  /** Set when the tool wrote the label (Canvas's scores, Moodle's completion…): shown in the teacher's language. */
  labelRef?: MessageRef;
  /** An LMS total (course score, category / assignment group): never ticked by default, never "new". */
  total?: boolean;
  kind?: string;
}

export interface FormItem extends FormLineItem {
  used: boolean;
  /** "All activities": the column arrived after the definition was made or last confirmed, and does not count yet. */
  newSince?: boolean;
  weight: string;
  minimumPercent: string;
  mandatory: boolean;
  errors: { weight?: string; minimumPercent?: string; lineItemId?: string };
}

export interface DefinitionForm {
  title: string;
  issuerName: string;
  itemsMode: 'all' | 'selected' | 'groups';
  items: FormItem[];
  /** The course has LMS category columns (Canvas assignment groups): "as weighted in the LMS" is offered. */
  hasGroups?: boolean;
  /** "All activities" columns not counted yet (new since), listed for the teacher to accept. */
  newItems: FormItem[];
  /** The teacher ticked "count the new columns too". */
  acceptNewColumns: boolean;
  thresholdPercent: string;
  requireAllGraded: boolean;
  mandatoryMinimum: string;
  validityKind: 'perpetual' | 'recurring';
  validForMonths: string;
  public: boolean;
  mailOnIssue: boolean;
  template: {
    design: string;
    paper: string;
    orientation: string;
    language: string;
    accentColor: string;
    bodyText: string;
    showScore: boolean;
    signatoryName: string;
    logoFileId: string;
    signatureFileId: string;
  };
  /** The version the form was loaded with (edits only): a concurrent change is refused. */
  expectedVersion: string;
  /** errorKey(field name) → translated message, for the fields outside the item table. */
  errors: Record<string, string>;
}

/** An error as the summary at the top of the form lists it (links to the field). */
export interface FormErrorSummary {
  fieldId: string;
  label: string;
  message: string;
}

/** The HTML id of a form field name (`template.accentColor` → `f-template-accentColor`). */
export function fieldId(name: string): string {
  return `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The key of a field in `DefinitionForm.errors` (templates cannot look up dotted keys). */
export function errorKey(name: string): string {
  return name.replace(/\./g, '_');
}

const DEFAULT_WEIGHT = '1';

/** A new definition: every activity counts equally, 80%, the guard against temporary scores on. */
export function newDefinitionForm(lineItems: FormLineItem[], defaults: { issuerName: string; title: string }): DefinitionForm {
  return {
    title: defaults.title,
    issuerName: defaults.issuerName,
    itemsMode: 'all',
    items: lineItems.map((li) => ({ ...li, used: !li.total, weight: DEFAULT_WEIGHT, minimumPercent: '', mandatory: false, errors: {} })),
    hasGroups: lineItems.some((li) => li.kind === 'category'),
    newItems: [],
    acceptNewColumns: false,
    thresholdPercent: '80',
    requireAllGraded: true,
    mandatoryMinimum: '',
    validityKind: 'perpetual',
    validForMonths: '12',
    public: false,
    mailOnIssue: false,
    template: {
      design: 'classic',
      paper: 'A4',
      orientation: 'landscape',
      language: 'auto',
      accentColor: '#1a5fb4',
      bodyText: '',
      showScore: true,
      signatoryName: '',
      logoFileId: '',
      signatureFileId: '',
    },
    expectedVersion: '',
    errors: {},
  };
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/** The stored definition, as the edit form shows it. */
export function definitionToForm(d: DefinitionDoc, lineItems: FormLineItem[]): DefinitionForm {
  const selected = d.items.mode === 'selected' ? new Map(d.items.items.map((i) => [i.lineItemId, i])) : null;
  const known = d.items.mode === 'all' && d.items.known ? new Set(d.items.known) : null;
  const items: FormItem[] = lineItems.map((li) => {
    const s = selected?.get(li.id);
    const newSince = known !== null && !known.has(li.id) && !li.total;
    return {
      ...li,
      used: selected ? Boolean(s) : !newSince && !li.total,
      ...(newSince ? { newSince } : {}),
      weight: s ? str(s.weight) : DEFAULT_WEIGHT,
      minimumPercent: str(s?.minimumPercent),
      mandatory: s?.mandatory === true,
      errors: {},
    };
  });
  return {
    title: d.title,
    issuerName: d.issuerName,
    itemsMode: d.items.mode,
    hasGroups: lineItems.some((li) => li.kind === 'category'),
    newItems: items.filter((i) => i.newSince),
    acceptNewColumns: false,
    items,
    thresholdPercent: str(d.thresholdPercent),
    requireAllGraded: d.requireAllGraded,
    mandatoryMinimum: str(d.mandatoryMinimum),
    validityKind: d.validity.kind,
    validForMonths: d.validity.kind === 'recurring' ? str(d.validity.validForMonths) : '12',
    public: d.public,
    mailOnIssue: d.mailOnIssue === true,
    template: {
      design: d.template.design,
      paper: d.template.paper,
      orientation: d.template.orientation,
      language: d.template.language,
      accentColor: d.template.accentColor,
      bodyText: str(d.template.bodyText),
      showScore: d.template.showScore,
      signatoryName: str(d.template.signatoryName),
      logoFileId: str(d.template.logoFileId),
      signatureFileId: str(d.template.signatureFileId),
    },
    expectedVersion: String(d.version),
    errors: {},
  };
}

type Body = Record<string, unknown>;

/** One value of a posted field (a repeated name keeps the last value), trimmed to a sane length. */
function field(body: Body, name: string, max = 2000): string {
  let v = body[name];
  if (Array.isArray(v)) v = v[v.length - 1];
  return typeof v === 'string' ? v.slice(0, max) : '';
}

const ticked = (body: Body, name: string) => field(body, name) !== '';

/** What the teacher posted, as the form shows it again (nothing they typed is lost). */
export function bodyToForm(body: Body, lineItems: FormLineItem[]): DefinitionForm {
  return {
    title: field(body, 'title'),
    issuerName: field(body, 'issuerName'),
    itemsMode: field(body, 'itemsMode') === 'selected' ? 'selected' : field(body, 'itemsMode') === 'groups' ? 'groups' : 'all',
    hasGroups: lineItems.some((li) => li.kind === 'category'),
    newItems: [],
    acceptNewColumns: ticked(body, 'acceptNewColumns'),
    items: lineItems.map((li) => ({
      ...li,
      used: ticked(body, `item.${li.id}.used`),
      weight: field(body, `item.${li.id}.weight`, 40),
      minimumPercent: field(body, `item.${li.id}.minimumPercent`, 40),
      mandatory: ticked(body, `item.${li.id}.mandatory`),
      errors: {},
    })),
    thresholdPercent: field(body, 'thresholdPercent', 40),
    requireAllGraded: ticked(body, 'requireAllGraded'),
    mandatoryMinimum: field(body, 'mandatoryMinimum', 40),
    validityKind: field(body, 'validity.kind') === 'recurring' ? 'recurring' : 'perpetual',
    validForMonths: field(body, 'validity.validForMonths', 40),
    public: ticked(body, 'public'),
    mailOnIssue: ticked(body, 'mailOnIssue'),
    template: {
      design: field(body, 'template.design', 40),
      paper: field(body, 'template.paper', 40),
      orientation: field(body, 'template.orientation', 40),
      language: field(body, 'template.language', 40),
      accentColor: field(body, 'template.accentColor', 40),
      bodyText: field(body, 'template.bodyText'),
      showScore: ticked(body, 'template.showScore'),
      signatoryName: field(body, 'template.signatoryName'),
      logoFileId: field(body, 'template.logoFileId', 100),
      signatureFileId: field(body, 'template.signatureFileId', 100),
    },
    expectedVersion: field(body, 'expectedVersion', 20),
    errors: {},
  };
}

/**
 * The service's input from the form. Values stay strings: the schema parses numbers (decimal
 * comma included) and says which one is wrong. Returns the selected items in posting order, so
 * that an error at `items.items.<i>` can be put back next to line item `<i>`.
 */
export function formToInput(form: DefinitionForm): { input: DefinitionInput; selectedIds: string[] } {
  const used = form.items.filter((i) => i.used);
  const input = {
    title: form.title,
    issuerName: form.issuerName,
    items:
      form.itemsMode === 'all'
        ? { mode: 'all' }
        : form.itemsMode === 'groups'
          ? { mode: 'groups' }
          : { mode: 'selected', items: used.map((i) => ({ lineItemId: i.id, weight: i.weight, minimumPercent: i.minimumPercent, mandatory: i.mandatory })) },
    thresholdPercent: form.thresholdPercent,
    requireAllGraded: form.requireAllGraded,
    mandatoryMinimum: form.mandatoryMinimum,
    validity: form.validityKind === 'recurring' ? { kind: 'recurring', validForMonths: form.validForMonths } : { kind: 'perpetual' },
    public: form.public,
    mailOnIssue: form.mailOnIssue,
    // An empty select or colour means "not chosen": the schema's default applies.
    template: Object.fromEntries(Object.entries(form.template).filter(([, v]) => v !== '')),
  };
  // The schema accepts form strings for numbers and booleans; its input type says number.
  return { input: input as unknown as DefinitionInput, selectedIds: form.itemsMode !== 'selected' ? [] : used.map((i) => i.id) };
}

/** Fields whose label key differs from `teacher.form.<name>.label`. */
const ITEM_FIELDS = new Set(['weight', 'minimumPercent', 'lineItemId', 'mandatory']);

/**
 * Puts the service's field errors on the form (translated, one per field) and returns the summary
 * for the top of the page. Unknown paths fall back to a general message naming the field.
 */
export function applyFieldErrors(form: DefinitionForm, fields: FieldError[], selectedIds: string[], t: Translator): FormErrorSummary[] {
  const summary: FormErrorSummary[] = [];
  const mandatoryCount = form.items.filter((i) => i.used && i.mandatory).length;
  for (const { field: path } of fields) {
    const parts = path.split('.');
    // items.items.<index>.<prop>: one line item's weight, minimum or id
    if (parts[0] === 'items' && parts[1] === 'items' && parts.length === 4 && /^\d+$/.test(parts[2]!) && ITEM_FIELDS.has(parts[3]!)) {
      const item = form.items.find((i) => i.id === selectedIds[Number(parts[2])]);
      const prop = parts[3] as keyof FormItem['errors'] | 'mandatory';
      if (item && prop !== 'mandatory') {
        const text = t(`teacher.form.error.item.${prop}`);
        if (!item.errors[prop]) {
          item.errors[prop] = text;
          summary.push({ fieldId: fieldId(`item.${item.id}.${prop === 'lineItemId' ? 'used' : prop}`), label: `${columnLabel(item, t)}: ${t(`teacher.form.item.${prop}`)}`, message: text });
        }
        continue;
      }
    }
    let name: string;
    let key: string;
    if (path === 'items.items.weight') {
      name = 'items';
      key = 'teacher.form.error.itemsAllZero';
    } else if (path === 'validity') {
      name = 'validity.kind';
      key = 'teacher.form.error.validity.kind';
    } else if (parts[0] === 'items') {
      name = 'items';
      key = 'teacher.form.error.items';
    } else {
      name = path;
      key = `teacher.form.error.${path}`;
    }
    const text = t.has(key) ? t(key, { count: mandatoryCount }) : t('teacher.form.error.generic', { field: path });
    if (form.errors[errorKey(name)]) continue;
    form.errors[errorKey(name)] = text;
    const labelKey = `teacher.form.${name}.label`;
    summary.push({ fieldId: fieldId(name), label: t.has(labelKey) ? t(labelKey) : name, message: text });
  }
  return summary;
}

/** The choices of the template's selects, in the order the form lists them. */
const TEMPLATE_MODES = {
  design: ['classic', 'modern'],
  paper: ['A4', 'Letter'],
  orientation: ['landscape', 'portrait'],
  language: ['auto', 'en', 'nl', 'fr', 'de', 'es'],
} as const;

/** The data of the `teacher-definition-form` template: a new definition, or one being changed. */
export function definitionFormView(
  p: TeacherPage,
  opts: { form: DefinitionForm; definitionId?: string; summary?: FormErrorSummary[]; conflict?: boolean; publicAllowed: boolean },
) {
  const options = Object.fromEntries(
    Object.entries(TEMPLATE_MODES).map(([name, values]) => [
      name,
      values.map((v) => ({ value: v, text: p.t(`teacher.form.template.${name}.option.${v}`), selected: (opts.form.template as Record<string, unknown>)[name] === v })),
    ]),
  );
  return {
    title: opts.definitionId ? p.t('teacher.form.editTitle', { title: opts.form.title }) : p.t('teacher.form.newTitle'),
    // a column the tool labelled reads in the teacher's language; the stored label stays as it is
    form: { ...opts.form, items: opts.form.items.map((i) => ({ ...i, label: columnLabel(i, p.t) })), newItems: opts.form.newItems.map((i) => ({ ...i, label: columnLabel(i, p.t) })) },
    options,
    definitionId: opts.definitionId ?? null,
    action: opts.definitionId ? `${p.base}/definitions/${opts.definitionId}` : `${p.base}/definitions`,
    cancelHref: opts.definitionId ? `${p.base}/definitions/${opts.definitionId}` : p.base,
    publicAllowed: opts.publicAllowed,
    summary: opts.summary ?? [],
    conflict: opts.conflict === true,
    ids: { items: fieldId('items') },
  };
}

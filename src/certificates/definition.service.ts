/**
 * Creating, changing and archiving a course's certificate definitions. Every change is
 * validated (definition.schema.ts), bumps `version` and is written to the audit trail with what
 * changed, so "which rules was this certificate issued under?" always has an answer.
 */
import type { Connection, Types } from 'mongoose';
import { ConflictError } from '../errors';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { currentActivityIds, currentLineItemIds } from './course-grades';
import { definitionModel, type DefinitionDoc } from './definition.model';
import { parseDefinitionInput, type DefinitionSettings } from './definition.schema';
import { notFoundError, toObjectId, type Id } from './ids';
import { inEnglish } from '../i18n/english';
export type { DefinitionDoc } from './definition.model';

/** The fields a teacher sets, in the order the audit trail compares them. */
const SETTING_FIELDS = [
  'title',
  'issuerName',
  'items',
  'thresholdPercent',
  'requireAllGraded',
  'mandatoryMinimum',
  'validity',
  'public',
  'mailOnIssue',
  'template',
] as const satisfies ReadonlyArray<keyof DefinitionSettings>;

function settingsOf(d: DefinitionSettings | DefinitionDoc): DefinitionSettings {
  const out: Record<string, unknown> = {};
  for (const f of SETTING_FIELDS) out[f] = d[f];
  return out as DefinitionSettings;
}

/** A stable JSON form (sorted keys, no undefined) to compare settings. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
}

/** The course's definitions, oldest first; archived ones only when asked. */
export async function listDefinitions(conn: Connection, courseId: Id, opts: { includeArchived?: boolean } = {}): Promise<DefinitionDoc[]> {
  const filter: Record<string, unknown> = { courseId: toObjectId(courseId, 'course') };
  if (!opts.includeArchived) filter.archivedAt = null;
  return definitionModel(conn).find(filter).sort({ createdAt: 1, _id: 1 }).lean<DefinitionDoc[]>();
}

/**
 * Whether a definition's certificates are public (R2), by id and without a course: the
 * verification page asks before it knows anything else. null for an unknown id.
 */
export async function definitionVisibility(conn: Connection, definitionId: Types.ObjectId): Promise<Pick<DefinitionDoc, 'public'> | null> {
  return definitionModel(conn).findById(definitionId, { public: 1 }).lean<Pick<DefinitionDoc, 'public'>>();
}

/**
 * One definition of this course. A definition of another course, a malformed id or (unless
 * `includeArchived`) an archived definition is a NotFoundError.
 */
export async function getDefinition(conn: Connection, courseId: Id, definitionId: Id, opts: { includeArchived?: boolean } = {}): Promise<DefinitionDoc> {
  const d = await definitionModel(conn)
    .findOne({ _id: toObjectId(definitionId, 'certificate definition'), courseId: toObjectId(courseId, 'course') })
    .lean<DefinitionDoc>();
  if (!d || (d.archivedAt && !opts.includeArchived)) throw notFoundError('certificate definition');
  return d;
}

export interface DefinitionWriteOptions {
  courseId: Id;
  /** The teacher's form (JSON or form fields); validated here. */
  input: unknown;
  by: Actor;
  now: Date;
  /** The administrator's `publicCertificates` switch (Config.publicCertificates). */
  publicAllowed: boolean;
  /** "All activities": also count the activities that arrived since the definition was made or last confirmed. */
  acceptNewColumns?: boolean;
}

/**
 * "All activities" remembers which activities there were when the teacher made the definition (or
 * last confirmed new ones): a source that brings new columns later never silently changes who
 * qualifies. An edit keeps the remembered set unless the teacher accepts the new columns.
 */
async function withKnownActivities(conn: Connection, courseId: Types.ObjectId, settings: DefinitionSettings, previous: DefinitionDoc | null, accept: boolean): Promise<DefinitionSettings> {
  if (settings.items.mode !== 'all') return settings;
  if (previous?.items.mode === 'all' && previous.items.known && !accept) return { ...settings, items: { mode: 'all', known: previous.items.known } };
  const known = await currentActivityIds(conn, courseId);
  // A course without columns yet (no sync so far): nothing was seen, so whatever arrives counts.
  return known.length > 0 ? { ...settings, items: { mode: 'all', known } } : { ...settings, items: { mode: 'all' } };
}

/** Creates a definition (version 1) from the teacher's form. Throws ValidationError naming the field. */
export async function createDefinition(conn: Connection, opts: DefinitionWriteOptions): Promise<DefinitionDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const parsed = parseDefinitionInput(opts.input, { lineItemIds: await currentLineItemIds(conn, courseId), publicAllowed: opts.publicAllowed });
  const settings = await withKnownActivities(conn, courseId, parsed, null, true);
  const doc = await definitionModel(conn).create({
    ...settings,
    courseId,
    version: 1,
    archivedAt: null,
    createdAt: opts.now,
    createdBy: opts.by,
    updatedAt: opts.now,
    updatedBy: opts.by,
  });
  await recordAudit(conn, {
    courseId,
    action: 'definition_created',
    actor: opts.by,
    at: opts.now,
    definitionId: doc._id,
    details: { version: 1, settings },
  });
  return doc.toObject() as DefinitionDoc;
}

/**
 * Changes a definition. Submitting the same settings again changes nothing (no new version).
 * With `expectedVersion` (the version the teacher's form was loaded with), a concurrent change
 * by someone else is refused with ConflictError instead of being overwritten.
 */
export async function updateDefinition(
  conn: Connection,
  opts: DefinitionWriteOptions & { definitionId: Id; expectedVersion?: number },
): Promise<DefinitionDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const current = await getDefinition(conn, courseId, opts.definitionId);
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) throw staleForm(current.version);
  const parsed = parseDefinitionInput(opts.input, { lineItemIds: await currentLineItemIds(conn, courseId), publicAllowed: opts.publicAllowed });
  const settings = await withKnownActivities(conn, courseId, parsed, current, opts.acceptNewColumns === true);
  const before = settingsOf(current);
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const f of SETTING_FIELDS) {
    if (canonical(before[f]) !== canonical(settings[f])) changes[f] = { before: before[f], after: settings[f] };
  }
  if (Object.keys(changes).length === 0) return current;

  // The version in the filter makes read-compare-write atomic: a change in between fails here.
  const updated = await definitionModel(conn)
    .findOneAndUpdate(
      { _id: current._id, courseId, version: current.version, archivedAt: null },
      { $set: { ...settings, updatedAt: opts.now, updatedBy: opts.by }, $inc: { version: 1 } },
      { new: true },
    )
    .lean<DefinitionDoc>();
  if (!updated) throw staleForm(current.version);
  await recordAudit(conn, {
    courseId,
    action: 'definition_changed',
    actor: opts.by,
    at: opts.now,
    definitionId: current._id,
    details: { fromVersion: current.version, toVersion: updated.version, changes },
  });
  return updated;
}

function staleForm(version: number): ConflictError {
  const ref = { key: 'certificates.error.definitionChanged' };
  return new ConflictError(inEnglish(ref), { currentVersion: version }, ref);
}

/**
 * Archives a definition: learners can no longer claim it and it leaves the lists, while
 * certificates already issued under it stay valid and verifiable.
 */
export async function archiveDefinition(conn: Connection, opts: { courseId: Id; definitionId: Id; by: Actor; now: Date }): Promise<DefinitionDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const current = await getDefinition(conn, courseId, opts.definitionId);
  const updated = await definitionModel(conn)
    .findOneAndUpdate({ _id: current._id, courseId, archivedAt: null }, { $set: { archivedAt: opts.now, updatedAt: opts.now, updatedBy: opts.by } }, { new: true })
    .lean<DefinitionDoc>();
  if (!updated) return getDefinition(conn, courseId, current._id, { includeArchived: true });
  await recordAudit(conn, { courseId, action: 'definition_archived', actor: opts.by, at: opts.now, definitionId: current._id, details: { version: current.version } });
  return updated;
}


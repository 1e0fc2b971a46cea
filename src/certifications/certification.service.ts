/**
 * Defining certifications (administrators only: the routes check who may call these). Each
 * certification belongs to one registration (`Tenant`); every course, definition and
 * certification id is looked up within it, so another tenant's id is simply not found.
 */
import { Types, type Connection } from 'mongoose';
import type { Actor } from '../certificates/audit.model';
import { definitionModel } from '../certificates/definition.model';
import { courseModel, type CourseDoc } from '../courses/course.model';
import { NotFoundError, ValidationError } from '../errors';
import { recordCertificationAudit } from './certification-audit';
import type { CertificationFormInput } from './certification.schema';
import { certificationModel, type CertificationDoc, type CertificationValidity, type Programme } from './certification.model';
import { inEnglish } from '../i18n/english';

export type { CertificationDoc };

/** A platform registration: issuer + client id (the tenant boundary of src/courses/course.model.ts). */
export interface Tenant {
  issuer: string;
  clientId: string;
}

/** The image scope a certification's badge is stored under (images.service.ts keys images by it). */
export function badgeScope(certificationId: Types.ObjectId | string): string {
  return `certification:${String(certificationId)}`;
}

/** "This certification does not exist.", in the reader's language. */
function certificationNotFound(what = 'certification'): NotFoundError {
  const ref = { key: 'certifications.error.notFound' };
  return new NotFoundError(inEnglish(ref), { what }, ref);
}

function toId(id: unknown, what: string): Types.ObjectId {
  if (id instanceof Types.ObjectId) return id;
  if (typeof id === 'string' && /^[0-9a-fA-F]{24}$/.test(id)) return new Types.ObjectId(id);
  throw certificationNotFound(what);
}

/** The courses the tool knows on this registration, most recently launched first. */
export async function tenantCourses(conn: Connection, tenant: Tenant): Promise<Array<Pick<CourseDoc, '_id' | 'title' | 'contextId'>>> {
  return courseModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId }, { title: 1, contextId: 1 }).sort({ updatedAt: -1 }).limit(500).lean();
}

/** The certificate definitions of these courses (for the "which certificate counts" choice). */
export async function definitionsOfCourses(conn: Connection, courseIds: Types.ObjectId[]) {
  return definitionModel(conn).find({ courseId: { $in: courseIds }, archivedAt: null }, { courseId: 1, title: 1 }).lean();
}

/** Checks the programme's courses and definitions against the registration (throws ValidationError); writes nothing. */
export async function checkProgramme(conn: Connection, tenant: Tenant, f: CertificationFormInput): Promise<Programme | undefined> {
  if (f.kind !== 'internal') return undefined;
  const ids = [...new Set(f.courses)].map((c) => new Types.ObjectId(c));
  const known = await courseModel(conn).find({ _id: { $in: ids }, issuer: tenant.issuer, clientId: tenant.clientId }, { _id: 1 }).lean();
  if (known.length !== ids.length) {
    const ref = { key: 'certifications.error.unknownCourse' };
    throw new ValidationError(inEnglish(ref), { field: 'courses' }, ref);
  }
  const defIds = [...new Set(f.definitionIds)].map((d) => new Types.ObjectId(d));
  const defs = defIds.length ? await definitionModel(conn).find({ _id: { $in: defIds }, courseId: { $in: ids } }, { courseId: 1 }).lean() : [];
  if (defs.length !== defIds.length) {
    const ref = { key: 'certifications.error.definitionNotInProgramme' };
    throw new ValidationError(inEnglish(ref), { field: 'definitionIds' }, ref);
  }
  const mandatory = new Set(f.mandatory);
  return {
    courses: ids.map((courseId) => ({
      courseId,
      mandatory: mandatory.has(String(courseId)),
      definitionIds: defs.filter((d) => d.courseId.equals(courseId)).map((d) => d._id),
    })),
    minimumMandatory: f.minimumMandatory === '' || f.minimumMandatory === undefined ? null : f.minimumMandatory,
    useLmsCompletion: f.useLmsCompletion !== undefined,
  };
}

function validityOf(f: CertificationFormInput): CertificationValidity {
  if (f.type === 'perpetual') return { kind: 'perpetual' };
  const window = f.renewalWindowDays === '' || f.renewalWindowDays === undefined ? 60 : f.renewalWindowDays;
  return { kind: 'recurring', validForMonths: f.validForMonths as number, renewalWindowDays: window };
}

function fieldsOf(f: CertificationFormInput, programme: Programme | undefined) {
  return {
    name: f.name,
    overview: f.overview,
    issuerName: f.issuerName,
    kind: f.kind,
    validity: validityOf(f),
    programme,
    onCourseRevoked: f.onCourseRevoked,
    assignment: { everyone: f.kind === 'internal' || f.assignEveryone !== undefined, userIds: [] as string[] },
  };
}

export interface DefineOptions {
  tenant: Tenant;
  input: CertificationFormInput;
  by: Actor;
  now: Date;
  /** Set when the id is chosen before (the badge was stored under it). */
  id?: Types.ObjectId;
  badgeFileId?: string;
}

/** Creates a certification. Everything is checked before anything is written. */
export async function createCertification(conn: Connection, opts: DefineOptions): Promise<CertificationDoc> {
  const programme = await checkProgramme(conn, opts.tenant, opts.input);
  const doc = await certificationModel(conn).create({
    _id: opts.id ?? new Types.ObjectId(),
    issuer: opts.tenant.issuer,
    clientId: opts.tenant.clientId,
    ...fieldsOf(opts.input, programme),
    ...(opts.badgeFileId ? { badgeFileId: opts.badgeFileId } : {}),
    version: 1,
    publishedAt: opts.now,
    archivedAt: null,
    createdAt: opts.now,
    createdBy: opts.by,
    updatedAt: opts.now,
    updatedBy: opts.by,
  });
  const created = doc.toObject() as CertificationDoc;
  await recordCertificationAudit(conn, { ...opts.tenant, certificationId: created._id, action: 'certification_created', actor: opts.by, at: opts.now, details: { name: created.name, version: 1 } });
  return created;
}

/** Changes a certification (a new version; awards keep the version they were issued under). */
export async function updateCertification(conn: Connection, id: unknown, opts: DefineOptions): Promise<CertificationDoc> {
  const before = await getCertification(conn, opts.tenant, id);
  const programme = await checkProgramme(conn, opts.tenant, opts.input);
  const updated = await certificationModel(conn)
    .findOneAndUpdate(
      { _id: before._id, issuer: opts.tenant.issuer, clientId: opts.tenant.clientId },
      { $set: { ...fieldsOf(opts.input, programme), ...(opts.badgeFileId ? { badgeFileId: opts.badgeFileId } : {}), updatedAt: opts.now, updatedBy: opts.by }, $inc: { version: 1 } },
      { new: true },
    )
    .lean<CertificationDoc>();
  if (!updated) throw certificationNotFound();
  await recordCertificationAudit(conn, { ...opts.tenant, certificationId: updated._id, action: 'certification_changed', actor: opts.by, at: opts.now, details: { version: updated.version } });
  return updated;
}

/** Archives a certification: no longer offered nor issued; its awards stay verifiable. */
export async function archiveCertification(conn: Connection, tenant: Tenant, id: unknown, by: Actor, now: Date): Promise<void> {
  const c = await getCertification(conn, tenant, id);
  if (c.archivedAt) return;
  await certificationModel(conn).updateOne({ _id: c._id }, { $set: { archivedAt: now, updatedAt: now, updatedBy: by } });
  await recordCertificationAudit(conn, { ...tenant, certificationId: c._id, action: 'certification_archived', actor: by, at: now });
}

/** One certification of this registration (archived ones included), or NotFoundError. */
export async function getCertification(conn: Connection, tenant: Tenant, id: unknown): Promise<CertificationDoc> {
  const c = await certificationModel(conn).findOne({ _id: toId(id, 'certification'), issuer: tenant.issuer, clientId: tenant.clientId }).lean<CertificationDoc>();
  if (!c) throw certificationNotFound();
  return c;
}

/** The registration's certifications, newest first (archived ones only when asked). */
export async function listCertifications(conn: Connection, tenant: Tenant, opts: { includeArchived?: boolean; kind?: 'internal' | 'external' } = {}): Promise<CertificationDoc[]> {
  const filter: Record<string, unknown> = { issuer: tenant.issuer, clientId: tenant.clientId };
  if (!opts.includeArchived) filter.archivedAt = null;
  if (opts.kind) filter.kind = opts.kind;
  return certificationModel(conn).find(filter).sort({ publishedAt: -1, _id: -1 }).lean<CertificationDoc[]>();
}

/** The active internal certifications whose programme includes this course. */
export async function certificationsUsingCourse(conn: Connection, courseId: Types.ObjectId): Promise<CertificationDoc[]> {
  return certificationModel(conn).find({ 'programme.courses.courseId': courseId, kind: 'internal', archivedAt: null }).lean<CertificationDoc[]>();
}

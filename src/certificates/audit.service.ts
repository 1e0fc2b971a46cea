/**
 * Writing and reading the certificate audit trail (see audit.model.ts).
 */
import { Types, type Connection } from 'mongoose';
import { auditDetailExpiry, auditDetailModel, auditDetailRetentionDays, auditModel, PERSONAL_DETAIL_KEYS, type Actor, type AuditAction, type AuditEntryDoc } from './audit.model';
import { toObjectId, type Id } from './ids';
export type { Actor } from './audit.model';

export interface AuditInput {
  /**
   * The entry's own id. A certificate's "issued" (or "re-issued") entry takes the certificate's
   * id, so that writing it twice (the normal path and a crash repair, audit-repair.ts) keeps one.
   */
  id?: Types.ObjectId;
  courseId: Types.ObjectId;
  action: AuditAction;
  actor: Actor;
  at: Date;
  definitionId?: Types.ObjectId;
  issueId?: Types.ObjectId;
  userId?: string;
  details?: Record<string, unknown>;
}

/** An audit entry as pages show it. */
export interface AuditEntry {
  id: string;
  courseId: string;
  action: AuditAction;
  actor: Actor;
  at: Date;
  definitionId?: string;
  issueId?: string;
  userId?: string;
  details: Record<string, unknown>;
  /** Set when the personal part of the entry expired (AUDIT_DETAIL_RETENTION_DAYS): the entry says so. */
  detailsRemovedAfterDays?: number;
}

/**
 * Appends entries to the trail (one insert for many). Idempotent for entries with an `id`: one
 * already written is kept as it is.
 */
export async function recordAudit(conn: Connection, entries: AuditInput | AuditInput[]): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return;
  const docs = list.map(({ id, ...e }) => {
    const doc: Record<string, unknown> = { _id: id ?? new Types.ObjectId(), details: {} };
    for (const [k, v] of Object.entries(e)) if (v !== undefined) doc[k] = v;
    return doc;
  });
  await insertWithAuditDetails(auditModel(conn).collection, conn, docs);
}

/**
 * Writes audit entries (`_id`, `actor`, `at`, `details` set) with their personal part split out to
 * audit_details (TTL); the entry keeps what, when, which certificate, actor kind and ids.
 * Also used by the certification trail (src/certifications/certification-audit.ts).
 */
export async function insertWithAuditDetails(collection: { insertMany(docs: never[], o: object): Promise<unknown> }, conn: Connection, docs: Record<string, unknown>[]): Promise<void> {
  if (docs.length === 0) return;
  const personal: Record<string, unknown>[] = [];
  for (const doc of docs) {
    const details: Record<string, unknown> = { ...((doc.details as Record<string, unknown> | undefined) ?? {}) };
    const kept: Record<string, unknown> = {};
    for (const k of PERSONAL_DETAIL_KEYS) if (k in details) (kept[k] = details[k]), delete details[k];
    const { name: actorName, ...actor } = doc.actor as Actor;
    const expireAt = auditDetailExpiry(doc.at as Date);
    Object.assign(doc, { details, actor, detailsUntil: expireAt });
    personal.push({ _id: doc._id, ...(doc.courseId ? { courseId: doc.courseId } : {}), ...(actorName !== undefined ? { actorName } : {}), details: kept, expireAt });
  }
  // Order: the entry first, then its personal part. An audit entry is never lost: if the detail
  // write fails the entry is already written (shown as "details removed") and the error is thrown
  // to the caller. Both writes are idempotent by id (a repeat keeps the first).
  await insertIgnoringDuplicates(collection, docs);
  await insertIgnoringDuplicates(auditDetailModel(conn).collection, personal);
}

async function insertIgnoringDuplicates(collection: { insertMany(docs: never[], o: object): Promise<unknown> }, docs: Record<string, unknown>[]): Promise<void> {
  try {
    await collection.insertMany(docs as never[], { ordered: false });
  } catch (err) {
    const writeErrors = ([] as Array<{ code?: number }>).concat((err as { writeErrors?: [] }).writeErrors ?? []);
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw err;
  }
}

/**
 * Joins each entry with its personal part (audit_details). Entries written before the split carry
 * their details inline and are returned as they are; an entry whose part has expired gets none.
 */
export async function withAuditDetails<D extends Pick<AuditEntryDoc, '_id' | 'actor' | 'details' | 'detailsUntil'>>(conn: Connection, docs: D[]): Promise<Array<D & { detailsRemoved?: boolean }>> {
  const split = docs.filter((d) => d.detailsUntil);
  if (split.length === 0) return docs;
  const parts = await auditDetailModel(conn).find({ _id: { $in: split.map((d) => d._id) } }).lean();
  const byId = new Map(parts.map((p) => [String(p._id), p]));
  return docs.map((d) => {
    if (!d.detailsUntil) return d;
    const p = byId.get(String(d._id));
    if (!p) return { ...d, detailsRemoved: true };
    return { ...d, actor: { ...d.actor, ...(p.actorName !== undefined ? { name: p.actorName } : {}) }, details: { ...(d.details ?? {}), ...(p.details ?? {}) } };
  });
}

/**
 * A course's audit trail, newest first, `limit` entries (1–500, default 50) at a time.
 * `before` is the `nextBefore` of the previous page (the id of its last entry).
 */
export async function listAudit(
  conn: Connection,
  courseId: Id,
  opts: { limit?: number; before?: string; action?: AuditAction; userId?: string } = {},
): Promise<{ entries: AuditEntry[]; nextBefore: string | null }> {
  const Audit = auditModel(conn);
  const course = toObjectId(courseId, 'course');
  const limit = Math.max(1, Math.min(500, Math.floor(opts.limit ?? 50)));
  const filter: Record<string, unknown> = { courseId: course };
  if (opts.action) filter.action = opts.action;
  if (opts.userId) filter.userId = opts.userId;
  if (opts.before) {
    const cursor = await Audit.findOne({ _id: toObjectId(opts.before, 'audit entry'), courseId: course }).lean();
    if (cursor) filter.$or = [{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: cursor._id } }];
  }
  const docs = await Audit.find(filter).sort({ at: -1, _id: -1 }).limit(limit + 1).lean();
  const page = (await withAuditDetails(conn, docs.slice(0, limit))).map(toAuditEntry);
  return { entries: page, nextBefore: docs.length > limit ? page[page.length - 1]!.id : null };
}

function toAuditEntry(d: AuditEntryDoc & { detailsRemoved?: boolean }): AuditEntry {
  return {
    id: String(d._id),
    courseId: String(d.courseId),
    action: d.action,
    actor: d.actor,
    at: d.at,
    definitionId: d.definitionId ? String(d.definitionId) : undefined,
    issueId: d.issueId ? String(d.issueId) : undefined,
    userId: d.userId,
    details: d.details ?? {},
    ...(d.detailsRemoved ? { detailsRemovedAfterDays: auditDetailRetentionDays() } : {}),
  };
}

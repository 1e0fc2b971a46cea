/**
 * Writing and reading the certificate audit trail (see audit.model.ts).
 */
import { Types, type Connection } from 'mongoose';
import { auditModel, type Actor, type AuditAction, type AuditEntryDoc } from './audit.model';
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
  try {
    await auditModel(conn).collection.insertMany(docs, { ordered: false });
  } catch (err) {
    const writeErrors = ([] as Array<{ code?: number }>).concat((err as { writeErrors?: [] }).writeErrors ?? []);
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw err;
  }
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
  const page = docs.slice(0, limit).map(toAuditEntry);
  return { entries: page, nextBefore: docs.length > limit ? page[page.length - 1]!.id : null };
}

function toAuditEntry(d: AuditEntryDoc): AuditEntry {
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
  };
}

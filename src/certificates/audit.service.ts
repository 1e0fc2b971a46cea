/**
 * Writing and reading the certificate audit trail (see audit.model.ts).
 */
import type { Connection, Types } from 'mongoose';
import { auditModel, type Actor, type AuditAction, type AuditEntryDoc } from './audit.model';
import { toObjectId, type Id } from './ids';

export interface AuditInput {
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

/** Appends entries to the trail (one insert for many). */
export async function recordAudit(conn: Connection, entries: AuditInput | AuditInput[]): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return;
  await auditModel(conn).insertMany(
    list.map((e) => ({ ...e, details: e.details ?? {} })),
    { lean: true },
  );
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

/**
 * Revoking (R4): a certificate is never erased. Its code then verifies as revoked, and the audit
 * trail keeps who, when, why and what it said.
 */
import { Types, type Connection } from 'mongoose';
import { ValidationError } from '../errors';
import type { Clock } from '../runtime';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { emitIssueEvent } from './issue-events';
import { getCertificate } from './certificate.queries';
import { getDefinition } from './definition.service';
import { toObjectId, type Id } from './ids';
import { issueModel, type IssueDoc } from './issue.model';
import { revokeCredentials } from '../credentials/status-bits';

/** The longest reason a teacher may give for revoking (the form and this service share it). */
export const REVOKE_REASON_MAX_LENGTH = 500;

function checkReason(reason: string | undefined): string {
  const r = (reason ?? '').trim();
  if (!r) throw new ValidationError('Say why the certificate is deleted (it is kept in the audit log).', { field: 'reason' }, { key: 'teacher.delete.reasonRequired' });
  if (r.length > REVOKE_REASON_MAX_LENGTH) {
    throw new ValidationError(`The reason must be at most ${REVOKE_REASON_MAX_LENGTH} characters.`, { field: 'reason' }, { key: 'teacher.delete.reasonTooLong', params: { max: REVOKE_REASON_MAX_LENGTH } });
  }
  return r;
}

/** What a certificate said, copied into the audit trail when it is revoked. */
function contentOf(c: IssueDoc): Record<string, unknown> {
  return {
    code: c.code,
    learnerName: c.learnerName,
    courseTitle: c.courseTitle,
    title: c.title,
    issuerName: c.issuerName,
    scorePercent: c.scorePercent,
    issuedAt: c.issuedAt,
    expiresAt: c.expiresAt,
    version: c.version,
    definitionVersion: c.definitionVersion,
    status: c.status,
  };
}

/**
 * The teacher's "delete one" (R4): the certificate is revoked, not erased. Its code then verifies
 * as revoked, the audit trail records who, when, why and what it said, and the learner can claim
 * again. Revoking an already revoked certificate changes nothing and returns it.
 */
export async function revokeCertificate(
  conn: Connection,
  opts: { courseId: Id; issueId: Id; by: Actor; reason: string; now: Clock },
): Promise<IssueDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const reason = checkReason(opts.reason);
  const at = opts.now();
  const before = await getCertificate(conn, courseId, opts.issueId);
  if (before.status === 'revoked') return before;
  const revoked = await issueModel(conn)
    .findOneAndUpdate(
      { _id: before._id, courseId, status: { $in: ['active', 'superseded'] } },
      { $set: { status: 'revoked', revokedAt: at, revokedBy: opts.by, revokedReason: reason }, $unset: { activeKey: 1 } },
      { new: true },
    )
    .lean<IssueDoc>();
  if (!revoked) return getCertificate(conn, courseId, before._id);
  // its signed Open Badges credential now fails the status check too
  await revokeCredentials(conn, 'certificate', [String(before._id)]);
  await recordAudit(conn, {
    courseId,
    action: 'certificate_revoked',
    actor: opts.by,
    at,
    definitionId: before.definitionId,
    issueId: before._id,
    userId: before.userId,
    details: { reason, certificate: contentOf(before) },
  });
  await emitIssueEvent(conn, { type: 'revoked', certificates: [revoked] });
  return revoked;
}

/**
 * The teacher's "delete all" (R4): revokes every valid certificate of the course (or of one
 * definition). One audit entry lists what each said. Returns how many were revoked.
 */
export async function revokeAll(
  conn: Connection,
  opts: { courseId: Id; definitionId?: Id; by: Actor; reason: string; now: Clock },
): Promise<{ revoked: number }> {
  const courseId = toObjectId(opts.courseId, 'course');
  const reason = checkReason(opts.reason);
  const at = opts.now();
  const filter: Record<string, unknown> = { courseId, status: 'active' };
  if (opts.definitionId !== undefined) filter.definitionId = (await getDefinition(conn, courseId, opts.definitionId, { includeArchived: true }))._id;
  const Issue = issueModel(conn);
  const targets = await Issue.find(filter).lean<IssueDoc[]>();
  if (targets.length === 0) return { revoked: 0 };
  // A unique marker tells afterwards exactly which ones this call revoked (not a concurrent one).
  const batch = new Types.ObjectId();
  await Issue.updateMany(
    { _id: { $in: targets.map((t) => t._id) }, status: 'active' },
    { $set: { status: 'revoked', revokedAt: at, revokedBy: { ...opts.by }, revokedReason: reason, revokeBatch: batch }, $unset: { activeKey: 1 } },
  );
  const done = new Set((await Issue.find({ courseId, revokeBatch: batch }, { _id: 1 }).lean()).map((d) => String(d._id)));
  const revoked = targets.filter((t) => done.has(String(t._id)));
  await revokeCredentials(conn, 'certificate', [...done]);
  await recordAudit(conn, {
    courseId,
    action: 'certificates_revoked_all',
    actor: opts.by,
    at,
    definitionId: opts.definitionId !== undefined ? (filter.definitionId as Types.ObjectId) : undefined,
    details: {
      reason,
      count: revoked.length,
      certificates: revoked.map((c) => ({ issueId: String(c._id), userId: c.userId, ...contentOf(c) })),
    },
  });
  await emitIssueEvent(conn, { type: 'revoked', certificates: revoked });
  return { revoked: revoked.length };
}

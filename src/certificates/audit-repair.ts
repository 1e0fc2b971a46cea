/**
 * Every certificate has its "issued" (or "re-issued") audit entry, even after a crash.
 *
 * Without multi-document transactions a certificate and its entry are two writes; a process
 * killed between them (kill -9 during "generate all" lost a whole batch's entries) leaves
 * certificates the audit trail never mentions. The entry of a certificate carries the
 * certificate's id as its own (issue.service.ts), so repairing is idempotent: the entries that
 * are missing are written from the certificate itself (who issued it, when, with what), marked
 * `recovered: true`, and a repair racing the normal write still leaves one entry.
 *
 * Runs when "generate all" starts (so a resumed run repairs what the killed one left) and once
 * in the background at every start of the tool.
 */
import type { Connection, Types } from 'mongoose';
import { auditModel } from './audit.model';
import { recordAudit, type AuditInput } from './audit.service';
import { issueModel, type IssueDoc } from './issue.model';

const ISSUE_ACTIONS = ['certificate_issued', 'certificate_reissued'] as const;
const WRITE_BATCH = 500;

/** Writes the missing issue entries of one course, or of every course; returns how many. */
export async function repairIssueAudit(conn: Connection, courseId?: Types.ObjectId): Promise<number> {
  const courses = courseId ? [courseId] : await issueModel(conn).distinct<Types.ObjectId>('courseId');
  let repaired = 0;
  for (const cid of courses) repaired += await repairCourse(conn, cid);
  return repaired;
}

async function repairCourse(conn: Connection, courseId: Types.ObjectId): Promise<number> {
  const audited = new Set(
    (await auditModel(conn).find({ courseId, action: { $in: [...ISSUE_ACTIONS] } }, { issueId: 1 }).lean()).map((e) => String(e.issueId)),
  );
  const ids = (await issueModel(conn).find({ courseId }, { _id: 1 }).lean()).map((c) => c._id).filter((id) => !audited.has(String(id)));
  for (let i = 0; i < ids.length; i += WRITE_BATCH) {
    const certificates = await issueModel(conn).find({ _id: { $in: ids.slice(i, i + WRITE_BATCH) } }).lean<IssueDoc[]>();
    await recordAudit(conn, certificates.map(recoveredEntry));
  }
  return ids.length;
}

function recoveredEntry(c: IssueDoc): AuditInput {
  return {
    id: c._id,
    courseId: c.courseId,
    action: c.supersedes ? 'certificate_reissued' : 'certificate_issued',
    actor: c.issuedBy,
    at: c.issuedAt,
    definitionId: c.definitionId,
    issueId: c._id,
    userId: c.userId,
    details: {
      code: c.code,
      version: c.version,
      definitionVersion: c.definitionVersion,
      scorePercent: c.scorePercent,
      learnerName: c.learnerName,
      ...(c.supersedes ? { previousIssueId: String(c.supersedes) } : {}),
      recovered: true,
    },
  };
}

/**
 * Re-issuing (R5): a new version from current grades and the current definition, in two atomic
 * steps (retire the old, insert the new) that undo the first when the second fails.
 */
import { Types, type Connection } from 'mongoose';
import { ConflictError } from '../errors';
import type { LoadedMember } from '../grades/course-grades.service';
import type { Clock, RandomBytes } from '../runtime';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { notifyCertificatesIssued } from '../mail/certificate-mail';
import { emitIssueEvent } from './issue-events';
import { NotEligibleError } from './certificate.errors';
import { getCertificate } from './certificate.queries';
import { resolveLearnerName } from './certificate-state';
import type { DefinitionDoc } from './definition.model';
import { getDefinition } from './definition.service';
import type { Evaluation } from './evaluate';
import { toObjectId, type Id } from './ids';
import { activeKeyOf, issueModel, type IssueDoc } from './issue.model';
import { draftIssue, evaluationOf, glyphAuditDetails, insertActive, printedCourseTitle } from './issue-writes';
import { revokeCredentials } from '../credentials/status-bits';
import { inEnglish } from '../i18n/english';

export interface ReissueOptions {
  courseId: Id;
  issueId: Id;
  by: Actor;
  now: Clock;
  random: RandomBytes;
  /** Already loaded current definition and evaluation (bulk re-issue); loaded when absent. */
  definition?: DefinitionDoc;
  evaluation?: Evaluation;
  member?: LoadedMember | null;
  courseTitle?: string;
}

/**
 * Re-issues an active certificate from current grades and the current definition (R5): a new
 * version with a new code; the old one becomes `superseded`, pointing at the new one, so its
 * verification leads to the new version. Refuses (NotEligibleError) when the learner no longer
 * qualifies: revoking is then the teacher's explicit choice.
 */
export async function reissueCertificate(conn: Connection, opts: ReissueOptions): Promise<{ certificate: IssueDoc; previous: IssueDoc }> {
  const courseId = toObjectId(opts.courseId, 'course');
  const previous = await getCertificate(conn, courseId, opts.issueId);
  if (previous.status !== 'active') {
    const ref = { key: 'certificates.error.reissueNotActive', params: { status: previous.status } };
    throw new ConflictError(inEnglish(ref), { status: previous.status }, ref);
  }
  const definition = opts.definition ?? (await getDefinition(conn, courseId, previous.definitionId));
  const { evaluation, member } = await evaluationOf(conn, { courseId, definition, userId: previous.userId, evaluation: opts.evaluation, member: opts.member });
  if (!evaluation.eligible) throw new NotEligibleError(evaluation.reasons, evaluation.scorePercent);

  const at = opts.now();
  const draft = draftIssue({
    courseId,
    definition,
    userId: previous.userId,
    // the roster's current name: a re-issue also fixes a name changed since
    learnerName: resolveLearnerName(member) ?? previous.learnerName,
    learnerEmail: member?.email ?? previous.learnerEmail,
    courseTitle: opts.courseTitle ?? (await printedCourseTitle(conn, courseId)),
    evaluation,
    issuedAt: at,
    issuedBy: opts.by,
    supersedes: previous._id,
  });

  // Step 1: retire the old version, naming its successor in the same atomic update. Only one
  // concurrent re-issue (or revoke) can win this.
  const Issue = issueModel(conn);
  const newId = new Types.ObjectId();
  const retired = await Issue.findOneAndUpdate(
    { _id: previous._id, status: 'active' },
    { $set: { status: 'superseded', supersededBy: newId, supersededAt: at }, $unset: { activeKey: 1 } },
    { new: true },
  ).lean<IssueDoc>();
  if (!retired) {
    const ref = { key: 'certificates.error.reissueChanged' };
    throw new ConflictError(inEnglish(ref), { issueId: String(previous._id) }, ref);
  }

  // Step 2: the new version. If that fails, put the old one back so nothing is lost.
  let inserted: { certificate: IssueDoc; created: boolean };
  try {
    inserted = await insertActive(conn, draft, opts.random, { id: newId });
  } catch (e) {
    await Issue.updateOne(
      { _id: previous._id, status: 'superseded', supersededBy: newId },
      { $set: { status: 'active', activeKey: activeKeyOf(previous.definitionId, previous.userId) }, $unset: { supersededBy: 1, supersededAt: 1 } },
    ).catch(() => undefined);
    throw e;
  }
  // the old version's signed credential now fails the status check (its page points to the new one)
  await revokeCredentials(conn, 'certificate', [String(previous._id)]);
  if (!inserted.created) {
    // A claim slipped in between the two steps: that certificate is the successor.
    await Issue.updateOne({ _id: previous._id, supersededBy: newId }, { $set: { supersededBy: inserted.certificate._id } });
    return { certificate: inserted.certificate, previous: { ...retired, supersededBy: inserted.certificate._id } };
  }
  const certificate = inserted.certificate;
  await recordAudit(conn, {
    id: certificate._id,
    courseId,
    action: 'certificate_reissued',
    actor: opts.by,
    at,
    definitionId: certificate.definitionId,
    issueId: certificate._id,
    userId: certificate.userId,
    details: {
      previousIssueId: String(previous._id),
      previousCode: previous.code,
      previousVersion: previous.version,
      previousScorePercent: previous.scorePercent,
      code: certificate.code,
      version: certificate.version,
      scorePercent: certificate.scorePercent,
      definitionVersion: certificate.definitionVersion,
      ...glyphAuditDetails(certificate),
    },
  });
  await notifyCertificatesIssued(conn, definition, [certificate], at);
  await emitIssueEvent(conn, { type: 'issued', certificates: [certificate] });
  return { certificate, previous: retired };
}

/**
 * What the learner page shows (R1, R10): every certificate of the course with the learner's
 * progress towards it, and every certificate they were ever issued here.
 */
import type { Connection } from 'mongoose';
import { certificateState } from './certificate-state';
import { listLearnerCertificates } from './certificate.queries';
import { learnerGrades, readCourseGrades, type LearnerSnapshot } from './course-grades';
import type { DefinitionDoc } from './definition.model';
import { listDefinitions } from './definition.service';
import { compareToSnapshot, evaluateEligibility, evaluationFingerprint, type Evaluation, type SnapshotComparison } from './evaluate';
import { toObjectId, type Id } from './ids';
import type { IssueDoc } from './issue.model';
import type { OverviewStatus } from './overview.service';

/**
 * Where a certificate stands for the learner: `claimable` (they qualify and hold no valid one,
 * or theirs expired and they qualify again, R9), `held`, or `pending` (not qualifying yet).
 */
export type LearnerCardState = 'claimable' | 'held' | 'pending';

export interface LearnerCertificateStatus {
  definition: DefinitionDoc;
  /** The learner's progress now: score, per-item breakdown, what is missing. */
  evaluation: Evaluation;
  /** The active certificate, or else the latest one; null when none was ever issued. */
  certificate: IssueDoc | null;
  status: OverviewStatus;
  /** For a stale certificate: what changed since it was issued. */
  comparison: SnapshotComparison | null;
  state: LearnerCardState;
  /** True when the learner can press "Get your certificate" now. */
  canClaim: boolean;
}

export interface LearnerOverview {
  /** One per definition: claimable first, then held, then pending; each group in the teacher's order. */
  statuses: LearnerCertificateStatus[];
  /** Every certificate issued to the learner in this course, every version, newest first. */
  certificates: IssueDoc[];
}

// R10, "pending first": what waits for the learner's click comes first, then what they hold,
// then what they do not qualify for yet.
const ORDER: Record<LearnerCardState, number> = { claimable: 0, held: 1, pending: 2 };

/** `snapshot`: the learner's stored grades, read just before and still current (the page's refresh changed nothing). */
export async function learnerOverview(conn: Connection, courseId: Id, userId: string, now: Date, opts: { snapshot?: LearnerSnapshot } = {}): Promise<LearnerOverview> {
  const cid = toObjectId(courseId, 'course');
  const [definitions, book, certificates] = await Promise.all([
    listDefinitions(conn, cid),
    readCourseGrades(conn, cid, { userIds: [userId], snapshot: opts.snapshot }),
    listLearnerCertificates(conn, cid, userId),
  ]);
  const grades = learnerGrades(book, userId);
  const statuses = definitions.map((definition): LearnerCertificateStatus => {
    const mine = certificates.filter((c) => c.definitionId.equals(definition._id));
    const active = mine.find((c) => c.status === 'active') ?? null;
    const certificate = active ?? mine[0] ?? null;
    const evaluation = evaluateEligibility(definition, grades);
    let status: OverviewStatus = certificate ? certificateState(certificate, now) : 'none';
    let comparison: SnapshotComparison | null = null;
    if (status === 'active' && certificate!.fingerprint !== evaluationFingerprint(evaluation)) {
      comparison = compareToSnapshot(certificate!.evaluation, evaluation);
      if (comparison.stale) status = 'stale';
      else comparison = null;
    }
    // an expired certificate is renewed by claiming again (claimCertificate)
    const renewable = active !== null && evaluation.eligible && certificateState(active, now) === 'expired';
    const state: LearnerCardState = active && !renewable ? 'held' : evaluation.eligible ? 'claimable' : 'pending';
    return { definition, evaluation, certificate, status, comparison, state, canClaim: state === 'claimable' };
  });
  // Array.prototype.sort is stable: within a group, the teacher's order stays
  return { statuses: statuses.sort((a, b) => ORDER[a.state] - ORDER[b.state]), certificates };
}

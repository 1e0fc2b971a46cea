/**
 * The teacher's overview of one certificate definition (R4): every learner of the roster with
 * score, eligibility and certificate status. Built from one grade-book read and one read of the
 * definition's certificates, evaluated in memory, so a course of 5,000 learners stays fast.
 * "Generate all" and stale detection plan from the same rows, so all three agree.
 */
import type { Connection, Types } from 'mongoose';
import type { MemberStatus } from '../grades/member.model';
import { readCourseGrades, learnerGrades, type CourseGradeBook } from './course-grades';
import type { DefinitionDoc } from './definition.model';
import { getDefinition } from './definition.service';
import { compareToSnapshot, evaluateEligibility, type Evaluation, type Reason, type SnapshotComparison } from './evaluate';
import { toObjectId, type Id } from './ids';
import { issueModel, type IssueDoc } from './issue.model';
import { certificateState, resolveLearnerName } from './issue.service';

/** A learner's certificate situation under one definition. */
export type OverviewStatus = 'none' | 'active' | 'stale' | 'expired' | 'superseded' | 'revoked';

/** The fields of a certificate the overview needs (the per-item snapshot only for stale checks). */
export type OverviewCertificate = Pick<
  IssueDoc,
  '_id' | 'userId' | 'learnerName' | 'code' | 'version' | 'status' | 'issuedAt' | 'expiresAt' | 'scorePercent' | 'definitionVersion' | 'revokedAt' | 'supersededBy'
> & { evaluation: Pick<IssueDoc['evaluation'], 'items'> };

export interface OverviewRow {
  userId: string;
  /** Roster name (or, for someone no longer on the roster, the name on their certificate). */
  name: string | null;
  email: string | null;
  /** 'unknown': not on the roster (any more), but holds a certificate. */
  memberStatus: MemberStatus | 'unknown';
  evaluation: Evaluation;
  scorePercent: number;
  eligible: boolean;
  reasons: Reason[];
  status: OverviewStatus;
  /** The active certificate, or else the latest one. */
  certificate: OverviewCertificate | null;
  /** For an active certificate: how it compares with the grades now ("issued at 85%, now 95%"). */
  comparison: SnapshotComparison | null;
}

export interface CourseOverview {
  definition: DefinitionDoc;
  rows: OverviewRow[];
  counts: Record<OverviewStatus, number> & { learners: number; eligible: number };
  /** When the overview was computed (the `now` it was given). */
  at: Date;
}

const CERTIFICATE_FIELDS = {
  userId: 1,
  learnerName: 1,
  code: 1,
  version: 1,
  status: 1,
  issuedAt: 1,
  expiresAt: 1,
  scorePercent: 1,
  definitionVersion: 1,
  revokedAt: 1,
  supersededBy: 1,
  'evaluation.items': 1,
} as const;

/** Every certificate of the definition, grouped by learner: the active one, or the latest. */
export async function loadCurrentCertificates(conn: Connection, courseId: Types.ObjectId, definitionId: Types.ObjectId): Promise<Map<string, { current: OverviewCertificate; maxVersion: number }>> {
  const docs = await issueModel(conn).find({ courseId, definitionId }, CERTIFICATE_FIELDS).lean<OverviewCertificate[]>();
  const byUser = new Map<string, { current: OverviewCertificate; maxVersion: number }>();
  for (const d of docs) {
    const seen = byUser.get(d.userId);
    if (!seen) {
      byUser.set(d.userId, { current: d, maxVersion: d.version });
      continue;
    }
    seen.maxVersion = Math.max(seen.maxVersion, d.version);
    const better = seen.current.status !== 'active' && (d.status === 'active' || d.version > seen.current.version);
    if (better) seen.current = d;
  }
  return byUser;
}

/** The overview rows from already loaded data (pure; shared with generate-all and stale detection). */
export function buildOverviewRows(
  definition: DefinitionDoc,
  book: CourseGradeBook,
  certificates: Map<string, { current: OverviewCertificate }>,
  now: Date,
): OverviewRow[] {
  const userIds: string[] = [];
  for (const m of book.membersByUser.values()) if (m.isLearner) userIds.push(m.userId);
  const onRoster = new Set(userIds);
  for (const userId of certificates.keys()) if (!onRoster.has(userId)) userIds.push(userId);

  const rows: OverviewRow[] = userIds.map((userId) => {
    const member = book.membersByUser.get(userId);
    const certificate = certificates.get(userId)?.current ?? null;
    const evaluation = evaluateEligibility(definition, learnerGrades(book, userId));
    let status: OverviewStatus = 'none';
    let comparison: SnapshotComparison | null = null;
    if (certificate) {
      const state = certificateState(certificate, now);
      status = state;
      if (state === 'active') {
        comparison = compareToSnapshot({ scorePercent: certificate.scorePercent, items: certificate.evaluation?.items ?? [] }, evaluation);
        if (comparison.stale) status = 'stale';
      }
    }
    return {
      userId,
      name: resolveLearnerName(member) ?? certificate?.learnerName ?? null,
      email: member?.email ?? null,
      memberStatus: member && onRoster.has(userId) ? member.status : 'unknown',
      evaluation,
      scorePercent: evaluation.scorePercent,
      eligible: evaluation.eligible,
      reasons: evaluation.reasons,
      status,
      certificate,
      comparison,
    };
  });
  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  return rows.sort((a, b) => collator.compare(a.name ?? '\uffff', b.name ?? '\uffff') || (a.userId < b.userId ? -1 : 1));
}

function countRows(rows: OverviewRow[]): CourseOverview['counts'] {
  const counts = { learners: rows.length, eligible: 0, none: 0, active: 0, stale: 0, expired: 0, superseded: 0, revoked: 0 };
  for (const r of rows) {
    counts[r.status]++;
    if (r.eligible) counts.eligible++;
  }
  return counts;
}

/**
 * One row per learner of the roster (members who are learners, those who left included and
 * flagged by `memberStatus`), plus anyone holding a certificate who is no longer on it.
 * Rows are sorted by name; filtering and other orders are the page's business.
 */
export async function courseOverview(conn: Connection, courseId: Id, definitionId: Id, now: Date): Promise<CourseOverview> {
  const cid = toObjectId(courseId, 'course');
  const definition = await getDefinition(conn, cid, definitionId, { includeArchived: true });
  const [book, certificates] = await Promise.all([readCourseGrades(conn, cid), loadCurrentCertificates(conn, cid, definition._id)]);
  const rows = buildOverviewRows(definition, book, certificates, now);
  return { definition, rows, counts: countRows(rows), at: now };
}

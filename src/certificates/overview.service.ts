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
import { compareToSnapshot, evaluateEligibility, evaluationFingerprint, type Evaluation, type Reason, type SnapshotComparison } from './evaluate';
import { toObjectId, type Id } from './ids';
import { issueModel, type IssueDoc } from './issue.model';
import { certificateState, resolveLearnerName } from './certificate-state';

/** A learner's certificate situation under one definition. */
export type OverviewStatus = 'none' | 'active' | 'stale' | 'expired' | 'superseded' | 'revoked';

/** The fields of a certificate the overview needs (not the per-item snapshot: see `fingerprint`). */
export type OverviewCertificate = Pick<
  IssueDoc,
  | '_id'
  | 'userId'
  | 'learnerName'
  | 'code'
  | 'version'
  | 'status'
  | 'issuedAt'
  | 'expiresAt'
  | 'scorePercent'
  | 'definitionVersion'
  | 'revokedAt'
  | 'supersededBy'
  | 'fingerprint'
>;

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
  /** For a stale certificate: how it compares with the grades now ("issued at 85%, now 95%"). */
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
  fingerprint: 1,
} as const;

export interface CurrentCertificate {
  current: OverviewCertificate;
  /** Highest version the learner has under the definition (the next one is this + 1). */
  maxVersion: number;
}

/** Every certificate of the definition, grouped by learner: the active one, or the latest. */
async function loadCurrentCertificates(conn: Connection, courseId: Types.ObjectId, definitionId: Types.ObjectId): Promise<Map<string, CurrentCertificate>> {
  const docs = await issueModel(conn).find({ courseId, definitionId }, CERTIFICATE_FIELDS).lean<OverviewCertificate[]>();
  const byUser = new Map<string, CurrentCertificate>();
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

export interface CourseEvaluation {
  rows: OverviewRow[];
  certificates: Map<string, CurrentCertificate>;
  book: CourseGradeBook;
}

/**
 * Evaluates every learner of the course under one definition and sets each one's certificate
 * status. Reads the grade book (unless given) and the definition's certificates once; the
 * per-item snapshots are loaded only for certificates whose fingerprint differs from the grades
 * now (the few possibly stale ones). Shared by the overview, generate-all and stale detection.
 */
export async function evaluateCourse(
  conn: Connection,
  courseId: Types.ObjectId,
  definition: DefinitionDoc,
  now: Date,
  opts: { book?: CourseGradeBook; userIds?: ReadonlySet<string> } = {},
): Promise<CourseEvaluation> {
  const [book, certificates] = await Promise.all([opts.book ?? readCourseGrades(conn, courseId), loadCurrentCertificates(conn, courseId, definition._id)]);
  if (opts.userIds) for (const userId of [...certificates.keys()]) if (!opts.userIds.has(userId)) certificates.delete(userId);

  const userIds: string[] = [];
  for (const m of book.membersByUser.values()) if (m.isLearner && (!opts.userIds || opts.userIds.has(m.userId))) userIds.push(m.userId);
  const onRoster = new Set(userIds);
  for (const userId of certificates.keys()) if (!onRoster.has(userId)) userIds.push(userId);

  const changed: OverviewRow[] = [];
  const rows: OverviewRow[] = userIds.map((userId) => {
    const member = book.membersByUser.get(userId);
    const certificate = certificates.get(userId)?.current ?? null;
    const evaluation = evaluateEligibility(definition, learnerGrades(book, userId));
    const row: OverviewRow = {
      userId,
      name: resolveLearnerName(member) ?? certificate?.learnerName ?? null,
      email: member?.email ?? null,
      memberStatus: member && onRoster.has(userId) ? member.status : 'unknown',
      evaluation,
      scorePercent: evaluation.scorePercent,
      eligible: evaluation.eligible,
      reasons: evaluation.reasons,
      status: certificate ? certificateState(certificate, now) : 'none',
      certificate,
      comparison: null,
    };
    if (row.status === 'active' && certificate!.fingerprint !== evaluationFingerprint(evaluation)) changed.push(row);
    return row;
  });

  if (changed.length > 0) {
    const snapshots = await issueModel(conn)
      .find({ _id: { $in: changed.map((r) => r.certificate!._id) } }, { scorePercent: 1, 'evaluation.items': 1 })
      .lean<Array<Pick<IssueDoc, '_id' | 'scorePercent' | 'evaluation'>>>();
    const byId = new Map(snapshots.map((s) => [String(s._id), s]));
    for (const row of changed) {
      const snap = byId.get(String(row.certificate!._id));
      const comparison = compareToSnapshot({ scorePercent: snap?.scorePercent ?? row.certificate!.scorePercent, items: snap?.evaluation?.items ?? [] }, row.evaluation);
      if (comparison.stale) {
        row.status = 'stale';
        row.comparison = comparison;
      }
    }
  }

  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  rows.sort((a, b) => collator.compare(a.name ?? '\uffff', b.name ?? '\uffff') || (a.userId < b.userId ? -1 : 1));
  return { rows, certificates, book };
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
  const { rows } = await evaluateCourse(conn, cid, definition, now);
  return { definition, rows, counts: countRows(rows), at: now };
}

/**
 * Looking certificates up: one of a course, by verification code (following re-issues to the
 * newest version), and the lists of a course and of a learner.
 */
import type { Connection } from 'mongoose';
import { NotFoundError } from '../errors';
import { certificateState, type CertificateState } from './certificate-state';
import { normalizeCode } from './codes';
import { notFoundError, toObjectId, type Id } from './ids';
import { issueModel, type IssueDoc, type IssueStatus } from './issue.model';
export type { IssueDoc } from './issue.model';

/** Longest superseded chain followed when verifying (a guard against a corrupt loop). */
const MAX_CHAIN = 100;

/**
 * One certificate of this course (any status). Another course's certificate is a NotFoundError.
 * Through the collection, not a mongoose query: the filter is already typed and a lean result is
 * the stored document as it is, so mongoose's query building (casting, hooks: about a third of this
 * lookup's CPU, bench/download.bench.ts) adds nothing here — it is on every certificate page and a
 * viewer's first PDF download.
 */
export async function getCertificate(conn: Connection, courseId: Id, issueId: Id): Promise<IssueDoc> {
  const c = (await issueModel(conn).collection.findOne({ _id: toObjectId(issueId, 'certificate'), courseId: toObjectId(courseId, 'course') })) as IssueDoc | null;
  if (!c) throw notFoundError('certificate');
  return c;
}

/** Who is looking: a teacher of the launch's course, or a learner (who sees only their own). */
export interface CertificateViewer {
  courseId: Id;
  role: 'teacher' | 'learner' | string;
  userId: string;
}

/**
 * The certificate, if this viewer may see it; NotFoundError otherwise — never "forbidden": that
 * would confirm to a learner that another learner's certificate exists.
 */
export async function certificateForViewer(conn: Connection, viewer: CertificateViewer, issueId: Id): Promise<IssueDoc> {
  try {
    const c = await getCertificate(conn, viewer.courseId, issueId);
    if (viewer.role === 'teacher' || (viewer.role === 'learner' && c.userId === viewer.userId)) return c;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  throw new NotFoundError('This certificate does not exist, or is not yours.', { what: 'certificate' }, { key: 'learner.certificate.notFound' });
}

/** How many valid (active) certificates a definition has: the "delete all" confirmation. */
export async function countActiveCertificates(conn: Connection, courseId: Id, definitionId: Id): Promise<number> {
  return issueModel(conn).countDocuments({ courseId: toObjectId(courseId, 'course'), definitionId: toObjectId(definitionId, 'certificate definition'), status: 'active' });
}

export interface Verification {
  state: CertificateState;
  certificate: IssueDoc;
  /** For a superseded certificate: the newest version it leads to, and that one's state. */
  newest?: { certificate: IssueDoc; state: CertificateState };
}

/**
 * Looks a verification code up (any spelling `normalizeCode` accepts). A revoked, superseded or
 * expired certificate is found and says so; only an unknown or malformed code gives null.
 * Not scoped to a course: this serves the verification page. Whether the page may show the
 * details without a launch (public certificates, R2) is the caller's decision.
 */
export async function findByCode(conn: Connection, input: string, now: Date): Promise<Verification | null> {
  const code = normalizeCode(input);
  if (!code) return null;
  const Issue = issueModel(conn);
  const certificate = await Issue.findOne({ code }).lean<IssueDoc>();
  if (!certificate) return null;
  const result: Verification = { state: certificateState(certificate, now), certificate };
  if (certificate.status === 'superseded') {
    let newest = certificate;
    for (let i = 0; i < MAX_CHAIN && newest.status === 'superseded' && newest.supersededBy; i++) {
      const next = await Issue.findById(newest.supersededBy).lean<IssueDoc>();
      if (!next) break;
      newest = next;
    }
    if (newest !== certificate) result.newest = { certificate: newest, state: certificateState(newest, now) };
  }
  return result;
}

export interface CertificateFilters {
  definitionId?: Id;
  userId?: string;
  status?: IssueStatus | IssueStatus[];
  /** At most this many, newest first (default 1000, at most 10,000). */
  limit?: number;
  skip?: number;
}

/** The course's certificates, newest first (the teacher's list of everything ever issued, R4). */
export async function listCourseCertificates(conn: Connection, courseId: Id, filters: CertificateFilters = {}): Promise<IssueDoc[]> {
  const filter: Record<string, unknown> = { courseId: toObjectId(courseId, 'course') };
  if (filters.definitionId !== undefined) filter.definitionId = toObjectId(filters.definitionId, 'certificate definition');
  if (filters.userId !== undefined) filter.userId = filters.userId;
  if (filters.status !== undefined) filter.status = Array.isArray(filters.status) ? { $in: filters.status } : filters.status;
  const limit = Math.max(1, Math.min(10_000, Math.floor(filters.limit ?? 1000)));
  return issueModel(conn)
    .find(filter)
    .sort({ issuedAt: -1, _id: -1 })
    .skip(Math.max(0, Math.floor(filters.skip ?? 0)))
    .limit(limit)
    .lean<IssueDoc[]>();
}

/** A learner's certificates in this course, every version, newest first (the learner page). */
export async function listLearnerCertificates(conn: Connection, courseId: Id, userId: string): Promise<IssueDoc[]> {
  return listCourseCertificates(conn, courseId, { userId });
}

/**
 * "My certifications" (R10): every certification and course certificate that concerns a learner
 * on one registration — internal certifications whose courses they are enrolled in, external ones
 * assigned to them or to everyone, and their course certificates (held, or pending in a course
 * they are enrolled in). Pending first; then by relevance or by publication date.
 */
import type { Connection, Types } from 'mongoose';
import { definitionModel } from '../certificates/definition.model';
import { issueModel, type IssueDoc } from '../certificates/issue.model';
import { courseModel } from '../courses/course.model';
import { memberModel } from '../grades/member.model';
import { awardModel, type AwardDoc } from './award.model';
import { awardState, completionsOf } from './award.service';
import { certificationModel, type CertificationDoc } from './certification.model';
import type { Tenant } from './certification.service';
import { evaluateProgramme, neededOf, renewalOpensAt } from './programme.evaluate';

export type EntryState = 'pending' | 'renewable' | 'earned' | 'expired';
export type MySort = 'relevance' | 'published';

export interface LeftCourse {
  courseId: string;
  title: string;
  /** The course's page in the LMS, when a launch told us (src/courses/course-link.ts). */
  href?: string;
}

export interface MyEntry {
  type: 'certification' | 'course-certificate';
  /** Certification id, or certificate definition id. */
  id: string;
  title: string;
  issuerName: string;
  certificationKind?: 'internal' | 'external';
  recurring: boolean;
  state: EntryState;
  publishedAt: Date;
  /** The award or certificate held (newest version), if any. */
  held?: { id: string; code: string; completedAt: Date; expiresAt: Date | null; version: number };
  /** Internal, not complete: how many mandatory courses are still needed, and which. */
  needed?: number;
  done?: number;
  left?: LeftCourse[];
  /** Course certificate in another course, or pending: that course. */
  course?: LeftCourse;
  /** External, not held: proofs' upload form (helper proofs). */
  needsProof?: boolean;
  /** External: the learner's latest proof, as proofs' provider says (registerProofStatus). */
  proof?: ProofStatus;
}

/** Where a learner's proof for an external certification stands (helper proofs supplies it). */
export interface ProofStatus {
  status: 'submitted' | 'rejected' | 'approved';
  /** The approver's reason, for a rejected proof. */
  reason?: string;
}

export type ProofStatusProvider = (conn: Connection, query: { issuer: string; clientId: string; userId: string; certificationIds: Types.ObjectId[] }) => Promise<Map<string, ProofStatus>>;
const proofProviders = new WeakMap<Connection, ProofStatusProvider>();

/** The seam for proofs: My certifications asks this for the learner's external certifications. Returns an undo (the previous provider back). */
export function registerProofStatus(conn: Connection, provider: ProofStatusProvider): () => void {
  const previous = proofProviders.get(conn);
  proofProviders.set(conn, provider);
  return () => {
    if (previous) proofProviders.set(conn, previous);
    else proofProviders.delete(conn);
  };
}

const STATE_RANK: Record<EntryState, number> = { pending: 0, renewable: 1, earned: 2, expired: 3 };

/** Pending first; then relevance (closest to done, soonest to expire) or publication date (newest first). */
export function sortEntries(entries: MyEntry[], sort: MySort): MyEntry[] {
  const pendingFirst = (e: MyEntry) => (e.state === 'pending' ? 0 : 1);
  return [...entries].sort((a, b) => {
    const p = pendingFirst(a) - pendingFirst(b);
    if (p !== 0) return p;
    if (sort === 'published') return b.publishedAt.getTime() - a.publishedAt.getTime() || a.title.localeCompare(b.title);
    const r = STATE_RANK[a.state] - STATE_RANK[b.state];
    if (r !== 0) return r;
    if (a.state === 'pending') {
      const leftA = (a.needed ?? 1) - (a.done ?? 0);
      const leftB = (b.needed ?? 1) - (b.done ?? 0);
      if (leftA !== leftB) return leftA - leftB;
    } else {
      const expA = a.held?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      const expB = b.held?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
      if (expA !== expB) return expA - expB;
    }
    return b.publishedAt.getTime() - a.publishedAt.getTime() || a.title.localeCompare(b.title);
  });
}

function stateOfAward(a: AwardDoc | undefined, now: Date): EntryState {
  if (!a || a.status !== 'active') return 'pending';
  const s = awardState(a, now);
  if (s === 'expired') return 'expired';
  const opens = renewalOpensAt(a.validity, a.expiresAt);
  return opens && opens.getTime() <= now.getTime() ? 'renewable' : 'earned';
}

export interface MyCertificationsInput {
  tenant: Tenant;
  userId: string;
  /** The course of the launch (the learner is in it, whether or not the roster was synced). */
  courseId: Types.ObjectId;
  now: Date;
  sort: MySort;
}

/** The list, sorted. */
export async function myCertifications(conn: Connection, input: MyCertificationsInput): Promise<MyEntry[]> {
  const { tenant, userId, now } = input;
  const tenantCourses = await courseModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId }, { title: 1, contextId: 1, lmsUrl: 1 }).lean();
  const courseById = new Map(tenantCourses.map((c) => [String(c._id), c]));
  const linkOf = (id: string): LeftCourse => {
    const c = courseById.get(id);
    return { courseId: id, title: c?.title ?? c?.contextId ?? '', ...(c?.lmsUrl ? { href: c.lmsUrl } : {}) };
  };
  const tenantCourseIds = tenantCourses.map((c) => c._id);
  const [memberships, issues, awards, certifications] = await Promise.all([
    memberModel(conn).find({ courseId: { $in: tenantCourseIds }, userId, status: { $ne: 'left' } }, { courseId: 1 }).lean(),
    issueModel(conn).find({ courseId: { $in: tenantCourseIds }, userId, status: { $in: ['active'] } }).lean<IssueDoc[]>(),
    awardModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId, userId }).sort({ version: -1 }).lean<AwardDoc[]>(),
    certificationModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId, archivedAt: null }).lean<CertificationDoc[]>(),
  ]);
  const enrolled = new Set<string>([String(input.courseId), ...memberships.map((m) => String(m.courseId)), ...issues.map((i) => String(i.courseId))]);
  const newestAward = new Map<string, AwardDoc>();
  for (const a of awards) if (!newestAward.has(String(a.certificationId))) newestAward.set(String(a.certificationId), a);

  const entries: MyEntry[] = [];
  for (const cert of certifications) {
    const award = newestAward.get(String(cert._id));
    const held = award && award.status === 'active' ? award : undefined;
    const base = {
      type: 'certification' as const,
      id: String(cert._id),
      title: cert.name,
      issuerName: cert.issuerName,
      certificationKind: cert.kind,
      recurring: cert.validity.kind === 'recurring',
      publishedAt: cert.publishedAt,
      ...(held ? { held: { id: String(held._id), code: held.code, completedAt: held.completedAt, expiresAt: held.expiresAt, version: held.version } } : {}),
    };
    if (cert.kind === 'external') {
      // proofs' part: who it is assigned to, and the upload form (src/certifications/external)
      if (!cert.assignment.everyone && !cert.assignment.userIds.includes(userId)) continue;
      entries.push({ ...base, state: stateOfAward(held, now), needsProof: !held });
      continue;
    }
    const programme = cert.programme;
    if (!programme || !programme.courses.some((c) => enrolled.has(String(c.courseId)))) continue;
    const state = stateOfAward(held, now);
    const entry: MyEntry = { ...base, state };
    if (state !== 'earned') {
      const facts = (await completionsOf(conn, cert, now, [userId])).get(userId);
      const since = held ? (renewalOpensAt(held.validity, held.expiresAt) ?? undefined) : undefined;
      const decision = evaluateProgramme(programme, facts?.completions ?? [], since);
      entry.needed = neededOf(programme);
      entry.done = decision.done;
      entry.left = decision.missing.map(linkOf);
    }
    entries.push(entry);
  }

  const externals = entries.filter((e) => e.certificationKind === 'external');
  const provider = proofProviders.get(conn);
  if (provider && externals.length > 0) {
    const statuses = await provider(conn, { ...tenant, userId, certificationIds: certifications.filter((c) => c.kind === 'external').map((c) => c._id) });
    for (const e of externals) {
      const proof = statuses.get(e.id);
      if (proof && (e.state === 'pending' || e.state === 'renewable' || e.state === 'expired')) e.proof = proof;
    }
  }

  // course certificates: held ones on this registration, pending ones in the courses they are enrolled in
  const definitions = await definitionModel(conn).find({ courseId: { $in: [...enrolled].map((id) => courseById.get(id)?._id).filter(Boolean) }, archivedAt: null }).lean();
  const heldByDefinition = new Map(issues.map((i) => [String(i.definitionId), i]));
  for (const d of definitions) {
    const issue = heldByDefinition.get(String(d._id));
    const expired = issue?.expiresAt ? issue.expiresAt.getTime() <= now.getTime() : false;
    entries.push({
      type: 'course-certificate',
      id: String(d._id),
      title: d.title,
      issuerName: d.issuerName,
      recurring: d.validity.kind === 'recurring',
      state: !issue ? 'pending' : expired ? 'expired' : 'earned',
      publishedAt: d.createdAt,
      course: linkOf(String(d.courseId)),
      ...(issue ? { held: { id: String(issue._id), code: issue.code, completedAt: issue.issuedAt, expiresAt: issue.expiresAt, version: issue.version } } : {}),
    });
  }
  return sortEntries(entries, input.sort);
}

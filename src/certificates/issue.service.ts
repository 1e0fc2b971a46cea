/**
 * Issuing, re-issuing, revoking and looking up certificates.
 *
 * Deciding and doing are separate: `evaluateEligibility` decides, this file only issues what was
 * decided, idempotently. Without multi-document transactions, every state change is one atomic
 * single-document operation, and "one active certificate per (definition, learner)" is a unique
 * index (issue.model.ts), so concurrent claims cannot both win.
 *
 * There is deliberately no learner-facing delete or cancel (R3): revoking is a teacher action
 * (`revokeCertificate`), and it keeps the record and an audit entry.
 */
import { Types, type Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import type { LoadedMember } from '../grades/course-grades.service';
import type { Actor } from './audit.model';
import { recordAudit, type AuditInput } from './audit.service';
import { LearnerNameUnknownError, NotEligibleError } from './certificate.errors';
import { generateCode, normalizeCode, type RandomBytes } from './codes';
import { learnerGrades, readCourseGrades } from './course-grades';
import type { DefinitionDoc } from './definition.model';
import { getDefinition } from './definition.service';
import { evaluateEligibility, evaluationFingerprint, type Evaluation } from './evaluate';
import { toObjectId, type Id } from './ids';
import { activeKeyOf, issueModel, type EvaluationSnapshot, type IssueDoc, type IssueStatus } from './issue.model';

/** A clock (`() => new Date()` in production), or a fixed moment. */
export type Clock = (() => Date) | Date;

export function readClock(now: Clock): Date {
  return typeof now === 'function' ? now() : now;
}

/** What the launch (or the roster) tells us about a learner. */
export interface LearnerInfo {
  userId: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
}

/** Tries to issue more than once only when a random code or a version number collides. */
const MAX_INSERT_ATTEMPTS = 8;
/** Longest superseded chain followed when verifying (a guard against a corrupt loop). */
const MAX_CHAIN = 100;
const MAX_REASON_LENGTH = 500;

/** The name printed on a certificate: the freshest source that has one. */
export function resolveLearnerName(...sources: Array<Partial<LearnerInfo> | LoadedMember | null | undefined>): string | undefined {
  for (const s of sources) {
    if (!s) continue;
    const full = s.name?.trim();
    if (full) return full;
    const parts = [s.givenName, s.familyName].map((p) => p?.trim()).filter(Boolean);
    if (parts.length > 0) return parts.join(' ');
  }
  return undefined;
}

/** The date a recurring certificate expires: issue date plus whole months, clamped to the month's end (31 Jan + 1 = 28/29 Feb). */
export function addMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

/** What a certificate's state is at `now`, for verification and the overview. */
export type CertificateState = 'active' | 'expired' | 'superseded' | 'revoked';

export function certificateState(c: Pick<IssueDoc, 'status' | 'expiresAt'>, now: Date): CertificateState {
  if (c.status === 'revoked') return 'revoked';
  if (c.status === 'superseded') return 'superseded';
  if (c.expiresAt && c.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** Stored evaluations are plain JSON (no undefined values: BSON would store them as null). */
function snapshotOf(e: Evaluation): EvaluationSnapshot {
  const { reasons: _reasons, ...rest } = e;
  return JSON.parse(JSON.stringify(rest)) as EvaluationSnapshot;
}

/** The index a duplicate-key error hit: 'activeKey', 'code', 'version', '_id', or null if it is not one. */
function duplicateKeyOf(e: unknown): string | null {
  const err = e as { code?: number; keyPattern?: Record<string, unknown> } | null;
  if (!err || err.code !== 11000) return null;
  const keys = Object.keys(err.keyPattern ?? {});
  for (const k of ['activeKey', 'code', 'version', '_id']) if (keys.includes(k)) return k;
  return 'unknown';
}

/** The course title printed on certificates (title, else label, else the LMS context id). */
export async function courseTitleOf(conn: Connection, courseId: Types.ObjectId): Promise<string> {
  const course = await courseModel(conn).findById(courseId, { title: 1, label: 1, contextId: 1 }).lean();
  if (!course) throw new NotFoundError('This course is not known to the tool.', { what: 'course' });
  return course.title?.trim() || course.label?.trim() || course.contextId;
}

type IssueDraft = Omit<IssueDoc, '_id' | 'code' | 'version' | 'status' | 'activeKey'>;

function draftIssue(args: {
  courseId: Types.ObjectId;
  definition: DefinitionDoc;
  userId: string;
  learnerName: string;
  learnerEmail?: string;
  courseTitle: string;
  evaluation: Evaluation;
  issuedAt: Date;
  issuedBy: Actor;
  supersedes?: Types.ObjectId;
}): IssueDraft {
  const d = args.definition;
  const draft: IssueDraft = {
    courseId: args.courseId,
    definitionId: d._id,
    definitionVersion: d.version,
    userId: args.userId,
    learnerName: args.learnerName,
    courseTitle: args.courseTitle,
    title: d.title,
    issuerName: d.issuerName,
    scorePercent: args.evaluation.scorePercent,
    evaluation: snapshotOf(args.evaluation),
    fingerprint: evaluationFingerprint(args.evaluation),
    template: JSON.parse(JSON.stringify(d.template)),
    validity: d.validity,
    issuedAt: args.issuedAt,
    expiresAt: d.validity.kind === 'recurring' ? addMonths(args.issuedAt, d.validity.validForMonths) : null,
    issuedBy: args.issuedBy,
  };
  if (args.learnerEmail) draft.learnerEmail = args.learnerEmail;
  if (args.supersedes) draft.supersedes = args.supersedes;
  return draft;
}

async function activeCertificate(conn: Connection, definitionId: Types.ObjectId, userId: string): Promise<IssueDoc | null> {
  return issueModel(conn).findOne({ definitionId, userId, status: 'active' }).lean<IssueDoc>();
}

async function nextVersion(conn: Connection, definitionId: Types.ObjectId, userId: string): Promise<number> {
  const latest = await issueModel(conn).findOne({ definitionId, userId }, { version: 1 }).sort({ version: -1 }).lean();
  return (latest?.version ?? 0) + 1;
}

/**
 * Inserts an active certificate. When another one became active first (double click, two tabs,
 * two servers), returns that one with `created: false`; code or version collisions are retried.
 */
async function insertActive(
  conn: Connection,
  draft: IssueDraft,
  random: RandomBytes,
  opts: { id?: Types.ObjectId; version?: number } = {},
): Promise<{ certificate: IssueDoc; created: boolean }> {
  const Issue = issueModel(conn);
  let version = opts.version;
  for (let attempt = 0; attempt < MAX_INSERT_ATTEMPTS; attempt++) {
    version ??= await nextVersion(conn, draft.definitionId, draft.userId);
    const doc: IssueDoc = {
      ...draft,
      _id: opts.id ?? new Types.ObjectId(),
      code: generateCode(random),
      version,
      status: 'active',
      activeKey: activeKeyOf(draft.definitionId, draft.userId),
    };
    try {
      await Issue.create(doc);
      return { certificate: doc, created: true };
    } catch (e) {
      const key = duplicateKeyOf(e);
      if (key === null) throw e;
      if (key === 'activeKey') {
        const winner = await activeCertificate(conn, draft.definitionId, draft.userId);
        if (winner) return { certificate: winner, created: false };
      }
      if (key === 'version' || key === 'activeKey' || key === 'unknown') version = undefined;
    }
  }
  throw new ConflictError('The certificate could not be issued because of concurrent changes. Please try again.');
}

function issuedAudit(c: IssueDoc, actor: Actor, details: Record<string, unknown> = {}): AuditInput {
  return {
    id: c._id,
    courseId: c.courseId,
    action: 'certificate_issued',
    actor,
    at: c.issuedAt,
    definitionId: c.definitionId,
    issueId: c._id,
    userId: c.userId,
    details: { code: c.code, version: c.version, definitionVersion: c.definitionVersion, scorePercent: c.scorePercent, learnerName: c.learnerName, ...details },
  };
}

export interface IssueIfEligibleOptions {
  courseId: Id;
  definition: DefinitionDoc;
  learner: LearnerInfo;
  issuedBy: Actor;
  now: Clock;
  random: RandomBytes;
  /** An evaluation already made from current grades (generate-all evaluates a course at once). */
  evaluation?: Evaluation;
  /** The learner's roster entry, if already loaded (name fallback). */
  member?: LoadedMember | null;
  courseTitle?: string;
}

export type IssueOutcome =
  | { outcome: 'issued'; certificate: IssueDoc; evaluation: Evaluation }
  | { outcome: 'already_issued'; certificate: IssueDoc; evaluation: Evaluation | null }
  | { outcome: 'not_eligible'; certificate: null; evaluation: Evaluation };

/**
 * Issues the learner's certificate when the stored grades qualify and none is active yet.
 * Idempotent: an active certificate is returned as `already_issued`, never duplicated.
 * Shared by the learner's claim and the teacher's "generate all".
 */
export async function issueIfEligible(conn: Connection, opts: IssueIfEligibleOptions): Promise<IssueOutcome> {
  const courseId = toObjectId(opts.courseId, 'course');
  const { definition, learner } = opts;
  if (!definition.courseId.equals(courseId)) throw new NotFoundError('This certificate does not exist in this course.', { what: 'certificate definition' });

  const existing = await activeCertificate(conn, definition._id, learner.userId);
  if (existing) return { outcome: 'already_issued', certificate: existing, evaluation: opts.evaluation ?? null };

  let evaluation = opts.evaluation;
  let member = opts.member;
  if (!evaluation) {
    const book = await readCourseGrades(conn, courseId, { userIds: [learner.userId] });
    evaluation = evaluateEligibility(definition, learnerGrades(book, learner.userId));
    member ??= book.membersByUser.get(learner.userId) ?? null;
  }
  if (!evaluation.eligible) return { outcome: 'not_eligible', certificate: null, evaluation };

  const learnerName = resolveLearnerName(learner, member);
  if (!learnerName) throw new LearnerNameUnknownError(learner.userId);
  const draft = draftIssue({
    courseId,
    definition,
    userId: learner.userId,
    learnerName,
    learnerEmail: learner.email ?? member?.email,
    courseTitle: opts.courseTitle ?? (await courseTitleOf(conn, courseId)),
    evaluation,
    issuedAt: readClock(opts.now),
    issuedBy: opts.issuedBy,
  });
  const { certificate, created } = await insertActive(conn, draft, opts.random);
  if (!created) return { outcome: 'already_issued', certificate, evaluation };
  await recordAudit(conn, issuedAudit(certificate, opts.issuedBy));
  return { outcome: 'issued', certificate, evaluation };
}

export interface BatchEntry {
  userId: string;
  learnerName: string;
  learnerEmail?: string;
  /** A current evaluation that found the learner eligible. */
  evaluation: Evaluation;
  /** 1 + the highest version this learner has under the definition (collisions are retried). */
  version: number;
}

/**
 * Issues many certificates of one definition at once (generate-all): one insert and one audit
 * write per batch instead of per learner. The same unique indexes guard it; an entry that hits
 * one (a concurrent claim, a code or version collision) goes through the one-by-one path, which
 * returns the concurrent winner or retries.
 */
export async function issueBatch(
  conn: Connection,
  opts: { courseId: Id; definition: DefinitionDoc; entries: BatchEntry[]; issuedBy: Actor; now: Clock; random: RandomBytes; courseTitle?: string },
): Promise<{ issued: IssueDoc[]; alreadyIssued: IssueDoc[]; notEligible: number }> {
  const courseId = toObjectId(opts.courseId, 'course');
  const { definition } = opts;
  if (!definition.courseId.equals(courseId)) throw new NotFoundError('This certificate does not exist in this course.', { what: 'certificate definition' });
  const out = { issued: [] as IssueDoc[], alreadyIssued: [] as IssueDoc[], notEligible: 0 };
  if (opts.entries.length === 0) return out;
  const courseTitle = opts.courseTitle ?? (await courseTitleOf(conn, courseId));
  const issuedAt = readClock(opts.now);
  const docs: IssueDoc[] = opts.entries.map((e) => ({
    ...draftIssue({ courseId, definition, userId: e.userId, learnerName: e.learnerName, learnerEmail: e.learnerEmail, courseTitle, evaluation: e.evaluation, issuedAt, issuedBy: opts.issuedBy }),
    _id: new Types.ObjectId(),
    code: generateCode(opts.random),
    version: e.version,
    status: 'active',
    activeKey: activeKeyOf(definition._id, e.userId),
  }));
  // The driver directly: these documents are complete and typed, and mongoose's per-document
  // casting would cost more than the insert itself at 5,000 certificates.
  const failed = new Set<number>();
  try {
    await issueModel(conn).collection.insertMany(docs, { ordered: false });
  } catch (e) {
    const writeErrors = ([] as Array<{ index: number; code?: number }>).concat((e as { writeErrors?: [] }).writeErrors ?? []);
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw e;
    for (const w of writeErrors) failed.add(w.index);
  }
  const inserted = docs.filter((_, i) => !failed.has(i));
  out.issued.push(...inserted);
  await recordAudit(conn, inserted.map((c) => issuedAudit(c, opts.issuedBy)));
  for (const i of failed) {
    const e = opts.entries[i]!;
    const r = await issueIfEligible(conn, {
      courseId,
      definition,
      learner: { userId: e.userId, name: e.learnerName, email: e.learnerEmail },
      issuedBy: opts.issuedBy,
      now: issuedAt,
      random: opts.random,
      evaluation: e.evaluation,
      courseTitle,
    });
    if (r.outcome === 'issued') out.issued.push(r.certificate);
    else if (r.outcome === 'already_issued') out.alreadyIssued.push(r.certificate);
    else out.notEligible++;
  }
  return out;
}

export interface ClaimOptions {
  courseId: Id;
  definitionId: Id;
  /** The learner from the launch (their identity, and their name as the LMS sends it now). */
  learner: LearnerInfo;
  now: Clock;
  random: RandomBytes;
}

/**
 * The learner's "Get your certificate" (R1): evaluates their stored grades and issues the
 * certificate, or returns the one they already have. An expired certificate (recurring, R9) is
 * renewed: a new version supersedes it, if the learner qualifies today. Throws NotEligibleError
 * (with the reasons) when they do not qualify, NotFoundError for a definition of another course
 * or an archived one.
 */
export async function claimCertificate(
  conn: Connection,
  opts: ClaimOptions,
): Promise<{ certificate: IssueDoc; created: boolean; evaluation: Evaluation | null }> {
  const definition = await getDefinition(conn, opts.courseId, opts.definitionId);
  const actor: Actor = { kind: 'learner', userId: opts.learner.userId, name: resolveLearnerName(opts.learner) };
  const existing = await activeCertificate(conn, definition._id, opts.learner.userId);
  if (existing && certificateState(existing, readClock(opts.now)) === 'expired') {
    try {
      const renewed = await reissueCertificate(conn, { courseId: opts.courseId, issueId: existing._id, by: actor, now: opts.now, random: opts.random, definition });
      return { certificate: renewed.certificate, created: true, evaluation: null };
    } catch (e) {
      // a second click renewed it first: that renewal (being inserted right now) is the answer
      if (!(e instanceof ConflictError)) throw e;
      for (let attempt = 0; attempt < 40; attempt++) {
        const winner = await activeCertificate(conn, definition._id, opts.learner.userId);
        if (winner) return { certificate: winner, created: false, evaluation: null };
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw e;
    }
  }
  const result = await issueIfEligible(conn, {
    courseId: opts.courseId,
    definition,
    learner: opts.learner,
    issuedBy: actor,
    now: opts.now,
    random: opts.random,
  });
  if (result.outcome === 'not_eligible') throw new NotEligibleError(result.evaluation.reasons, result.evaluation.scorePercent);
  return { certificate: result.certificate, created: result.outcome === 'issued', evaluation: result.evaluation };
}

/** One certificate of this course (any status). Another course's certificate is a NotFoundError. */
export async function getCertificate(conn: Connection, courseId: Id, issueId: Id): Promise<IssueDoc> {
  const c = await issueModel(conn)
    .findOne({ _id: toObjectId(issueId, 'certificate'), courseId: toObjectId(courseId, 'course') })
    .lean<IssueDoc>();
  if (!c) throw new NotFoundError('This certificate does not exist in this course.', { what: 'certificate' });
  return c;
}

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
    throw new ConflictError(`Only a valid certificate can be re-issued; this one is ${previous.status}.`, { status: previous.status });
  }
  const definition = opts.definition ?? (await getDefinition(conn, courseId, previous.definitionId));
  let evaluation = opts.evaluation;
  let member = opts.member;
  if (!evaluation) {
    const book = await readCourseGrades(conn, courseId, { userIds: [previous.userId] });
    evaluation = evaluateEligibility(definition, learnerGrades(book, previous.userId));
    member ??= book.membersByUser.get(previous.userId) ?? null;
  }
  if (!evaluation.eligible) throw new NotEligibleError(evaluation.reasons, evaluation.scorePercent);

  const at = readClock(opts.now);
  const draft = draftIssue({
    courseId,
    definition,
    userId: previous.userId,
    // the roster's current name: a re-issue also fixes a name changed since
    learnerName: resolveLearnerName(member) ?? previous.learnerName,
    learnerEmail: member?.email ?? previous.learnerEmail,
    courseTitle: opts.courseTitle ?? (await courseTitleOf(conn, courseId)),
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
  if (!retired) throw new ConflictError('This certificate was changed in the meantime. Reload the page.', { issueId: String(previous._id) });

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
    },
  });
  return { certificate, previous: retired };
}

function checkReason(reason: string | undefined): string {
  const r = (reason ?? '').trim();
  if (!r) throw new ValidationError('Say why the certificate is deleted (it is kept in the audit log).', { field: 'reason' });
  if (r.length > MAX_REASON_LENGTH) throw new ValidationError(`The reason must be at most ${MAX_REASON_LENGTH} characters.`, { field: 'reason' });
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
  const at = readClock(opts.now);
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
  const at = readClock(opts.now);
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
  return { revoked: revoked.length };
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

/** Records the stored PDF of a certificate, once (the renderer calls this after storing it). */
export async function attachPdf(conn: Connection, opts: { courseId: Id; issueId: Id; pdfFileId: string }): Promise<IssueDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const updated = await issueModel(conn)
    .findOneAndUpdate({ _id: toObjectId(opts.issueId, 'certificate'), courseId, pdfFileId: { $exists: false } }, { $set: { pdfFileId: opts.pdfFileId } }, { new: true })
    .lean<IssueDoc>();
  return updated ?? getCertificate(conn, courseId, opts.issueId);
}

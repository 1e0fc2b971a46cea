/**
 * The writing steps issuing and re-issuing share: the stored grades' evaluation when none was
 * given, the certificate drawn from a definition, the insert guarded by unique indexes (retried on
 * a code or version collision), and the audit entry of an issue.
 */
import { Types, type Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { ConflictError } from '../errors';
import type { LoadedMember } from '../grades/course-grades.service';
import { describeMissing, glyphProblems } from '../render/glyph-check';
import type { RandomBytes } from '../runtime';
import type { Actor } from './audit.model';
import type { AuditInput } from './audit.service';
import { addMonths } from './certificate-state';
import { generateCode } from './codes';
import { learnerGrades, readCourseGrades } from './course-grades';
import type { DefinitionDoc } from './definition.model';
import { evaluateEligibility, evaluationFingerprint, type Evaluation } from './evaluate';
import { activeKeyOf, issueModel, type EvaluationSnapshot, type IssueDoc } from './issue.model';
import { inEnglish } from '../i18n/english';
import { notFoundError } from './ids';

/** Tries to issue more than once only when a random code or a version number collides. */
const MAX_INSERT_ATTEMPTS = 8;

/**
 * The learner's evaluation on the stored grades, unless the caller already made one (generate
 * all and bulk re-issue evaluate a whole course at once); the roster entry comes with it.
 */
export async function evaluationOf(
  conn: Connection,
  args: { courseId: Types.ObjectId; definition: DefinitionDoc; userId: string; evaluation?: Evaluation; member?: LoadedMember | null },
): Promise<{ evaluation: Evaluation; member: LoadedMember | null | undefined }> {
  if (args.evaluation) return { evaluation: args.evaluation, member: args.member };
  const book = await readCourseGrades(conn, args.courseId, { userIds: [args.userId] });
  return {
    evaluation: evaluateEligibility(args.definition, learnerGrades(book, args.userId)),
    member: args.member ?? book.membersByUser.get(args.userId) ?? null,
  };
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
export async function printedCourseTitle(conn: Connection, courseId: Types.ObjectId): Promise<string> {
  const course = await courseModel(conn).findById(courseId, { title: 1, label: 1, contextId: 1 }).lean();
  if (!course) throw notFoundError('course');
  return course.title?.trim() || course.label?.trim() || course.contextId;
}

export type IssueDraft = Omit<IssueDoc, '_id' | 'code' | 'version' | 'status' | 'activeKey'>;

export function draftIssue(args: {
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
    // a later switch of the definition to public never exposes what was issued while private (#14)
    publicAtIssue: d.public === true,
  };
  if (args.learnerEmail) draft.learnerEmail = args.learnerEmail;
  if (args.supersedes) draft.supersedes = args.supersedes;
  return draft;
}

export async function activeCertificate(conn: Connection, definitionId: Types.ObjectId, userId: string): Promise<IssueDoc | null> {
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
export async function insertActive(
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
  const ref = { key: 'certificates.error.issueConflict' };
  throw new ConflictError(inEnglish(ref), undefined, ref);
}

/**
 * `{ missingGlyphs }` for the audit entry of an issued certificate with characters no font of its
 * design has (they print as boxes): it still issues, and the teacher reads which in the audit log
 * and on the certificate's page. `{}` when everything prints.
 */
export function glyphAuditDetails(c: Pick<IssueDoc, 'title' | 'learnerName' | 'courseTitle' | 'issuerName' | 'template'>): { missingGlyphs?: string } {
  const problems = glyphProblems({
    design: c.template.design,
    title: c.title,
    learnerName: c.learnerName,
    courseTitle: c.courseTitle,
    issuerName: c.issuerName,
    bodyText: c.template.bodyText,
    signatoryName: c.template.signatoryName,
  });
  if (problems.length === 0) return {};
  const seen = new Set<string>();
  const missing = problems.flatMap((p) => p.missing).filter((m) => !seen.has(m.codePoint) && seen.add(m.codePoint));
  return { missingGlyphs: describeMissing(missing) };
}

export function issuedAudit(c: IssueDoc, actor: Actor, details: Record<string, unknown> = {}): AuditInput {
  return {
    id: c._id,
    courseId: c.courseId,
    action: 'certificate_issued',
    actor,
    at: c.issuedAt,
    definitionId: c.definitionId,
    issueId: c._id,
    userId: c.userId,
    details: { code: c.code, version: c.version, definitionVersion: c.definitionVersion, scorePercent: c.scorePercent, learnerName: c.learnerName, ...glyphAuditDetails(c), ...details },
  };
}

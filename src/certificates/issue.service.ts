/**
 * Issuing certificates: the learner's claim, one learner, and a batch (generate all).
 * Re-issuing, revoking and looking up live beside this file (reissue.service.ts,
 * revoke.service.ts, certificate.queries.ts), sharing issue-writes.ts.
 *
 * Deciding and doing are separate: `evaluateEligibility` decides, this file only issues what was
 * decided, idempotently. Without multi-document transactions, every state change is one atomic
 * single-document operation, and "one active certificate per (definition, learner)" is a unique
 * index (issue.model.ts), so concurrent claims cannot both win.
 *
 * There is deliberately no learner-facing delete or cancel (R3): revoking is a teacher action
 * (`revokeCertificate`, revoke.service.ts), and it keeps the record and an audit entry.
 */
import { Types, type Connection } from 'mongoose';
import { ConflictError } from '../errors';
import type { LoadedMember } from '../grades/course-grades.service';
import type { Clock, RandomBytes } from '../runtime';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { emitIssueEvent } from './issue-events';
import { LearnerNameUnknownError, NotEligibleError } from './certificate.errors';
import { getCertificate } from './certificate.queries';
import { certificateState, resolveLearnerName, type LearnerInfo } from './certificate-state';
import { generateCode } from './codes';
import type { DefinitionDoc } from './definition.model';
import { getDefinition } from './definition.service';
import type { Evaluation } from './evaluate';
import { notFoundError, toObjectId, type Id } from './ids';
import { activeKeyOf, issueModel, type IssueDoc } from './issue.model';
import { activeCertificate, draftIssue, evaluationOf, insertActive, issuedAudit, printedCourseTitle } from './issue-writes';
import { reissueCertificate } from './reissue.service';
import { notifyCertificatesIssued } from '../mail/certificate-mail';

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
  if (!definition.courseId.equals(courseId)) throw notFoundError('certificate definition');

  const existing = await activeCertificate(conn, definition._id, learner.userId);
  if (existing) return { outcome: 'already_issued', certificate: existing, evaluation: opts.evaluation ?? null };

  const { evaluation, member } = await evaluationOf(conn, { courseId, definition, userId: learner.userId, evaluation: opts.evaluation, member: opts.member });
  if (!evaluation.eligible) return { outcome: 'not_eligible', certificate: null, evaluation };

  const learnerName = resolveLearnerName(learner, member);
  if (!learnerName) throw new LearnerNameUnknownError(learner.userId);
  const draft = draftIssue({
    courseId,
    definition,
    userId: learner.userId,
    learnerName,
    learnerEmail: learner.email ?? member?.email,
    courseTitle: opts.courseTitle ?? (await printedCourseTitle(conn, courseId)),
    evaluation,
    issuedAt: opts.now(),
    issuedBy: opts.issuedBy,
  });
  const { certificate, created } = await insertActive(conn, draft, opts.random);
  if (!created) return { outcome: 'already_issued', certificate, evaluation };
  await recordAudit(conn, issuedAudit(certificate, opts.issuedBy));
  await notifyCertificatesIssued(conn, definition, [certificate], opts.now());
  await emitIssueEvent(conn, { type: 'issued', certificates: [certificate] });
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
  if (!definition.courseId.equals(courseId)) throw notFoundError('certificate definition');
  const out = { issued: [] as IssueDoc[], alreadyIssued: [] as IssueDoc[], notEligible: 0 };
  if (opts.entries.length === 0) return out;
  const courseTitle = opts.courseTitle ?? (await printedCourseTitle(conn, courseId));
  const issuedAt = opts.now();
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
  await notifyCertificatesIssued(conn, definition, inserted, issuedAt);
  await emitIssueEvent(conn, { type: 'issued', certificates: inserted });
  for (const i of failed) {
    const e = opts.entries[i]!;
    const r = await issueIfEligible(conn, {
      courseId,
      definition,
      learner: { userId: e.userId, name: e.learnerName, email: e.learnerEmail },
      issuedBy: opts.issuedBy,
      now: () => issuedAt,
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
  if (existing && certificateState(existing, opts.now()) === 'expired') {
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

/** Records the stored PDF of a certificate, once (the renderer calls this after storing it). */
export async function attachPdf(conn: Connection, opts: { courseId: Id; issueId: Id; pdfFileId: string }): Promise<IssueDoc> {
  const courseId = toObjectId(opts.courseId, 'course');
  const updated = await issueModel(conn)
    .findOneAndUpdate({ _id: toObjectId(opts.issueId, 'certificate'), courseId, pdfFileId: { $exists: false } }, { $set: { pdfFileId: opts.pdfFileId } }, { new: true })
    .lean<IssueDoc>();
  return updated ?? getCertificate(conn, courseId, opts.issueId);
}

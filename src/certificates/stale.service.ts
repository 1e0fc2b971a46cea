/**
 * Stale certificates (R5, Chamilo's "temporary score" problem): a certificate recorded 85%, the
 * grades now say 95%. Nothing is overwritten: the teacher sees the difference and re-issues
 * (a new version supersedes the old), or the course's `autoReissue` setting does it after a sync.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { AppError } from '../errors';
import type { Actor } from './audit.model';
import { readCourseGrades, type CourseGradeBook } from './course-grades';
import type { DefinitionDoc } from './definition.model';
import { listDefinitions } from './definition.service';
import type { Evaluation, SnapshotComparison } from './evaluate';
import { notFoundError, toObjectId, type Id } from './ids';
import type { IssueDoc } from './issue.model';
import type { Clock, RandomBytes } from '../runtime';
import { printedCourseTitle } from './issue-writes';
import { reissueCertificate } from './reissue.service';
import { evaluateCourse, type OverviewCertificate } from './overview.service';

export interface StaleCertificate {
  definition: DefinitionDoc;
  certificate: OverviewCertificate;
  learnerName: string | null;
  evaluation: Evaluation;
  comparison: SnapshotComparison;
  /** The definition changed since the certificate was issued. */
  definitionChanged: boolean;
}

/**
 * Every valid certificate of the course (or of one definition) whose score or per-item breakdown
 * differs from what the grades and the current definition give now, with whether the learner
 * still qualifies. Expired certificates and archived definitions are left out.
 */
export async function findStaleCertificates(
  conn: Connection,
  courseId: Id,
  now: Date,
  opts: { definitionId?: Id; userIds?: string[] } = {},
): Promise<StaleCertificate[]> {
  return (await collectStale(conn, courseId, now, opts)).stale;
}

async function collectStale(
  conn: Connection,
  courseId: Id,
  now: Date,
  opts: { definitionId?: Id; userIds?: string[] },
): Promise<{ stale: StaleCertificate[]; book: CourseGradeBook | null }> {
  const cid = toObjectId(courseId, 'course');
  let definitions = await listDefinitions(conn, cid);
  if (opts.definitionId !== undefined) {
    const wanted = toObjectId(opts.definitionId, 'certificate definition');
    definitions = definitions.filter((d) => d._id.equals(wanted));
    if (definitions.length === 0) throw notFoundError('certificate definition');
  }
  if (definitions.length === 0) return { stale: [], book: null };
  const book = await readCourseGrades(conn, cid, opts.userIds ? { userIds: opts.userIds } : {});
  const userIds = opts.userIds ? new Set(opts.userIds) : undefined;
  const out: StaleCertificate[] = [];
  for (const definition of definitions) {
    const { rows } = await evaluateCourse(conn, cid, definition, now, { book, userIds });
    for (const row of rows) {
      if (row.status !== 'stale' || !row.certificate || !row.comparison) continue;
      out.push({
        definition,
        certificate: row.certificate,
        learnerName: row.name,
        evaluation: row.evaluation,
        comparison: row.comparison,
        definitionChanged: row.certificate.definitionVersion !== definition.version,
      });
    }
  }
  return { stale: out, book };
}

export interface ReissueStaleResult {
  reissued: Array<{ previous: IssueDoc; certificate: IssueDoc }>;
  /** Stale, but the learner no longer qualifies: left as they are for the teacher to decide. */
  notEligible: StaleCertificate[];
  /** Changed by someone else in the meantime (re-run to pick them up). */
  skipped: Array<{ issueId: string; code: string }>;
}

/**
 * Re-issues the stale certificates of a course (all, or some learners' / one definition's)
 * whose learners still qualify. Each re-issue is its own atomic step; running it again after an
 * interruption continues where it stopped.
 */
export async function reissueStale(
  conn: Connection,
  opts: { courseId: Id; by: Actor; now: Clock; random: RandomBytes; userIds?: string[]; definitionId?: Id; signal?: AbortSignal },
): Promise<ReissueStaleResult> {
  const cid = toObjectId(opts.courseId, 'course');
  const { stale, book } = await collectStale(conn, cid, opts.now(), { definitionId: opts.definitionId, userIds: opts.userIds });
  const result: ReissueStaleResult = { reissued: [], notEligible: [], skipped: [] };
  if (stale.length === 0 || !book) return result;
  const courseTitle = await printedCourseTitle(conn, cid);
  for (const s of stale) {
    if (opts.signal?.aborted) break;
    if (!s.comparison.stillEligible) {
      result.notEligible.push(s);
      continue;
    }
    try {
      const done = await reissueCertificate(conn, {
        courseId: cid,
        issueId: s.certificate._id,
        by: opts.by,
        now: opts.now,
        random: opts.random,
        definition: s.definition,
        evaluation: s.evaluation,
        member: book.membersByUser.get(s.certificate.userId) ?? null,
        courseTitle,
      });
      result.reissued.push(done);
    } catch (e) {
      // a concurrent revoke/re-issue, or grades that changed again: leave this one for the next run
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      result.skipped.push({ issueId: String(s.certificate._id), code: s.certificate.code });
    }
  }
  return result;
}

/** The tool itself, as the actor of automatic re-issues. */
export const AUTO_REISSUE_ACTOR: Actor = { kind: 'system', name: 'Automatic re-issue after grade sync' };

/**
 * Call after every grade sync of a course. With the course setting `autoReissue` on, stale
 * certificates of learners who still qualify are re-issued (audited as done by the system);
 * with it off, nothing changes and the count of stale certificates is returned for the page.
 */
export async function runAfterSync(
  conn: Connection,
  opts: { courseId: Id; now: Clock; random: RandomBytes; signal?: AbortSignal },
): Promise<{ autoReissue: boolean; stale: number; reissued: number; notEligible: number; skipped: number }> {
  const cid = toObjectId(opts.courseId, 'course');
  const course = await courseModel(conn).findById(cid, { settings: 1 }).lean();
  if (!course) throw notFoundError('course');
  if (!course.settings?.autoReissue) {
    const stale = await findStaleCertificates(conn, cid, opts.now());
    return { autoReissue: false, stale: stale.length, reissued: 0, notEligible: stale.filter((s) => !s.comparison.stillEligible).length, skipped: 0 };
  }
  const r = await reissueStale(conn, { courseId: cid, by: AUTO_REISSUE_ACTOR, now: opts.now, random: opts.random, signal: opts.signal });
  return {
    autoReissue: true,
    stale: r.reissued.length + r.notEligible.length + r.skipped.length,
    reissued: r.reissued.length,
    notEligible: r.notEligible.length,
    skipped: r.skipped.length,
  };
}

/**
 * What a set of proposed grade changes would do to the course's certificates, before anything is
 * written: who becomes eligible, whose valid certificate turns stale (and would be re-issued
 * automatically), who stops qualifying. Evaluates every certificate definition twice — on the
 * grades as stored and on the same grades with the proposal laid over them in memory — with the
 * same `evaluateCourse` as the overview, generate-all and stale detection, so the preview and what
 * happens after the apply agree.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { readCourseGrades, type CourseGradeBook } from './course-grades';
import { listDefinitions } from './definition.service';
import type { GradeResult } from './evaluate';
import { toObjectId, type Id } from './ids';
import { evaluateCourse, type OverviewRow } from './overview.service';

/** Grades about to be written: existing line items by id, new ones by any id not in the course. */
export interface ProposedGradeChanges {
  newLineItems: ReadonlyArray<{ id: string; label: string; scoreMaximum: number }>;
  results: ReadonlyArray<{ userId: string; lineItemId: string; scoreGiven: number; scoreMaximum: number }>;
}

export interface ImpactLearner {
  userId: string;
  name: string | null;
  /** Score before and after, in percent (exact; round down for display). */
  before: number;
  after: number;
}

export interface DefinitionImpact {
  definitionId: string;
  title: string;
  /** Not eligible now, eligible after, and holding no valid certificate. */
  becomeEligible: ImpactLearner[];
  /** A valid certificate now, stale after (score or per-item breakdown changes). */
  turnStale: Array<ImpactLearner & { code: string; stillEligible: boolean }>;
  /** Eligible now, not after. */
  loseEligibility: ImpactLearner[];
}

export interface CertificateImpact {
  /** The course re-issues stale certificates automatically after a sync or import. */
  autoReissue: boolean;
  definitions: DefinitionImpact[];
  counts: { becomeEligible: number; turnStale: number; reissued: number; loseEligibility: number };
}

/** The stored grade book with the proposal laid over it (a copy; the input is not changed). */
function overlay(book: CourseGradeBook, proposal: ProposedGradeChanges): CourseGradeBook {
  const known = new Set(book.lineItems.map((li) => li.id));
  const lineItems = [...book.lineItems, ...proposal.newLineItems.filter((n) => !known.has(n.id)).map((n) => ({ id: n.id, label: n.label, scoreMaximum: n.scoreMaximum, removedAt: null }))];
  const resultsByUser = new Map(book.resultsByUser);
  const copied = new Set<string>();
  for (const r of proposal.results) {
    if (!copied.has(r.userId)) {
      resultsByUser.set(r.userId, new Map(book.resultsByUser.get(r.userId) ?? []));
      copied.add(r.userId);
    }
    (resultsByUser.get(r.userId) as Map<string, GradeResult>).set(r.lineItemId, { scoreGiven: r.scoreGiven, scoreMaximum: r.scoreMaximum });
  }
  return { lineItems, membersByUser: book.membersByUser, resultsByUser };
}

const learner = (b: OverviewRow, a: OverviewRow): ImpactLearner => ({ userId: a.userId, name: a.name ?? b.name, before: b.scorePercent, after: a.scorePercent });

/**
 * Compares every active definition of the course before and after `proposal`. Only learners whose
 * grades change are evaluated, unless the proposal adds columns (a definition counting "all
 * activities" then changes for everyone).
 */
export async function previewCertificateImpact(conn: Connection, courseId: Id, proposal: ProposedGradeChanges, now: Date): Promise<CertificateImpact> {
  const cid = toObjectId(courseId, 'course');
  const [definitions, course] = await Promise.all([listDefinitions(conn, cid), courseModel(conn).findById(cid, { settings: 1 }).lean()]);
  const autoReissue = Boolean(course?.settings?.autoReissue);
  const impact: CertificateImpact = { autoReissue, definitions: [], counts: { becomeEligible: 0, turnStale: 0, reissued: 0, loseEligibility: 0 } };
  if (definitions.length === 0 || (proposal.results.length === 0 && proposal.newLineItems.length === 0)) return impact;

  const everyone = proposal.newLineItems.length > 0;
  const userIds = everyone ? undefined : [...new Set(proposal.results.map((r) => r.userId))];
  const book = await readCourseGrades(conn, cid, userIds ? { userIds } : {});
  const changed = overlay(book, proposal);
  const only = userIds ? new Set(userIds) : undefined;
  for (const definition of definitions) {
    const [before, after] = await Promise.all([
      evaluateCourse(conn, cid, definition, now, { book, userIds: only }),
      evaluateCourse(conn, cid, definition, now, { book: changed, userIds: only }),
    ]);
    const beforeByUser = new Map(before.rows.map((r) => [r.userId, r]));
    const d: DefinitionImpact = { definitionId: String(definition._id), title: definition.title, becomeEligible: [], turnStale: [], loseEligibility: [] };
    for (const a of after.rows) {
      const b = beforeByUser.get(a.userId);
      if (!b) continue;
      if (!b.eligible && a.eligible && a.status !== 'active' && a.status !== 'stale') d.becomeEligible.push(learner(b, a));
      if (b.status === 'active' && a.status === 'stale' && a.certificate) {
        d.turnStale.push({ ...learner(b, a), code: a.certificate.code, stillEligible: a.eligible });
      }
      if (b.eligible && !a.eligible) d.loseEligibility.push(learner(b, a));
    }
    if (d.becomeEligible.length || d.turnStale.length || d.loseEligibility.length) impact.definitions.push(d);
    impact.counts.becomeEligible += d.becomeEligible.length;
    impact.counts.turnStale += d.turnStale.length;
    impact.counts.reissued += autoReissue ? d.turnStale.filter((s) => s.stillEligible).length : 0;
    impact.counts.loseEligibility += d.loseEligibility.length;
  }
  return impact;
}

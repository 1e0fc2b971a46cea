/**
 * The one place where certificates read imported grades (through the grades module's
 * `loadCourseGrades`), shaped for `evaluateEligibility`: one pass per collection for a whole
 * course, so the teacher overview of 5,000 learners costs three reads, not 5,000.
 */
import type { Connection, Types } from 'mongoose';
import { loadCourseColumns, loadCourseGrades, type LearnerSnapshot, type LoadedMember } from '../grades/course-grades.service';

export type { LearnerSnapshot };
import { lineItemModel, type LineItem } from '../grades/line-item.model';
import { memberModel } from '../grades/member.model';
import { resolveLearnerName } from './certificate-state';
import { GRADE_SOURCE_LABELS } from '../grades/sources/grade-source';
import { columnLabelRef } from '../grades/column-label';
import type { MessageRef } from '../errors';
import type { GradeLineItem, GradeResult, LearnerGrades } from './evaluate';

export interface CourseGradeBook {
  /** The course's current line items (removed ones are absent: a selection naming one shows it as missing). */
  lineItems: GradeLineItem[];
  membersByUser: Map<string, LoadedMember>;
  /** userId -> lineItemId -> result. */
  resultsByUser: Map<string, ReadonlyMap<string, GradeResult>>;
}

/** Reads a course's grades, optionally for some learners only. */
export async function readCourseGrades(conn: Connection, courseId: Types.ObjectId, opts: { userIds?: string[]; snapshot?: LearnerSnapshot } = {}): Promise<CourseGradeBook> {
  const grades = await loadCourseGrades(conn, courseId, opts);
  return {
    // keyed once here rather than String(_id) per learner and item in the evaluation loop
    lineItems: grades.lineItems.map((li) => ({
      id: String(li._id),
      label: li.label,
      scoreMaximum: li.scoreMaximum,
      removedAt: li.removedAt ?? null,
      source: li.source,
      sourceLabel: GRADE_SOURCE_LABELS[li.source],
      ...withLabelRef(li),
      ...(li.excluded ? { excluded: li.excluded } : {}),
      // "groups" counts the LMS's category columns by the LMS's weight (Canvas assignment groups).
      ...(li.kind ? { kind: li.kind } : {}),
      ...(typeof li.weight === 'number' ? { weight: li.weight } : {}),
    })),
    membersByUser: grades.membersByUser,
    resultsByUser: grades.resultsByUser,
  };
}

/** A column the tool labelled itself (Canvas's scores, Moodle's completion…) is shown in the viewer's language. */
function withLabelRef(li: Pick<LineItem, 'source' | 'label' | 'externalId' | 'tag' | 'kind'>): { labelRef?: MessageRef } {
  const labelRef = columnLabelRef(li);
  return labelRef ? { labelRef } : {};
}

const NO_RESULTS: ReadonlyMap<string, GradeResult> = new Map();

/** One learner's view of the grade book, ready for `evaluateEligibility`. */
export function learnerGrades(book: CourseGradeBook, userId: string): LearnerGrades {
  return { lineItems: book.lineItems, results: book.resultsByUser.get(userId) ?? NO_RESULTS };
}

/** Ids of the course's current activities ("all" counts these when a definition is made or confirmed). */
export async function currentActivityIds(conn: Connection, courseId: Types.ObjectId): Promise<string[]> {
  const columns = await loadCourseColumns(conn, courseId);
  return columns.filter((c) => c.excluded === undefined).map((c) => String(c._id));
}

/** Ids of the course's current (not removed) line items, for validating a definition. */
export async function currentLineItemIds(conn: Connection, courseId: Types.ObjectId): Promise<Set<string>> {
  const items = await lineItemModel(conn).find({ courseId, removedAt: null }, { _id: 1 }).lean();
  return new Set(items.map((i) => String(i._id)));
}

/** A course activity as the definition form lists it, with where its grades come from. */
export interface CurrentLineItem {
  id: string;
  label: string;
  scoreMaximum: number;
  source: LineItem['source'];
  sourceLabel: string;
  /** Set when the tool wrote the label (in English): the page shows this message instead. */
  labelRef?: MessageRef;
  /** A category or course total of the LMS (Canvas's current/final score, an assignment group): listed, never ticked by default. */
  total?: true;
  kind?: LineItem['kind'];
}

/**
 * The course's activities, as a definition can count them: the tool's launcher, copies of
 * another source's column and totals never count.
 */
export async function currentLineItems(conn: Connection, courseId: Types.ObjectId): Promise<CurrentLineItem[]> {
  const items = (await loadCourseColumns(conn, courseId)).filter((li) => li.excluded === undefined || li.excluded === 'total');
  return items.map((li) => ({
    id: String(li._id),
    label: li.label,
    scoreMaximum: li.scoreMaximum,
    source: li.source,
    sourceLabel: GRADE_SOURCE_LABELS[li.source],
    ...withLabelRef(li),
    ...(li.excluded === 'total' ? { total: true as const } : {}),
    ...(li.kind ? { kind: li.kind } : {}),
  }));
}

/** The learner's name as the course roster has it; null when they are not on it or it names nobody. */
export async function rosterName(conn: Connection, courseId: Types.ObjectId, userId: string): Promise<string | null> {
  const member = await memberModel(conn).findOne({ courseId, userId }).lean();
  return (member && resolveLearnerName(member)) || null;
}

/** The course's learners still on the roster (at most `limit`), with their names: a "show as" list. */
export async function rosterLearners(conn: Connection, courseId: Types.ObjectId, limit: number): Promise<Array<{ userId: string; name?: string; givenName?: string; familyName?: string }>> {
  return memberModel(conn)
    .find({ courseId, isLearner: true, status: { $ne: 'left' } }, { userId: 1, name: 1, givenName: 1, familyName: 1 })
    .limit(limit)
    .lean();
}

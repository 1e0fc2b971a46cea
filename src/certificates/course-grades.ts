/**
 * The one place where certificates read imported grades (through the grades module's
 * `loadCourseGrades`), shaped for `evaluateEligibility`: one pass per collection for a whole
 * course, so the teacher overview of 5,000 learners costs three reads, not 5,000.
 */
import type { Connection, Types } from 'mongoose';
import { loadCourseColumns, loadCourseGrades, type LoadedMember } from '../grades/course-grades.service';
import { lineItemModel } from '../grades/line-item.model';
import { GRADE_SOURCE_LABELS } from '../grades/sources/grade-source';
import type { GradeLineItem, GradeResult, LearnerGrades } from './evaluate';

export interface CourseGradeBook {
  /** The course's current line items (removed ones are absent: a selection naming one shows it as missing). */
  lineItems: GradeLineItem[];
  membersByUser: Map<string, LoadedMember>;
  /** userId -> lineItemId -> result. */
  resultsByUser: Map<string, ReadonlyMap<string, GradeResult>>;
}

/** Reads a course's grades, optionally for some learners only. */
export async function readCourseGrades(conn: Connection, courseId: Types.ObjectId, opts: { userIds?: string[] } = {}): Promise<CourseGradeBook> {
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
      ...(li.excluded ? { excluded: li.excluded } : {}),
    })),
    membersByUser: grades.membersByUser,
    resultsByUser: grades.resultsByUser,
  };
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

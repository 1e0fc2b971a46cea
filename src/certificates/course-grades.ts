/**
 * The one place where certificates read imported grades: a course's line items, roster and
 * results, shaped for `evaluateEligibility`. One query per collection for a whole course, so the
 * teacher overview of 5,000 learners costs three reads, not 5,000.
 */
import type { Connection, Types } from 'mongoose';
import { lineItemModel } from '../grades/line-item.model';
import { memberModel, type Member } from '../grades/member.model';
import { resultModel } from '../grades/result.model';
import type { GradeLineItem, GradeResult, LearnerGrades } from './evaluate';

export interface CourseGradeBook {
  /** Every line item of the course, removed ones included (a selection may still name them). */
  lineItems: GradeLineItem[];
  membersByUser: Map<string, Member>;
  /** userId -> lineItemId -> result. */
  resultsByUser: Map<string, Map<string, GradeResult>>;
}

/** Reads a course's grades, optionally for some learners only. */
export async function readCourseGrades(conn: Connection, courseId: Types.ObjectId, opts: { userIds?: string[] } = {}): Promise<CourseGradeBook> {
  const userFilter = opts.userIds ? { userId: opts.userIds.length === 1 ? opts.userIds[0] : { $in: opts.userIds } } : {};
  const [lineItems, members, results] = await Promise.all([
    lineItemModel(conn).find({ courseId }, { label: 1, scoreMaximum: 1, removedAt: 1 }).lean(),
    memberModel(conn).find({ courseId, ...userFilter }).lean(),
    resultModel(conn).find({ courseId, ...userFilter }, { lineItemId: 1, userId: 1, scoreGiven: 1, scoreMaximum: 1 }).lean(),
  ]);
  const resultsByUser = new Map<string, Map<string, GradeResult>>();
  for (const r of results) {
    let perUser = resultsByUser.get(r.userId);
    if (!perUser) resultsByUser.set(r.userId, (perUser = new Map()));
    perUser.set(String(r.lineItemId), { scoreGiven: r.scoreGiven ?? null, scoreMaximum: r.scoreMaximum });
  }
  return {
    lineItems: lineItems.map((li) => ({ id: String(li._id), label: li.label, scoreMaximum: li.scoreMaximum, removedAt: li.removedAt ?? null })),
    membersByUser: new Map(members.map((m) => [m.userId, m as Member])),
    resultsByUser,
  };
}

const NO_RESULTS: ReadonlyMap<string, GradeResult> = new Map();

/** One learner's view of the grade book, ready for `evaluateEligibility`. */
export function learnerGrades(book: CourseGradeBook, userId: string): LearnerGrades {
  return { lineItems: book.lineItems, results: book.resultsByUser.get(userId) ?? NO_RESULTS };
}

/** Ids of the course's current (not removed) line items, for validating a definition. */
export async function currentLineItemIds(conn: Connection, courseId: Types.ObjectId): Promise<Set<string>> {
  const items = await lineItemModel(conn).find({ courseId, removedAt: null }, { _id: 1 }).lean();
  return new Set(items.map((i) => String(i._id)));
}

/**
 * Reading stored grades for the certificate rules: a course's current line items, its roster and
 * every learner's results, in one pass per collection (lean cursors with projections), so that a
 * course of 5,000 learners x 20 items (100,000 results) loads without hydrating documents.
 */
import { Types, type Connection } from 'mongoose';
import { lineItemModel, type LineItem } from './line-item.model';
import { memberModel, type Member } from './member.model';
import { resultModel, type Result } from './result.model';

export type LoadedLineItem = Pick<LineItem, '_id' | 'source' | 'externalId' | 'label' | 'scoreMaximum' | 'resourceLinkId' | 'resourceId' | 'tag' | 'startDateTime' | 'endDateTime' | 'removedAt'>;
export type LoadedMember = Pick<Member, '_id' | 'userId' | 'name' | 'givenName' | 'familyName' | 'email' | 'sisId' | 'lisPersonSourcedId' | 'roles' | 'isLearner' | 'status' | 'leftAt'>;
export type LoadedResult = Pick<Result, '_id' | 'lineItemId' | 'userId' | 'scoreGiven' | 'scoreMaximum' | 'timestamp' | 'changedAt' | 'source'>;

export interface CourseGrades {
  /** Line items not removed from the LMS, CSV columns included. */
  lineItems: LoadedLineItem[];
  membersByUser: Map<string, LoadedMember>;
  /** userId -> line item id (string) -> result; only results of the listed line items. */
  resultsByUser: Map<string, Map<string, LoadedResult>>;
}

const LINE_ITEM_FIELDS = { source: 1, externalId: 1, label: 1, scoreMaximum: 1, resourceLinkId: 1, resourceId: 1, tag: 1, startDateTime: 1, endDateTime: 1, removedAt: 1 };
const MEMBER_FIELDS = { userId: 1, name: 1, givenName: 1, familyName: 1, email: 1, sisId: 1, lisPersonSourcedId: 1, roles: 1, isLearner: 1, status: 1, leftAt: 1 };
// History stays out: the rules judge current values only.
const RESULT_FIELDS = { lineItemId: 1, userId: 1, scoreGiven: 1, scoreMaximum: 1, timestamp: 1, changedAt: 1, source: 1 };

/** Loads a course's grades, or only some learners' (`userIds`), for the rules engine. */
export async function loadCourseGrades(conn: Connection, courseId: Types.ObjectId | string, opts: { userIds?: string[] } = {}): Promise<CourseGrades> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const users = opts.userIds ? { userId: opts.userIds.length === 1 ? opts.userIds[0] : { $in: opts.userIds } } : {};
  const [lineItems, members] = await Promise.all([
    lineItemModel(conn).find({ courseId: cid, removedAt: null }, LINE_ITEM_FIELDS).sort({ _id: 1 }).lean<LoadedLineItem[]>(),
    memberModel(conn).find({ courseId: cid, ...users }, MEMBER_FIELDS).lean<LoadedMember[]>(),
  ]);
  const current = new Set(lineItems.map((li) => String(li._id)));
  const resultsByUser = new Map<string, Map<string, LoadedResult>>();
  const cursor = resultModel(conn).find({ courseId: cid, ...users }, RESULT_FIELDS).lean<LoadedResult>().cursor({ batchSize: 5000 });
  for await (const r of cursor) {
    const key = String(r.lineItemId);
    if (!current.has(key)) continue;
    let perUser = resultsByUser.get(r.userId);
    if (!perUser) resultsByUser.set(r.userId, (perUser = new Map()));
    perUser.set(key, r);
  }
  return { lineItems, membersByUser: new Map(members.map((m) => [m.userId, m])), resultsByUser };
}

/**
 * Reading stored grades for the certificate rules: a course's current line items, its roster and
 * every learner's results, in one pass per collection (lean cursors with projections), so that a
 * course of 5,000 learners x 20 items (100,000 results) loads without hydrating documents.
 */
import { Types, type Connection } from 'mongoose';
import { columnExclusions, type ColumnExclusion } from './activity-identity';
import { lineItemModel, type LineItem } from './line-item.model';
import { toolLinkModel } from './tool-link.model';
import { memberModel, type Member } from './member.model';
import { resultModel, type Result } from './result.model';

export type LoadedLineItem = Pick<LineItem, '_id' | 'source' | 'externalId' | 'label' | 'scoreMaximum' | 'resourceLinkId' | 'resourceId' | 'tag' | 'startDateTime' | 'endDateTime' | 'kind' | 'weight' | 'removedAt'> & {
  /** Set when the column takes no part in "all activities": the tool's launcher, a copy of another source's column, a total. */
  excluded?: ColumnExclusion;
  /** For a copy: the column it copies. */
  sameAs?: string;
};
export type LoadedMember = Pick<Member, '_id' | 'userId' | 'name' | 'givenName' | 'familyName' | 'email' | 'sisId' | 'lisPersonSourcedId' | 'roles' | 'isLearner' | 'status' | 'leftAt'>;
export type LoadedResult = Pick<Result, '_id' | 'lineItemId' | 'userId' | 'scoreGiven' | 'scoreMaximum' | 'timestamp' | 'changedAt' | 'source'>;

export interface CourseGrades {
  /** Line items not removed from the LMS, CSV columns included. */
  lineItems: LoadedLineItem[];
  membersByUser: Map<string, LoadedMember>;
  /** userId -> line item id (string) -> result; only results of the listed line items. */
  resultsByUser: Map<string, Map<string, LoadedResult>>;
}

const LINE_ITEM_FIELDS = { source: 1, externalId: 1, label: 1, scoreMaximum: 1, resourceLinkId: 1, resourceId: 1, tag: 1, startDateTime: 1, endDateTime: 1, kind: 1, weight: 1, removedAt: 1 };

/** The resource links the tool is launched from in this course. */
async function launcherLinks(conn: Connection, courseId: Types.ObjectId): Promise<Set<string>> {
  const links = await toolLinkModel(conn).find({ courseId }, { resourceLinkId: 1 }).lean();
  return new Set(links.map((l) => l.resourceLinkId));
}

/** Marks the columns that are the launcher, a copy of another source's column, or a total. */
async function markExclusions(conn: Connection, courseId: Types.ObjectId, items: LoadedLineItem[]): Promise<LoadedLineItem[]> {
  const excluded = columnExclusions(items, await launcherLinks(conn, courseId));
  if (excluded.size === 0) return items;
  return items.map((li) => {
    const e = excluded.get(String(li._id));
    return e ? { ...li, excluded: e.reason, ...(e.sameAs ? { sameAs: e.sameAs } : {}) } : li;
  });
}

/** The current columns of a course, each marked when it takes no part in "all activities". */
export async function loadCourseColumns(conn: Connection, courseId: Types.ObjectId | string): Promise<LoadedLineItem[]> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const items = await lineItemModel(conn).find({ courseId: cid, removedAt: null }, LINE_ITEM_FIELDS).sort({ _id: 1 }).lean<LoadedLineItem[]>();
  return markExclusions(conn, cid, items);
}
const MEMBER_FIELDS = { userId: 1, name: 1, givenName: 1, familyName: 1, email: 1, sisId: 1, lisPersonSourcedId: 1, roles: 1, isLearner: 1, status: 1, leftAt: 1 };
// History stays out: the rules judge current values only.
const RESULT_FIELDS = { lineItemId: 1, userId: 1, scoreGiven: 1, scoreMaximum: 1, timestamp: 1, changedAt: 1, source: 1 };

/**
 * One learner's stored grades as their page reads them once: every column of the course (removed
 * ones too, with what a refresh compares) and all their results. The page's refresh compares the
 * LMS's answer with it, and when the refresh changed nothing the page is built from it as well
 * (two reads serve both).
 */
export interface LearnerSnapshot {
  courseId: Types.ObjectId;
  userId: string;
  lineItems: Array<LoadedLineItem & Pick<LineItem, 'weight' | 'hidden'> & { resultsDigest?: string | null; resultsEpoch?: number }>;
  results: Array<LoadedResult & Pick<Result, 'comment'>>;
}

const SNAPSHOT_ITEM_FIELDS = { ...LINE_ITEM_FIELDS, weight: 1, hidden: 1, resultsDigest: 1, resultsEpoch: 1 };
const SNAPSHOT_RESULT_FIELDS = { ...RESULT_FIELDS, comment: 1 };

export async function readLearnerSnapshot(conn: Connection, courseId: Types.ObjectId | string, userId: string): Promise<LearnerSnapshot> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const [lineItems, results] = await Promise.all([
    lineItemModel(conn).find({ courseId: cid }, SNAPSHOT_ITEM_FIELDS).sort({ _id: 1 }).lean<LearnerSnapshot['lineItems']>(),
    resultModel(conn).find({ courseId: cid, userId }, SNAPSHOT_RESULT_FIELDS).lean<LearnerSnapshot['results']>(),
  ]);
  return { courseId: cid, userId, lineItems, results };
}

/**
 * Loads a course's grades, or only some learners' (`userIds`), for the rules engine. With
 * `snapshot` (that learner's, read just before and still current), columns and results come from it.
 */
export async function loadCourseGrades(
  conn: Connection,
  courseId: Types.ObjectId | string,
  opts: { userIds?: string[]; snapshot?: LearnerSnapshot } = {},
): Promise<CourseGrades> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const snapshot = opts.snapshot && opts.snapshot.courseId.equals(cid) && opts.userIds?.length === 1 && opts.userIds[0] === opts.snapshot.userId ? opts.snapshot : undefined;
  const users = opts.userIds ? { userId: opts.userIds.length === 1 ? opts.userIds[0] : { $in: opts.userIds } } : {};
  const [lineItems, members] = await Promise.all([
    snapshot ? markExclusions(conn, cid, snapshot.lineItems.filter((li) => !li.removedAt)) : loadCourseColumns(conn, cid),
    memberModel(conn).find({ courseId: cid, ...users }, MEMBER_FIELDS).lean<LoadedMember[]>(),
  ]);
  const current = new Set(lineItems.map((li) => String(li._id)));
  const resultsByUser = new Map<string, Map<string, LoadedResult>>();
  const cursor = snapshot ? snapshot.results : resultModel(conn).find({ courseId: cid, ...users }, RESULT_FIELDS).lean<LoadedResult>().cursor({ batchSize: 5000 });
  for await (const r of cursor) {
    const key = String(r.lineItemId);
    if (!current.has(key)) continue;
    let perUser = resultsByUser.get(r.userId);
    if (!perUser) resultsByUser.set(r.userId, (perUser = new Map()));
    perUser.set(key, r);
  }
  return { lineItems, membersByUser: new Map(members.map((m) => [m.userId, m])), resultsByUser };
}

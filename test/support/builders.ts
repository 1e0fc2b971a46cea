/**
 * Builders with overrides (Outline's `buildUser(overrides)`): each writes one document the way
 * the application would leave it, with defaults a test only overrides where it matters.
 * Nothing is shared between calls: every course gets its own context id, so a test never sees
 * another test's data even on one database.
 *
 *   const course = await buildCourse(conn, { title: 'Elvish' });
 *   const item = await buildLineItem(conn, { courseId: course._id, scoreMaximum: 20 });
 *   await buildMember(conn, { courseId: course._id, userId: 'sam', name: 'Sam Gamgee' });
 *   await buildResult(conn, { courseId: course._id, lineItemId: item._id, userId: 'sam', scoreGiven: 18 });
 *   const definition = await buildDefinition(conn, course._id, { threshold: 90 });
 *   const certificate = await buildIssuedCertificate(conn, { definition, learner: { userId: 'sam' } });
 *
 * `seedCourse()` builds a whole course from a grid of scores (learners × activities).
 */
import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import type { Actor } from '../../src/certificates/audit.model';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { createDefinition } from '../../src/certificates/definition.service';
import type { IssueDoc } from '../../src/certificates/issue.model';
import { issueIfEligible } from '../../src/certificates/issue.service';
import { type LearnerInfo } from '../../src/certificates/certificate-state';
import { courseModel, type CourseDoc } from '../../src/courses/course.model';
import { lineItemModel, type LineItem } from '../../src/grades/line-item.model';
import { memberModel, type Member } from '../../src/grades/member.model';
import { resultModel, type Result } from '../../src/grades/result.model';

/** The fixed time the builders stamp documents with (a Saturday morning in May). */
export const T0 = new Date('2025-05-03T10:00:00Z');
/** The teacher who defines and issues, unless a test says otherwise. */
export const teacher: Actor = { kind: 'teacher', userId: 'teacher-1', name: 'Gandalf Grey' };
/** The randomness source for codes (real randomness: codes must stay unique). */
export const random = randomBytes;
/** The LTI role of a learner. */
export const LEARNER_ROLE = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';

type Overrides<T> = Partial<Omit<T, '_id'>> & { _id?: Types.ObjectId };

/** A course as a first launch creates it (sandbox platform, no services, auto re-issue off). */
export async function buildCourse(conn: Connection, overrides: Overrides<CourseDoc> = {}): Promise<CourseDoc> {
  const doc = await courseModel(conn).create({
    issuer: 'https://lms.example',
    clientId: 'client',
    contextId: `ctx-${new Types.ObjectId().toHexString()}`,
    title: 'Middle-earth Studies',
    platformFamily: 'sandbox',
    services: { agsScopes: [] },
    settings: { autoReissue: false },
    ...overrides,
  });
  return doc.toObject();
}

/** An AGS line item of the course, as a grade sync stores it (maximum 10). */
export async function buildLineItem(conn: Connection, overrides: Overrides<LineItem> & { courseId: Types.ObjectId }): Promise<LineItem> {
  const [doc] = await lineItemModel(conn).insertMany([lineItemFields(overrides)]);
  return doc!.toObject();
}

/** An active learner of the course with a name and an e-mail address. */
export async function buildMember(conn: Connection, overrides: Overrides<Member> & { courseId: Types.ObjectId }): Promise<Member> {
  const [doc] = await memberModel(conn).insertMany([memberFields(overrides)]);
  return doc!.toObject();
}

/** A learner's score on a line item, as a grade sync stores it (8 out of 10 unless overridden). */
export async function buildResult(
  conn: Connection,
  overrides: Overrides<Result> & { courseId: Types.ObjectId; lineItemId: Types.ObjectId; userId: string },
): Promise<Result> {
  const [doc] = await resultModel(conn).insertMany([resultFields(overrides)]);
  return doc!.toObject();
}

/** A definition on the course: "Certificate of Achievement", all activities, 80%, guard on, public allowed. */
export async function buildDefinition(
  conn: Connection,
  courseId: Types.ObjectId,
  input: Record<string, unknown> = {},
  opts: { by?: Actor; now?: Date; publicAllowed?: boolean } = {},
): Promise<DefinitionDoc> {
  return createDefinition(conn, {
    courseId,
    input: { title: 'Certificate of Achievement', issuerName: 'University of Rivendell', ...input },
    by: opts.by ?? teacher,
    now: opts.now ?? T0,
    publicAllowed: opts.publicAllowed ?? true,
  });
}

/**
 * A certificate issued through the real issuing path (code, snapshot, audit). Without a
 * definition it builds a course where the learner (user-1, Frodo Baggins) scored 9/10 on one
 * activity, and a definition on it; with one, the learner must already qualify on the stored
 * grades, and is named as the roster names them unless `learner.name` is given.
 */
export async function buildIssuedCertificate(
  conn: Connection,
  opts: { definition?: DefinitionDoc; learner?: Partial<LearnerInfo>; issuedBy?: Actor; now?: Date } = {},
): Promise<IssueDoc> {
  // the name comes from the roster unless the test gives the one the launch would carry
  const learner: LearnerInfo = { userId: 'user-1', ...opts.learner };
  let definition = opts.definition;
  if (!definition) {
    const course = await seedCourse(conn, { scores: [[9]], names: [learner.name ?? 'Frodo Baggins'], userIds: [learner.userId] });
    definition = await buildDefinition(conn, course.courseId);
  }
  const r = await issueIfEligible(conn, {
    courseId: definition.courseId,
    definition,
    learner,
    issuedBy: opts.issuedBy ?? teacher,
    now: () => opts.now ?? T0,
    random,
  });
  if (!r.certificate) throw new Error(`buildIssuedCertificate: ${learner.userId} does not qualify: ${JSON.stringify(r.evaluation.reasons)}`);
  return r.certificate;
}

export interface SeededCourse {
  courseId: Types.ObjectId;
  lineItemIds: string[];
  userIds: string[];
}

/**
 * A course with one line item per column and one learner per row, written straight into the
 * grade collections as a sync would leave them. `scores[u][i]` is learner u's score on item i
 * (null = listed without a score, undefined = no result).
 */
export async function seedCourse(
  conn: Connection,
  opts: {
    scores: Array<Array<number | null | undefined>>;
    max?: number;
    title?: string;
    names?: string[];
    userIds?: string[];
    memberStatus?: Array<'active' | 'inactive' | 'left'>;
    autoReissue?: boolean;
  },
): Promise<SeededCourse> {
  const max = opts.max ?? 10;
  const itemCount = opts.scores[0]?.length ?? 0;
  const course = await buildCourse(conn, { title: opts.title ?? 'Middle-earth Studies', settings: { autoReissue: opts.autoReissue ?? false } });
  const courseId = course._id;
  const items = await lineItemModel(conn).insertMany(
    Array.from({ length: itemCount }, (_, i) => lineItemFields({ courseId, externalId: `https://lms.example/li/${courseId}/${i + 1}`, label: `Activity ${i + 1}`, scoreMaximum: max })),
  );
  const lineItemIds = items.map((li) => String(li._id));
  const userIds = opts.scores.map((_, u) => opts.userIds?.[u] ?? `user-${u + 1}`);
  await memberModel(conn).insertMany(
    userIds.map((userId, u) => memberFields({ courseId, userId, name: opts.names?.[u] ?? `Learner ${u + 1}`, status: opts.memberStatus?.[u] ?? 'active' })),
  );
  const results = [];
  for (let u = 0; u < opts.scores.length; u++) {
    for (let i = 0; i < itemCount; i++) {
      const s = opts.scores[u]![i];
      if (s === undefined) continue;
      results.push(resultFields({ courseId, lineItemId: items[i]!._id, userId: userIds[u]!, scoreGiven: s, scoreMaximum: max }));
    }
  }
  if (results.length > 0) await resultModel(conn).insertMany(results);
  return { courseId, lineItemIds, userIds };
}

/** Sets one score of a seeded course as a grade sync would. */
export async function setScore(conn: Connection, course: SeededCourse, userId: string, item: number, score: number | null, max = 10): Promise<void> {
  await resultModel(conn).updateOne(
    { courseId: course.courseId, lineItemId: new Types.ObjectId(course.lineItemIds[item]), userId },
    { $set: { scoreGiven: score, scoreMaximum: max, source: 'ags', fetchedAt: T0, changedAt: T0 } },
    { upsert: true },
  );
}

/** The seeds' Bilbo: 9,9,9,9,9,10,10,10,10 and the tenth activity not graded yet. */
export const BILBO_SCORES: Array<number | null> = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

function lineItemFields(o: Overrides<LineItem> & { courseId: Types.ObjectId }): Overrides<LineItem> {
  const n = new Types.ObjectId().toHexString();
  return { source: 'ags', externalId: `https://lms.example/li/${o.courseId}/${n}`, label: 'Activity', scoreMaximum: 10, fetchedAt: T0, ...o };
}

function memberFields(o: Overrides<Member> & { courseId: Types.ObjectId }): Overrides<Member> {
  const userId = o.userId ?? `user-${new Types.ObjectId().toHexString()}`;
  return { name: 'Frodo Baggins', email: `${userId}@example.org`, roles: [LEARNER_ROLE], isLearner: true, status: 'active', fetchedAt: T0, ...o, userId };
}

function resultFields(o: Overrides<Result> & { courseId: Types.ObjectId; lineItemId: Types.ObjectId; userId: string }): Overrides<Result> {
  return { scoreGiven: 8, scoreMaximum: 10, source: 'ags', fetchedAt: T0, changedAt: T0, ...o };
}

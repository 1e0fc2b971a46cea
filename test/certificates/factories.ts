/**
 * Builders for certificate tests: a course with line items, a roster and results, written
 * straight into the grade collections (as a sync would leave them), and a definition on it.
 */
import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { courseModel } from '../../src/courses/course.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import type { Actor } from '../../src/certificates/audit.model';
import { createDefinition } from '../../src/certificates/definition.service';
import type { DefinitionDoc } from '../../src/certificates/definition.model';

export const T0 = new Date('2025-05-03T10:00:00Z');
export const teacher: Actor = { kind: 'teacher', userId: 'teacher-1', name: 'Gandalf Grey' };
export const random = randomBytes;

export interface SeededCourse {
  courseId: Types.ObjectId;
  lineItemIds: string[];
  userIds: string[];
}

/** `scores[u][i]` is learner u's score on item i (null = listed without a score, undefined = no result). */
export async function seedCourse(
  conn: Connection,
  opts: {
    scores: Array<Array<number | null | undefined>>;
    max?: number;
    title?: string;
    names?: string[];
    memberStatus?: Array<'active' | 'inactive' | 'left'>;
    autoReissue?: boolean;
  },
): Promise<SeededCourse> {
  const max = opts.max ?? 10;
  const itemCount = opts.scores[0]?.length ?? 0;
  const course = await courseModel(conn).create({
    issuer: 'https://lms.example',
    clientId: 'client',
    contextId: `ctx-${new Types.ObjectId().toHexString()}`,
    title: opts.title ?? 'Middle-earth Studies',
    platformFamily: 'sandbox',
    services: { agsScopes: [] },
    settings: { autoReissue: opts.autoReissue ?? false },
  });
  const courseId = course._id;
  const items = await lineItemModel(conn).insertMany(
    Array.from({ length: itemCount }, (_, i) => ({
      courseId,
      source: 'ags',
      externalId: `https://lms.example/li/${courseId}/${i + 1}`,
      label: `Activity ${i + 1}`,
      scoreMaximum: max,
      fetchedAt: T0,
    })),
  );
  const lineItemIds = items.map((li) => String(li._id));
  const userIds = opts.scores.map((_, u) => `user-${u + 1}`);
  await memberModel(conn).insertMany(
    userIds.map((userId, u) => ({
      courseId,
      userId,
      name: opts.names?.[u] ?? `Learner ${u + 1}`,
      email: `${userId}@example.org`,
      roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
      isLearner: true,
      status: opts.memberStatus?.[u] ?? 'active',
      fetchedAt: T0,
    })),
  );
  const results = [];
  for (let u = 0; u < opts.scores.length; u++) {
    for (let i = 0; i < itemCount; i++) {
      const s = opts.scores[u]![i];
      if (s === undefined) continue;
      results.push({ courseId, lineItemId: items[i]!._id, userId: userIds[u], scoreGiven: s, scoreMaximum: max, source: 'ags', fetchedAt: T0, changedAt: T0 });
    }
  }
  if (results.length > 0) await resultModel(conn).insertMany(results);
  return { courseId, lineItemIds, userIds };
}

/** Sets one score as a grade sync would. */
export async function setScore(conn: Connection, course: SeededCourse, userId: string, item: number, score: number | null, max = 10): Promise<void> {
  await resultModel(conn).updateOne(
    { courseId: course.courseId, lineItemId: new Types.ObjectId(course.lineItemIds[item]), userId },
    { $set: { scoreGiven: score, scoreMaximum: max, source: 'ags', fetchedAt: T0, changedAt: T0 } },
    { upsert: true },
  );
}

/** A definition on the course ("Pass" at 80%, all items, guard on unless overridden). */
export async function seedDefinition(conn: Connection, courseId: Types.ObjectId, input: Record<string, unknown> = {}): Promise<DefinitionDoc> {
  return createDefinition(conn, {
    courseId,
    input: { title: 'Certificate of Achievement', issuerName: 'University of Rivendell', ...input },
    by: teacher,
    now: T0,
    publicAllowed: true,
  });
}

/** The seeds' Bilbo: 9,9,9,9,9,10,10,10,10 and the tenth activity not graded yet. */
export const BILBO_SCORES: Array<number | null> = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

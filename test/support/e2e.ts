/**
 * End-to-end helpers, on the shared tool app (test/support/app.ts): a sandbox course with chosen
 * scores, launches into the tool, the tool's copy of the course, a grade sync, and a definition
 * and certificates built with test/support/builders.ts.
 */
import type { Types } from 'mongoose';
import type { Actor } from '../../src/certificates/audit.model';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import type { IssueDoc } from '../../src/certificates/issue.model';
import { courseModel, type CourseDoc } from '../../src/courses/course.model';
import { syncCourse } from '../../src/grades/sync.service';
import { createAgsSource } from '../../src/grades/sources';
import type { CreateCourseOptions, CreatedCourse } from '../../src/sandbox/sandbox.store';
import type { TestApp } from './app';
import { HttpBrowser, sessionOf, type Page } from './browser';
import { buildDefinition, buildIssuedCertificate } from './builders';

export const TEACHER: Actor = { kind: 'teacher', userId: 'test-teacher', name: 'Test Teacher' };

/** A sandbox course (standard platform, no throttling) with the given scores per learner and item. */
export function sandboxCourse(t: TestApp, opts: Partial<CreateCourseOptions> & { scores: Array<Array<number | null>> }): CreatedCourse {
  const scores = opts.scores;
  const c = t.sandbox.store.createCourse({
    title: opts.title ?? 'Digital Literacy',
    quirks: opts.quirks ?? 'standard',
    learners: scores.length,
    items: scores[0]?.length ?? 0,
    scoreMaximum: 10,
    teachers: 1,
    ...opts,
    score: (l, i) => scores[l]?.[i] ?? null,
  });
  t.sandbox.store.setRateLimit(c.course.id, null);
  return c;
}

export interface Launched {
  browser: HttpBrowser;
  page: Page;
  session: string;
  /** `${baseUrl}/app/<session>` */
  app: string;
}

/** Launches `userId` from the sandbox course into the tool and returns the landing page. */
let launches = 0;

export async function launchAs(t: TestApp, courseId: string, userId: string, opts: { deepLinking?: boolean } = {}): Promise<Launched> {
  // each launch is its own client (198.18.0.0/15, the benchmarking range): the suite's hundreds of
  // launches a minute must not share one address's login rate limit (test/security/login.spec.ts tests it)
  const n = launches++;
  const browser = new HttpBrowser({ address: `198.18.${(n >> 8) & 255}.${n & 255}` });
  const page = await browser.open(t.sandbox.launchUrl(courseId, userId, opts.deepLinking ? { deepLinking: true } : undefined));
  if (page.status !== 200) throw new Error(`launch failed (${page.status}): ${page.html.slice(0, 300)}`);
  const session = sessionOf(page.url);
  return { browser, page, session, app: `${t.baseUrl}/app/${session}` };
}

/** The tool's Course document of a sandbox course (exists after the first launch). */
export async function toolCourse(t: TestApp, c: CreatedCourse): Promise<CourseDoc> {
  const course = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: t.sandbox.store.contextIdOf(c.course) }).lean<CourseDoc>();
  if (!course) throw new Error('the course has not been launched yet');
  return course;
}

/** A full grade sync of the course, as the teacher's "sync now" runs it. */
export async function syncGrades(t: TestApp, course: CourseDoc): Promise<void> {
  const summary = await syncCourse({
    conn: t.db.connection,
    source: createAgsSource({ client: t.app.ctx.advantageFor(course), course }),
    course,
    startedBy: { userId: 'test-teacher' },
    now: () => new Date(),
  });
  if (summary.status === 'failed') throw new Error(`sync failed: ${JSON.stringify(summary.errors)}`);
}

/** A certificate definition on the course ("all activities", 80%, guard on unless overridden). */
export async function defineCertificate(t: TestApp, courseId: Types.ObjectId, input: Record<string, unknown> = {}): Promise<DefinitionDoc> {
  return buildDefinition(t.db.connection, courseId, input, { by: TEACHER, now: new Date() });
}

/** Issues the learner's certificate (from synced grades), as "generate all" would. */
export async function issueFor(t: TestApp, courseId: Types.ObjectId, definition: DefinitionDoc, learner: { userId: string; name: string }): Promise<IssueDoc> {
  if (!definition.courseId.equals(courseId)) throw new Error('issueFor: the definition belongs to another course');
  return buildIssuedCertificate(t.db.connection, { definition, learner, issuedBy: TEACHER, now: new Date() });
}

/** The LMS user id (`sub`) the tool sees for a sandbox user in a standard-mode course. */
export function subjectOf(t: TestApp, c: CreatedCourse, sandboxUserId: string): string {
  return t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(sandboxUserId)!);
}

export { pdfInfo, pdfText, decodeQr } from '../render/pdf-tools';

/** Counts renders of the app's one PDF renderer while `fn` runs. */
export async function countRenders<T>(t: TestApp, fn: () => Promise<T>): Promise<{ value: T; renders: number }> {
  const renderer = t.app.ctx.renderer;
  const original = renderer.pdf;
  let renders = 0;
  renderer.pdf = async (doc) => {
    renders++;
    return original.call(renderer, doc);
  };
  try {
    return { value: await fn(), renders };
  } finally {
    renderer.pdf = original;
  }
}

/**
 * The fields the teacher's definition form posts, with its defaults; an override of `null` leaves
 * that field out (an unticked checkbox).
 */
export function definitionFormFields(overrides: Record<string, string | null> = {}): Record<string, string> {
  const fields: Record<string, string | null> = {
    title: 'Certificate of achievement',
    issuerName: 'Shire Academy',
    itemsMode: 'all',
    thresholdPercent: '80',
    requireAllGraded: 'on',
    mandatoryMinimum: '',
    'validity.kind': 'perpetual',
    'validity.validForMonths': '12',
    'template.design': 'classic',
    'template.paper': 'A4',
    'template.orientation': 'landscape',
    'template.language': 'auto',
    'template.accentColor': '#1a5fb4',
    'template.bodyText': '',
    'template.showScore': 'on',
    'template.signatoryName': '',
    'template.logoFileId': '',
    'template.signatureFileId': '',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== null));
}

/**
 * The world of the certification specs: one learner enrolled in several sandbox courses (the
 * same LMS user, as on a real platform), each course with a certificate definition, and an LMS
 * administrator who defines certifications from a launch.
 */
import type { Types } from 'mongoose';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import type { CourseDoc } from '../../src/courses/course.model';
import { ROLE } from '../../src/sandbox/lti-vocabulary';
import type { TestApp } from '../support/app';
import { defineCertificate, launchAs, subjectOf, toolCourse, type Launched } from '../support/e2e';

export const INSTITUTION_ADMIN = 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator';

export interface WorldCourse {
  sandboxId: string;
  tool: CourseDoc;
  definition: DefinitionDoc;
  teacherId: string;
}

export interface World {
  learnerId: string;
  /** The learner's LMS user id, as the tool sees it. */
  subject: string;
  adminId: string;
  courses: WorldCourse[];
}

let counter = 0;

/** `n` courses, one learner with full marks in each (synced when launched), a definition on each. */
export async function buildWorld(t: TestApp, n: number, opts: { definition?: Record<string, unknown>; learnerGrades?: boolean } = {}): Promise<World> {
  const store = t.sandbox.store;
  const tag = `${Date.now().toString(36)}-${++counter}`;
  const learner = store.addUser({ givenName: 'Bilbo', familyName: `Baggins ${tag}` });
  const admin = store.addUser({ givenName: 'Ada', familyName: `Admin ${tag}` });
  const courses: WorldCourse[] = [];
  for (let i = 0; i < n; i++) {
    const c = store.createCourse({ title: `Course ${i + 1} ${tag}`, quirks: 'standard', learners: 0, items: 2, scoreMaximum: 10, teachers: 1, score: () => null });
    store.setRateLimit(c.course.id, null);
    store.enrol(c.course.id, learner.id, [ROLE.learner]);
    if (i === 0) store.enrol(c.course.id, admin.id, [ROLE.instructor, INSTITUTION_ADMIN]);
    if (opts.learnerGrades !== false) for (const item of store.listLineItems(c.course.id)) store.setScore(c.course.id, item.id, learner.id, 10);
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const tool = await toolCourse(t, c);
    const definition = await defineCertificate(t, tool._id, { title: `Certificate ${i + 1}`, ...opts.definition });
    courses.push({ sandboxId: c.course.id, tool, definition, teacherId: c.teacherIds[0]! });
  }
  return { learnerId: learner.id, subject: subjectOf(t, { course: store.getCourse(courses[0]!.sandboxId)! } as never, learner.id), adminId: admin.id, courses };
}

/** The LMS administrator's launch (from the first course). */
export function adminLaunch(t: TestApp, w: World): Promise<Launched> {
  return launchAs(t, w.courses[0]!.sandboxId, w.adminId);
}

/** The programme form: these courses, the first `mandatory` of them mandatory, at least `minimum`. */
export function programmeForm(courses: Array<{ tool: { _id: Types.ObjectId } }>, input: { mandatory?: number; minimum?: number | ''; name?: string; type?: 'perpetual' | 'recurring'; months?: number; window?: number; onCourseRevoked?: 'revoke' | 'keep' } = {}) {
  const ids = courses.map((c) => String(c.tool._id));
  return {
    name: input.name ?? 'Data Steward',
    overview: 'Handles personal data with care across the organisation.',
    issuerName: 'Academy',
    kind: 'internal',
    type: input.type ?? 'perpetual',
    ...(input.months !== undefined ? { validForMonths: String(input.months) } : {}),
    ...(input.window !== undefined ? { renewalWindowDays: String(input.window) } : {}),
    onCourseRevoked: input.onCourseRevoked ?? 'revoke',
    courses: ids,
    mandatory: ids.slice(0, input.mandatory ?? ids.length),
    minimumMandatory: input.minimum === undefined ? '' : String(input.minimum),
  };
}

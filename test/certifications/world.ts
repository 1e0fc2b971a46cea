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
  /** "Certificate i" (perpetual, or as `definition` says), and "Yearly i" when `recurring` is asked for. */
  definition: DefinitionDoc;
  recurring?: DefinitionDoc;
  teacherId: string;
}

export interface WorldLearner {
  /** The sandbox user. */
  id: string;
  /** The LMS user id (`sub`) the tool sees. */
  subject: string;
}

export interface World {
  /** The first learner's ids (most specs need one). */
  learnerId: string;
  subject: string;
  /** Every learner, each enrolled in every course with full marks. */
  learners: WorldLearner[];
  adminId: string;
  courses: WorldCourse[];
}

let counter = 0;

/** `n` courses, one learner with full marks in each (synced when launched), a definition on each. */
export async function buildWorld(t: TestApp, n: number, opts: { definition?: Record<string, unknown>; learners?: number; recurring?: boolean } = {}): Promise<World> {
  const store = t.sandbox.store;
  const tag = `${Date.now().toString(36)}-${++counter}`;
  const learners = Array.from({ length: opts.learners ?? 1 }, (_, i) => store.addUser({ givenName: 'Bilbo', familyName: `Baggins ${i + 1} ${tag}` }));
  const admin = store.addUser({ givenName: 'Ada', familyName: `Admin ${tag}` });
  const courses: WorldCourse[] = [];
  for (let i = 0; i < n; i++) {
    const c = store.createCourse({ title: `Course ${i + 1} ${tag}`, quirks: 'standard', learners: 0, items: 2, scoreMaximum: 10, teachers: 1, score: () => null });
    store.setRateLimit(c.course.id, null);
    for (const learner of learners) {
      store.enrol(c.course.id, learner.id, [ROLE.learner]);
      for (const item of store.listLineItems(c.course.id)) store.setScore(c.course.id, item.id, learner.id, 10);
    }
    if (i === 0) store.enrol(c.course.id, admin.id, [ROLE.instructor, INSTITUTION_ADMIN]);
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const tool = await toolCourse(t, c);
    const definition = await defineCertificate(t, tool._id, { title: `Certificate ${i + 1}`, ...opts.definition });
    const recurring = opts.recurring ? await defineCertificate(t, tool._id, { title: `Yearly ${i + 1}`, validity: { kind: 'recurring', validForMonths: 12 } }) : undefined;
    courses.push({ sandboxId: c.course.id, tool, definition, ...(recurring ? { recurring } : {}), teacherId: c.teacherIds[0]! });
  }
  const first = store.getCourse(courses[0]!.sandboxId)!;
  const all = learners.map((l) => ({ id: l.id, subject: subjectOf(t, { course: first } as never, l.id) }));
  return { learnerId: all[0]!.id, subject: all[0]!.subject, learners: all, adminId: admin.id, courses };
}

/** The LMS administrator's launch (from the first course). */
export function adminLaunch(t: TestApp, w: World): Promise<Launched> {
  return launchAs(t, w.courses[0]!.sandboxId, w.adminId);
}

/** The programme form: these courses, the first `mandatory` of them mandatory, at least `minimum`. */
export function programmeForm(
  courses: Array<{ tool: { _id: Types.ObjectId } }>,
  input: { mandatory?: number; minimum?: number | ''; name?: string; type?: 'perpetual' | 'recurring'; months?: number; window?: number; onCourseRevoked?: 'revoke' | 'keep'; definitionIds?: string[] } = {},
) {
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
    ...(input.definitionIds ? { definitionIds: input.definitionIds } : {}),
  };
}

/**
 * The demo courses: one story told three times, once per imitated platform. Bilbo has 85% after
 * nine of ten equally weighted activities (the certificate threshold is 80%) and reaches 95% when
 * activity 10 is graded 10/10. Everything is deterministic: ids follow from creation order.
 */
import { ROLE } from './lti-vocabulary';
import type { QuirkMode } from './quirks';
import type { SandboxStore, SandboxUser } from './sandbox.store';

/** Who is who in the demo (same people, same ids, in all three courses). */
export interface DemoCast {
  courseIds: Record<'moodle' | 'canvas' | 'chamilo', string>;
  bilbo: SandboxUser;
  gandalf: SandboxUser;
  elrond: SandboxUser;
  /** Radagast holds only the Mentor role: the tool must refuse him. */
  mentor: SandboxUser;
  /** The 30 other learners, in the order of `OTHER_LEARNERS`. */
  learners: SandboxUser[];
}

/** Bilbo's scores on activities 1–10 (null = not graded yet). */
export const BILBO_SCORES: readonly (number | null)[] = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

const OTHER_LEARNERS: readonly [string, string][] = [
  ['Frodo', 'Baggins'], ['Samwise', 'Gamgee'], ['Meriadoc', 'Brandybuck'], ['Peregrin', 'Took'], ['Rosie', 'Cotton'],
  ['Fredegar', 'Bolger'], ['Lobelia', 'Sackville-Baggins'], ['Hamfast', 'Gamgee'], ['Lotho', 'Sackville-Baggins'], ['Belladonna', 'Took'],
  ['Bungo', 'Baggins'], ['Primula', 'Brandybuck'], ['Drogo', 'Baggins'], ['Elanor', 'Gamgee'], ['Folco', 'Boffin'],
  ['Estella', 'Bolger'], ['Odo', 'Proudfoot'], ['Tom', 'Bombadil'], ['Goldberry', 'River-daughter'], ['Barliman', 'Butterbur'],
  ['Bill', 'Ferny'], ['Éowyn', 'Eorlingas'], ['Gimli', 'Glóinsson'], ['Legolas', 'Greenleaf'], ['Arwen', 'Undómiel'],
  ['Boromir', 'Denethorion'], ['Aragorn', 'Arathornion'], ['Théoden', 'Ednew'], ['Faramir', 'Húrinion'], ['Sméagol', 'Trahald'],
];

/** Index of the one learner whose enrolment is inactive (Sméagol). */
export const INACTIVE_LEARNER_INDEX = 29;

/**
 * Score of other learner `i` (0–29) on activity `j` (0–9):
 * 0–9 complete and ≥ 89%; 10–19 complete and below 80%; 20–26 with ungraded activities;
 * 27 exactly 80%; 28 at 79%; 29 inactive (90%).
 */
export function demoScore(i: number, j: number): number | null {
  if (i < 10) return 8 + ((i + j) % 3);
  if (i < 20) return 4 + ((i + j) % 4);
  if (i < 27) return j < 4 + (i % 5) ? 7 + ((i + j) % 4) : null;
  if (i === 27) return 8;
  if (i === 28) return j === 9 ? 7 : 8;
  return 9;
}

function demoLocale(i: number): string {
  if (i % 4 === 1) return 'nl-NL';
  if (i % 4 === 3) return 'en-US';
  return 'en-GB';
}

/** Creates the demo people and the three demo courses; returns who is who. */
export function seedDemoCourses(store: SandboxStore): DemoCast {
  const bilbo = store.addUser({ givenName: 'Bilbo', familyName: 'Baggins', email: 'bilbo.baggins@shire.example', locale: 'nl-NL', username: 'bilbo' });
  const gandalf = store.addUser({ givenName: 'Gandalf', familyName: 'the Grey', email: 'gandalf@istari.example', locale: 'en-GB', username: 'gandalf' });
  const elrond = store.addUser({ givenName: 'Elrond', familyName: 'Half-elven', email: 'elrond@rivendell.example', locale: 'en-GB', username: 'elrond' });
  const mentor = store.addUser({ givenName: 'Radagast', familyName: 'the Brown', email: 'radagast@istari.example', locale: 'en-GB', username: 'radagast' });
  const learners = OTHER_LEARNERS.map(([given, family], i) =>
    store.addUser({
      givenName: given,
      familyName: family,
      email: `${given}.${family}@shire.example`.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase(),
      locale: demoLocale(i),
      username: given.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase(),
    }),
  );

  const modes: [keyof DemoCast['courseIds'], QuirkMode, string][] = [
    ['moodle', 'moodle', 'Moodle'],
    ['canvas', 'canvas', 'Canvas'],
    ['chamilo', 'chamilo', 'Chamilo'],
  ];
  const courseIds = {} as DemoCast['courseIds'];
  for (const [key, mode, brand] of modes) {
    const course = store.addCourse({ title: `Digital Literacy (${brand})`, label: `DIGLIT-${brand.toUpperCase()}`, quirks: mode });
    courseIds[key] = course.id;
    store.enrol(course.id, gandalf.id, [ROLE.instructor]);
    store.enrol(course.id, elrond.id, [ROLE.teachingAssistant]);
    store.enrol(course.id, mentor.id, [ROLE.mentor]);
    store.enrol(course.id, bilbo.id, [ROLE.learner]);
    learners.forEach((learner, i) => store.enrol(course.id, learner.id, [ROLE.learner], i === INACTIVE_LEARNER_INDEX ? 'Inactive' : 'Active'));
    // The guides tell the administrator to add `username=$User.username` (Moodle, Chamilo): it is
    // how a learner's row of a gradebook export is matched to the learner.
    if (mode !== 'canvas') course.resourceLinks[0]!.custom.username = '$User.username';
    // The Canvas guide's custom fields (platform-config/README.md): Canvas's own ids, for its REST API.
    else Object.assign(course.resourceLinks[0]!.custom, { canvas_user_id: '$Canvas.user.id', canvas_course_id: '$Canvas.course.id' });
    // The ten activities are the course's own quizzes and assignments: they live in the gradebook
    // and reach the tool through the gradebook export or Moodle web services, never over AGS.
    for (let j = 0; j < 10; j++) {
      const item = store.addLineItem(course.id, {
        label: `Activity ${j + 1}`,
        scoreMaximum: 10,
        module: j % 2 === 0 ? 'quiz' : 'assign',
        idnumber: `activity-${j + 1}`,
      });
      const bilboScore = BILBO_SCORES[j];
      if (bilboScore !== null) store.setScore(course.id, item.id, bilbo.id, bilboScore);
      learners.forEach((learner, i) => {
        const score = demoScore(i, j);
        if (score !== null) store.setScore(course.id, item.id, learner.id, score);
      });
    }
    if (mode === 'chamilo') {
      // Chamilo creates one "Certificates" evaluation (max 100, weight 100) for the tool when the
      // teacher adds it with AGS (plugin/ims_lti/configure.php → createLineItem; observed on
      // 1.11.28 with the gradebook opened first, as the guide says). It is the tool's launcher column.
      store.openGradebook(course.id);
      store.addLineItem(course.id, { label: 'Certificates', scoreMaximum: 100, weight: 100, module: 'lti', resourceLinkId: course.resourceLinks[0]!.id });
    }
  }
  return { courseIds, bilbo, gandalf, elrond, mentor, learners };
}

import { expect } from 'chai';
import { Types } from 'mongoose';
import { memberModel } from '../../src/grades/member.model';
import { rememberUsername } from '../../src/grades/csv/usernames';
import type { GradeSource } from '../../src/grades/sources/grade-source';
import { syncCourse } from '../../src/grades/sync.service';
import type { Launch } from '../../src/lti/launch';
import { useTestDatabase } from '../support/db';

const INSTRUCTOR = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor';
const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';

/**
 * Moodle 4.5.6 sends a non-editing teacher the Instructor role at launch but lists them as a
 * Learner over NRPS (observed on a real Moodle; mod/lti/locallib.php lti_get_ims_role without an
 * activity asks for moodle/course:manageactivities). A roster that says so must not make them a learner.
 */
describe('Roster sync: someone who launched as a teacher', () => {
  const db = useTestDatabase();
  const courseId = new Types.ObjectId();
  const now = () => new Date('2026-12-01T10:00:00Z');

  /** A roster like Moodle's NRPS answer: the non-editing teacher listed as a Learner. */
  const moodleRoster: GradeSource = {
    kind: 'ags',
    roster: async () => ({
      complete: true,
      members: [
        { userId: '41', name: 'Ada Learner', roles: [LEARNER], isLearner: true, status: 'active' },
        { userId: '42', name: 'Nora Assistant', roles: [LEARNER], isLearner: true, status: 'active' },
      ],
    }),
    lineItems: async () => ({ items: [], complete: true }),
    results: async () => undefined,
  };

  function launchOf(userId: string, role: Launch['role']): Launch {
    return {
      issuer: 'https://moodle.example', clientId: 'c1', deploymentId: '1', courseId: String(courseId), context: { id: '7' },
      user: { id: userId, name: 'Nora Assistant' }, roles: role === 'teacher' ? [INSTRUCTOR] : [LEARNER], role,
      messageType: 'LtiResourceLinkRequest', services: {} as Launch['services'], custom: {}, platformFamily: 'moodle',
    };
  }

  const sync = () => syncCourse({ conn: db.connection, source: moodleRoster, course: { _id: courseId }, startedBy: { userId: 'teacher' }, now });
  const learnerIds = async () => (await memberModel(db.connection).find({ courseId, isLearner: true }).lean()).map((m) => m.userId).sort();

  it('counts as a learner while nothing else is known (the roster is all there is)', async () => {
    await sync();
    expect(await learnerIds()).to.deep.equal(['41', '42']);
  });

  it('is no learner after a teacher launch, and a later roster sync does not make them one again', async () => {
    await rememberUsername(db.connection, launchOf('42', 'teacher'), now());
    expect(await learnerIds()).to.deep.equal(['41']);
    await sync();
    expect(await learnerIds()).to.deep.equal(['41']);
  });

  it('is recorded as teaching even when they launch before any roster sync', async () => {
    await memberModel(db.connection).deleteMany({});
    await rememberUsername(db.connection, launchOf('42', 'teacher'), now());
    await sync();
    expect(await learnerIds()).to.deep.equal(['41']);
  });
});

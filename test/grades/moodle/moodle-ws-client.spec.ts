/**
 * The Moodle web-service client against the sandbox's emulation of Moodle 4.5's REST server, over
 * real HTTP: the shapes it reads, the roster's paging, and every refusal turned into a message
 * that names what the administrator must add.
 */
import { expect } from 'chai';
import { createMoodleHttp } from '../../../src/grades/moodle/moodle-http';
import { createMoodleWsClient, type MoodleWsClient } from '../../../src/grades/moodle/moodle-ws.client';
import {
  MoodleCompletionUnavailableError,
  MoodleCourseAccessError,
  MoodleCourseNotFoundError,
  MoodleFunctionNotAllowedError,
  MoodleInvalidTokenError,
  MoodleMissingCapabilityError,
  MoodleServiceUnavailableError,
  MoodleUnknownFunctionError,
  MoodleUnreachableError,
  MoodleUserRefusedError,
} from '../../../src/grades/moodle/moodle-ws.errors';
import { SANDBOX_WS_CAPABILITIES, SANDBOX_WS_FUNCTIONS } from '../../../src/sandbox/moodle-ws.site';
import { startSandboxLms, type SandboxLms } from '../support/sandbox-lms';

const MOODLE_ROOT = (lms: SandboxLms) => lms.baseUrl; // the sandbox's wwwroot: its issuer

describe('Moodle web-service client (against the sandbox Moodle)', () => {
  let lms: SandboxLms;
  let courseId: number;
  let learnerIds: string[];
  let calls: string[];

  const clientFor = (token: string): MoodleWsClient =>
    createMoodleWsClient({ baseUrl: MOODLE_ROOT(lms), token, http: createMoodleHttp({ maxRetries: 0 }), onCall: (f) => calls.push(f) });
  const without = <T>(list: readonly T[], ...drop: T[]) => list.filter((x) => !drop.includes(x));
  const allCaps = Object.keys(SANDBOX_WS_CAPABILITIES);

  before(async () => {
    lms = await startSandboxLms();
    const created = lms.sandbox.store.createCourse({
      title: 'WS course',
      quirks: 'moodle',
      learners: 5,
      items: 3,
      scoreMaximum: 20,
      score: (l, i) => (l === 0 && i === 2 ? null : 10 + l + i),
    });
    courseId = Number(created.course.id);
    learnerIds = created.learnerIds;
  });
  after(async () => lms.close());
  beforeEach(() => {
    calls = [];
    lms.sandbox.moodleWs.restEnabled = true;
    lms.sandbox.moodleWs.webServicesEnabled = true;
  });

  describe('gradereport_user_get_grade_items', () => {
    it('returns every graded learner with every grade item and the course total in one call', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const usergrades = await clientFor(token).getGradeItems(courseId);
      expect(calls).to.deep.equal(['gradereport_user_get_grade_items']);
      expect(usergrades.map((u) => String(u.userid)).sort()).to.deep.equal([...learnerIds].sort());
      const first = usergrades.find((u) => String(u.userid) === learnerIds[0])!;
      expect(first.gradeitems.map((g) => g.itemtype)).to.deep.equal(['mod', 'mod', 'mod', 'course']);
      const [a1, , a3, total] = first.gradeitems;
      expect(a1).to.include({ itemname: 'Activity 1', graderaw: 10, grademax: 20 });
      // "Exclude empty grades": the two graded items share the weight, the ungraded one weighs 0.
      expect(a1!.weightraw).to.equal(0.5);
      expect(a3).to.include({ weightraw: 0, status: 'novalue' });
      expect(a1!.gradedategraded).to.be.a('number');
      // Ungraded: listed, with graderaw null, not left out.
      expect(a3).to.include({ itemname: 'Activity 3', graderaw: null, gradedategraded: null });
      // Natural aggregation, empty grades excluded: 10 + 11 out of 40.
      expect(total).to.include({ itemname: null, itemtype: 'course', graderaw: 21, grademax: 40 });
    });

    it('one learner only, with userid', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const usergrades = await clientFor(token).getGradeItems(courseId, { userId: Number(learnerIds[1]) });
      expect(usergrades).to.have.length(1);
      expect(String(usergrades[0]!.userid)).to.equal(learnerIds[1]);
    });
  });

  describe('core_enrol_get_enrolled_users', () => {
    it('reads the whole roster in one call by default, with usernames and roles', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const users = await clientFor(token).getEnrolledUsers(courseId);
      expect(calls).to.have.length(1);
      expect(users).to.have.length(6); // the teacher and five learners
      const learner = users.find((u) => String(u.id) === learnerIds[0])!;
      expect(learner.username).to.be.a('string').and.not.equal('');
      expect(learner.roles!.map((r) => r.shortname)).to.deep.equal(['student']);
    });

    it('pages with limitfrom/limitnumber until a short page', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const pages: number[] = [];
      const users = await clientFor(token).getEnrolledUsers(courseId, { pageSize: 4, onPage: (p) => void pages.push(p.length) });
      expect(pages).to.deep.equal([4, 2]);
      expect(new Set(users.map((u) => u.id)).size).to.equal(6);
      const logged = lms.sandbox.store.requestLog.filter((e) => e.path === '/webservice/rest/server.php');
      expect(logged.slice(-2).every((e) => e.method === 'POST' && e.status === 200)).to.equal(true);
    });

    it('an exact multiple of the page size costs one more, empty, page', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const pages: number[] = [];
      await clientFor(token).getEnrolledUsers(courseId, { pageSize: 3, onPage: (p) => void pages.push(p.length) });
      expect(pages).to.deep.equal([3, 3, 0]);
    });

    it('leaves usernames out when the user lacks moodle/user:viewalldetails, as Moodle does', async () => {
      const token = lms.sandbox.moodleWs.createToken({ capabilities: without(allCaps, 'moodle/user:viewalldetails') }).token;
      const users = await clientFor(token).getEnrolledUsers(courseId);
      expect(users.every((u) => u.username === undefined)).to.equal(true);
    });
  });

  describe('core_completion_get_course_completion_status', () => {
    it('says completion tracking is off, naming the setting (Moodle: cannotviewreport)', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const err = await clientFor(token).getCourseCompletionStatus(courseId, Number(learnerIds[0])).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleCompletionUnavailableError);
      expect((err as Error).message).to.match(/completion tracking is off/).and.match(/report\/completion:view/);
      expect((err as MoodleCompletionUnavailableError).errorcode).to.equal('cannotviewreport');
    });

    it('reads a learner’s completion once tracking is on', async () => {
      lms.sandbox.moodleWs.setCompletion(String(courseId), { enabled: true, passPercent: 50 });
      try {
        const token = lms.sandbox.moodleWs.createToken().token;
        const status = await clientFor(token).getCourseCompletionStatus(courseId, Number(learnerIds[4]));
        expect(status.completed).to.equal(true);
        expect(status.completions[0]).to.include({ type: 6, complete: true });
      } finally {
        lms.sandbox.moodleWs.setCompletion(String(courseId), null);
      }
    });
  });

  describe('refusals, each naming what to change', () => {
    it('a revoked token: invalidtoken, tells the administrator to make a new one', async () => {
      const site = lms.sandbox.moodleWs;
      const token = site.createToken().token;
      await clientFor(token).getGradeItems(courseId);
      site.revokeToken(token);
      const err = await clientFor(token).getGradeItems(courseId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleInvalidTokenError);
      expect((err as Error).message).to.match(/does not accept the web-service token/).and.match(/Manage tokens/).and.match(/\/admin/);
    });

    for (const fn of SANDBOX_WS_FUNCTIONS) {
      it(`a service without ${fn}: names the function to add`, async () => {
        const token = lms.sandbox.moodleWs.createToken({ functions: without(SANDBOX_WS_FUNCTIONS, fn) }).token;
        const client = clientFor(token);
        const call =
          fn === 'gradereport_user_get_grade_items' ? client.getGradeItems(courseId) : fn === 'core_enrol_get_enrolled_users' ? client.getEnrolledUsers(courseId) : client.getCourseCompletionStatus(courseId, Number(learnerIds[0]));
        const err = await call.catch((e: unknown) => e);
        expect(err).to.be.instanceOf(MoodleFunctionNotAllowedError);
        expect((err as Error).message).to.contain(`add ${fn} to the tool's external service`);
        expect((err as MoodleFunctionNotAllowedError).wsfunction).to.equal(fn);
      });
    }

    const capabilityCases: [string, (c: MoodleWsClient) => Promise<unknown>][] = [
      ['moodle/grade:viewall', (c) => c.getGradeItems(courseId)],
      ['gradereport/user:view', (c) => c.getGradeItems(courseId)],
      ['moodle/course:viewparticipants', (c) => c.getEnrolledUsers(courseId)],
    ];
    for (const [capability, call] of capabilityCases) {
      it(`a user without ${capability}: names the capability id, not only Moodle's wording`, async () => {
        const token = lms.sandbox.moodleWs.createToken({ capabilities: without(allCaps, capability) }).token;
        const err = await call(clientFor(token)).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(MoodleMissingCapabilityError);
        expect((err as MoodleMissingCapabilityError).capability).to.equal(capability);
        expect((err as Error).message).to.contain(`lacks the capability ${capability}`).and.contain(`course ${courseId}`);
        expect((err as MoodleMissingCapabilityError).errorcode).to.equal('nopermissions');
      });
    }

    it('a user without webservice/rest:use: accessexception, which names the function and the capability to check', async () => {
      const token = lms.sandbox.moodleWs.createToken({ capabilities: without(allCaps, 'webservice/rest:use') }).token;
      const err = await clientFor(token).getGradeItems(courseId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleFunctionNotAllowedError);
      expect((err as Error).message).to.contain('webservice/rest:use');
    });

    it('a user that cannot enter the course (no moodle/course:view, not enrolled)', async () => {
      const token = lms.sandbox.moodleWs.createToken({ capabilities: without(allCaps, 'moodle/course:view') }).token;
      const err = await clientFor(token).getGradeItems(courseId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleCourseAccessError);
      expect((err as Error).message).to.contain('moodle/course:view');
    });

    it('a suspended web-service user', async () => {
      const site = lms.sandbox.moodleWs;
      const token = site.createToken().token;
      site.updateToken(token, { suspended: true });
      const err = await clientFor(token).getGradeItems(courseId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleUserRefusedError);
      expect((err as Error).message).to.contain('wsaccessusersuspended');
    });

    it('a course Moodle does not have', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const err = await clientFor(token).getGradeItems(987654).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleCourseNotFoundError);
      expect((err as Error).message).to.contain('course 987654');
    });

    it('a function this Moodle does not have', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      const err = await clientFor(token).call('core_grades_get_grades', { courseid: courseId }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleUnknownFunctionError);
      expect((err as Error).message).to.contain('core_grades_get_grades');
    });

    it('REST switched off: 403 with an empty body, read as "enable web services and REST"', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      lms.sandbox.moodleWs.restEnabled = false;
      const err = await clientFor(token).getGradeItems(courseId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleServiceUnavailableError);
      expect((err as Error).message).to.contain('Manage protocols › REST');
    });

    it('a Moodle that cannot be reached', async () => {
      const client = createMoodleWsClient({ baseUrl: 'http://127.0.0.1:9', token: 'x', http: createMoodleHttp({ maxRetries: 0 }) });
      const err = await client.getGradeItems(2).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(MoodleUnreachableError);
      expect((err as Error).message).to.contain('could not reach Moodle at http://127.0.0.1:9');
    });

    it('sends the token in the body, never in the URL', async () => {
      const token = lms.sandbox.moodleWs.createToken().token;
      lms.sandbox.store.clearRequestLog();
      await clientFor(token).getGradeItems(courseId);
      const entry = lms.sandbox.store.requestLog.find((e) => e.path === '/webservice/rest/server.php')!;
      expect(entry.method).to.equal('POST');
      expect(JSON.stringify(entry.query)).not.to.contain(token);
    });
  });
});

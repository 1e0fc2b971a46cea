/**
 * The sandbox's Moodle REST server compared with what a real Moodle 4.5.6 answered
 * (test/fixtures/moodle-ws/, recorded by test/real-lms/moodle-ws-fixtures.sh): the same error
 * bodies byte for byte, the same fields and value types in every kind of grade item, the same
 * roster fields; and the client reads the real answers as it reads the sandbox's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { createMoodleWsClient, type MoodleHttp } from '../../src/grades/moodle/moodle-ws.client';
import { MoodleCompletionUnavailableError, MoodleFunctionNotAllowedError, MoodleInvalidTokenError, MoodleMissingCapabilityError, MoodleServiceUnavailableError, MoodleUnknownFunctionError } from '../../src/grades/moodle/moodle-ws.errors';
import { missingItemsAdvice } from '../../src/grades/moodle/moodle-connection.service';
import { SANDBOX_WS_CAPABILITIES } from '../../src/sandbox/moodle-ws.site';
import { startSandboxLms, type SandboxLms } from '../grades/support/sandbox-lms';

const FIXTURES = join(__dirname, '..', 'fixtures', 'moodle-ws');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const shape = (o: Record<string, unknown>) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, typeOf(o[k])]));

/** A fake HTTP layer that answers one recorded body. */
const replay = (status: number, text: string): MoodleHttp => ({ send: async (req) => ({ status, ok: status < 300, text, url: req.url }) });

describe('Sandbox Moodle web services vs a real Moodle 4.5.6', () => {
  let lms: SandboxLms;
  let courseId: string;
  let learnerIds: string[];

  const post = async (params: Record<string, string>) => {
    const res = await fetch(`${lms.baseUrl}/webservice/rest/server.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ moodlewsrestformat: 'json', ...params }),
    });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
  };

  before(async () => {
    lms = await startSandboxLms();
    const c = lms.sandbox.store.createCourse({ title: 'Fixture course', quirks: 'moodle', learners: 3, items: 2, scoreMaximum: 20, score: (l, i) => (l === 0 && i === 1 ? null : 12 + l) });
    courseId = c.course.id;
    learnerIds = c.learnerIds;
  });
  after(async () => lms.close());
  afterEach(() => {
    lms.sandbox.moodleWs.webServicesEnabled = true;
  });

  describe('error answers: the same bodies, HTTP 200', () => {
    const cases: [string, string, () => Record<string, string>][] = [
      ['a revoked token', 'gradereport_user_get_grade_items.revoked-token.json', () => ({ wstoken: 'f'.repeat(32), wsfunction: 'gradereport_user_get_grade_items', courseid: courseId })],
      ['a function not in the service', 'core_course_get_courses.not-in-service.json', () => ({ wstoken: lms.sandbox.moodleWs.createToken({ functions: ['core_enrol_get_enrolled_users'] }).token, wsfunction: 'gradereport_user_get_grade_items', courseid: courseId })],
      ['a function Moodle does not have', 'no_such_function.json', () => ({ wstoken: lms.sandbox.moodleWs.createToken().token, wsfunction: 'local_nothing_here' })],
      [
        'a user without moodle/grade:viewall',
        'gradereport_user_get_grade_items.no-viewall.json',
        () => ({ wstoken: lms.sandbox.moodleWs.createToken({ capabilities: Object.keys(SANDBOX_WS_CAPABILITIES).filter((c) => c !== 'moodle/grade:viewall') }).token, wsfunction: 'gradereport_user_get_grade_items', courseid: courseId }),
      ],
      ['completion tracking off', 'core_completion_get_course_completion_status.tracking-off.json', () => ({ wstoken: lms.sandbox.moodleWs.createToken().token, wsfunction: 'core_completion_get_course_completion_status', courseid: courseId, userid: learnerIds[0]! })],
    ];
    for (const [what, file, params] of cases) {
      it(what, async () => {
        const res = await post(params());
        expect(res.status).to.equal(200);
        expect(res.type).to.contain('application/json');
        expect(res.text).to.equal(fixture(file));
      });
    }

    it('web services disabled: 403 with an empty body', async () => {
      lms.sandbox.moodleWs.webServicesEnabled = false;
      const res = await post({ wstoken: lms.sandbox.moodleWs.createToken().token, wsfunction: 'gradereport_user_get_grade_items', courseid: courseId });
      expect(res.status).to.equal(403);
      expect(res.text).to.equal(fixture('gradereport_user_get_grade_items.webservices-disabled.json'));
    });
  });

  describe('gradereport_user_get_grade_items: the same fields and types', () => {
    it('per user, per graded item, per ungraded item and for the course total', async () => {
      const real = JSON.parse(fixture('gradereport_user_get_grade_items.full.json'));
      const res = await post({ wstoken: lms.sandbox.moodleWs.createToken().token, wsfunction: 'gradereport_user_get_grade_items', courseid: courseId });
      const ours = JSON.parse(res.text);
      expect(Object.keys(ours).sort()).to.deep.equal(Object.keys(real).sort());
      const { gradeitems: realItems, ...realUser } = real.usergrades[0];
      const { gradeitems: ourItems, ...ourUser } = ours.usergrades[0];
      expect(shape(ourUser)).to.deep.equal(shape(realUser));
      const pick = (items: Record<string, unknown>[], test: (g: Record<string, unknown>) => boolean) => items.find(test)!;
      const realAll = real.usergrades.flatMap((u: { gradeitems: unknown[] }) => u.gradeitems) as Record<string, unknown>[];
      const ourAll = ours.usergrades.flatMap((u: { gradeitems: unknown[] }) => u.gradeitems) as Record<string, unknown>[];
      const graded = (g: Record<string, unknown>) => g.itemtype === 'mod' && g.graderaw !== null && g.gradedatesubmitted === null;
      const ungraded = (g: Record<string, unknown>) => g.itemtype === 'mod' && g.graderaw === null;
      const total = (g: Record<string, unknown>) => g.itemtype === 'course';
      expect(shape(pick(ourAll, graded)), 'a graded activity').to.deep.equal(shape(pick(realAll, graded)));
      expect(shape(pick(ourAll, ungraded)), 'an ungraded activity').to.deep.equal(shape(pick(realAll, ungraded)));
      expect(shape(pick(ourAll, total)), 'the course total').to.deep.equal(shape(pick(realAll, total)));
      expect(pick(ourAll, ungraded)).to.include({ weightraw: 0, status: 'novalue', percentageformatted: '-', gradeformatted: '-' });
    });
  });

  describe('core_enrol_get_enrolled_users: the same fields for the fields asked', () => {
    it('with userfields=id,username,fullname,email,idnumber,roles and a page of 2', async () => {
      const real = JSON.parse(fixture('core_enrol_get_enrolled_users.paged.json'));
      const caps = Object.keys(SANDBOX_WS_CAPABILITIES).filter((c) => c !== 'moodle/user:viewalldetails'); // as the real token
      const res = await post({
        wstoken: lms.sandbox.moodleWs.createToken({ capabilities: caps }).token,
        wsfunction: 'core_enrol_get_enrolled_users',
        courseid: courseId,
        'options[0][name]': 'limitfrom',
        'options[0][value]': '0',
        'options[1][name]': 'limitnumber',
        'options[1][value]': '2',
        'options[2][name]': 'userfields',
        'options[2][value]': 'id,username,fullname,email,idnumber,roles',
      });
      const ours = JSON.parse(res.text);
      expect(ours).to.have.length(2);
      expect(shape(ours[0])).to.deep.equal(shape(real[0]));
      expect(shape(ours[0].roles[0])).to.deep.equal(shape(real[0].roles[0]));
    });
  });

  describe('core_completion_get_course_completion_status: as the real one answers, and over time', () => {
    const statusOf = async (userId: string) => {
      const res = await post({ wstoken: lms.sandbox.moodleWs.createToken().token, wsfunction: 'core_completion_get_course_completion_status', courseid: courseId, userid: userId });
      return (JSON.parse(res.text) as { completionstatus: { completed: boolean; completions: Record<string, unknown>[] } }).completionstatus;
    };
    beforeEach(() => lms.sandbox.moodleWs.setCompletion(courseId, { enabled: true, passPercent: 50 }));
    afterEach(() => lms.sandbox.moodleWs.setCompletion(courseId, null));

    it('has the same fields, and says the grade and the requirement in course-total points', async () => {
      const real = (JSON.parse(fixture('core_completion_get_course_completion_status.complete.json')) as { completionstatus: { completed: boolean; completions: Record<string, unknown>[] } }).completionstatus;
      const ours = await statusOf(learnerIds[2]!);
      expect(shape(ours)).to.deep.equal(shape(real));
      expect(shape(ours.completions[0]!)).to.deep.equal(shape(real.completions[0]!));
      expect(shape(ours.completions[0]!.details as Record<string, unknown>)).to.deep.equal(shape(real.completions[0]!.details as Record<string, unknown>));
      // learner 2: 14 + 14 of 40 points, 50 % required = 20 points; Moodle wrote "45.00 (40.00 required)"
      expect(ours.completions[0]).to.deep.include({ status: '28.00 (20.00 required)', complete: true });
      expect(ours.completions[0]!.details).to.deep.equal({ type: 'Course grade', criteria: 'Required course grade', requirement: '20.00', status: '28.00' });
    });

    it('keeps a completion and its time once marked, even after the grade falls under the requirement', async () => {
      const learner = learnerIds[1]!;
      const items = lms.sandbox.store.listLineItems(courseId);
      const first = await statusOf(learner);
      expect(first.completed).to.equal(true);
      const at = first.completions[0]!.timecompleted;
      expect(at).to.be.a('number');
      await new Promise((r) => setTimeout(r, 1100));
      for (const item of items) lms.sandbox.store.setScore(courseId, item.id, learner, 1);
      try {
        // As a real Moodle 4.5.6 did (test/real-lms/moodle-completion-check.sh): still complete, same time.
        const later = await statusOf(learner);
        expect(later.completed).to.equal(true);
        expect(later.completions[0]).to.deep.include({ timecompleted: at, status: '2.00 (20.00 required)' });
      } finally {
        for (const item of items) lms.sandbox.store.setScore(courseId, item.id, learner, 13);
      }
    });
  });

  describe('the client reads the real answers', () => {
    const client = (status: number, file: string) => createMoodleWsClient({ baseUrl: 'http://moodle.invalid', token: 't', http: replay(status, fixture(file)) });

    it('grade items: learners, items, ungraded as null', async () => {
      const usergrades = await client(200, 'gradereport_user_get_grade_items.full.json').getGradeItems(8);
      expect(usergrades).to.have.length(5);
      const emmy = usergrades.find((u) => u.userid === 9)!;
      expect(emmy.gradeitems.find((g) => g.itemname === 'Oral exam')!.graderaw).to.equal(null);
      expect(emmy.gradeitems.find((g) => g.itemtype === 'course')).to.include({ graderaw: 29, grademax: 30 });
      expect(missingItemsAdvice(usergrades)).to.equal(null);
    });

    it('the answer without mod/*:view is recognised: the course total counts items Moodle did not show', async () => {
      const usergrades = await client(200, 'gradereport_user_get_grade_items.no-mod-view.json').getGradeItems(8);
      expect(missingItemsAdvice(usergrades)?.message).to.contain('mod/quiz:view').and.contain('moodle/course:viewhiddenactivities');
    });

    const errors: [string, number, string, new (...a: never[]) => Error, RegExp][] = [
      ['revoked token', 200, 'gradereport_user_get_grade_items.revoked-token.json', MoodleInvalidTokenError, /creates a new token/],
      ['no viewall', 200, 'gradereport_user_get_grade_items.no-viewall.json', MoodleMissingCapabilityError, /moodle\/grade:viewall/],
      ['not in service', 200, 'core_course_get_courses.not-in-service.json', MoodleFunctionNotAllowedError, /add gradereport_user_get_grade_items/],
      ['no such function', 200, 'no_such_function.json', MoodleUnknownFunctionError, /no web-service function gradereport_user_get_grade_items/],
      ['tracking off', 200, 'core_completion_get_course_completion_status.tracking-off.json', MoodleCompletionUnavailableError, /completion tracking is off/],
      ['web services disabled', 403, 'gradereport_user_get_grade_items.webservices-disabled.json', MoodleServiceUnavailableError, /switched off/],
    ];
    for (const [what, status, file, type, message] of errors) {
      it(what, async () => {
        const err = await client(status, file).getGradeItems(8).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(type);
        expect((err as Error).message).to.match(message);
      });
    }
  });
});

/**
 * The whole story of Moodle web services, end to end through the sandbox's Moodle: the
 * administrator sets up a token on /admin/moodle, the teacher turns "Moodle gradebook" on and
 * syncs, a learner at 80% over the course's activities gets a certificate (one at 70% does not),
 * and a grade changed in the Moodle gradebook makes the certificate stale after the next sync.
 *
 * The course grants the tool neither AGS nor NRPS (a Moodle where the teacher never ticked the
 * tool's grade options): every grade and the roster come through web services alone.
 */
import { definitionFormFields, launchAs } from '../support/e2e';
import { expect } from 'chai';
import { backdateLearnerRefreshes, settleLearnerRefreshes } from '../../src/grades/learner-refresh';
import { Types } from 'mongoose';
import { issueModel } from '../../src/certificates/issue.model';
import { courseModel } from '../../src/courses/course.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { moodleConnectionModel, moodleCourseSettingModel } from '../../src/grades/moodle/moodle-connection.model';
import { ROLE } from '../../src/sandbox/lti-vocabulary';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { all, attr, parseHtml, text } from '../support/html';

const definitionFields = (overrides: Record<string, string> = {}): Record<string, string> => definitionFormFields({ issuerName: 'Moodle Academy', ...overrides });

describe('Moodle gradebook over web services (admin → teacher → learner)', function () {
  this.timeout(60_000);
  let t: TestApp;
  const SCORES = [
    [8, 8, 8, 8, 8], // 80%: qualifies
    [7, 7, 7, 7, 7], // 70%
    [9, 9, 9, 9, null], // one activity not graded yet
  ];

  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
  });

  const launch = async (courseId: string, userId: string) => {
    const launched = await launchAs(t, courseId, userId);
    return { ...launched, teacher: `${launched.app}/teacher` };
  };

  it('issues for exactly the learner at 80%, and flags the certificate stale when the grade changes in Moodle', async () => {
    const c = t.sandbox.store.createCourse({ title: 'Moodle WS story', quirks: 'moodle', learners: 3, items: 5, scoreMaximum: 10, permittedScopes: [], score: (l, i) => SCORES[l]![i]! });
    const [ada, bram, chloe] = c.learnerIds as [string, string, string];

    // The teacher's first visit, before anything is set up: no Moodle gradebook offered.
    let teacher = await launch(c.course.id, c.teacherIds[0]!);
    expect(teacher.page.html).not.to.contain('data-moodle-source');

    // The administrator sets up web services with a sandbox token (Site administration › Web services).
    const admin = new HttpBrowser();
    await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    const token = t.sandbox.moodleWs.createToken().token;
    const saved = await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, token } });
    expect(saved.status).to.equal(303);
    const tested = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(tested!.lastTest!.courseId, 'the test used the course the tool was opened from').to.equal(Number(c.course.id));
    expect(tested!.lastTest!.checks.filter((x) => x.wsfunction !== 'core_completion_get_course_completion_status').every((x) => x.ok)).to.equal(true);

    // The teacher turns it on: a sync starts at once.
    teacher = await launch(c.course.id, c.teacherIds[0]!);
    const offer = parseHtml(teacher.page.html);
    expect(attr(offer, '[data-moodle-source]', 'data-moodle-source')).to.equal('off');
    const on = await teacher.browser.request(`${teacher.teacher}/grades/moodle`, { form: { enabled: 'on' } });
    expect(on.status).to.equal(303);
    await t.app.ctx.jobs.drain();

    const course = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.id }).lean();
    const columns = await lineItemModel(t.db.connection).find({ courseId: course!._id, source: 'moodle' }).lean();
    expect(columns.map((x) => x.label).sort()).to.deep.equal(['Activity 1', 'Activity 2', 'Activity 3', 'Activity 4', 'Activity 5', 'Course total']);
    expect(columns.find((x) => x.label === 'Course total')!.kind).to.equal('course-total');
    // No NRPS here: the roster came from core_enrol_get_enrolled_users.
    const learners = await memberModel(t.db.connection).find({ courseId: course!._id, isLearner: true }).lean();
    expect(learners.map((m) => m.userId).sort()).to.deep.equal([ada, bram, chloe].sort());
    const run = await syncRunModel(t.db.connection).findOne({ courseId: course!._id, source: 'moodle' }).sort({ startedAt: -1 }).lean();
    expect(run!.status).to.equal('succeeded');

    const page = await teacher.browser.open(teacher.teacher);
    expect(attr(page.html, '[data-moodle-source]', 'data-moodle-source')).to.equal('on');
    // Without AGS and NRPS, the page no longer says the platform shares no grades.
    expect(text(page.html)).not.to.contain('does not share grades');
    expect(text(page.html, '[data-moodle-status]')).to.contain('succeeded').and.contain('6 grade items');

    // A certificate over every activity at 80%, all graded.
    const created = await teacher.browser.open(`${teacher.teacher}/definitions`, { form: definitionFields() });
    const definitionId = /\/definitions\/([0-9a-f]{24})\?notice=created$/.exec(created.url)![1]!;

    const claim = async (userId: string) => {
      const l = await launch(c.course.id, userId);
      return l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
    };
    expect((await claim(ada)).status, 'Ada at 80%').to.equal(303);
    expect((await claim(bram)).status, 'Bram at 70%').to.equal(403);
    expect((await claim(chloe)).status, 'Chloé has an activity not graded').to.equal(403);
    const issued = await issueModel(t.db.connection).find({ definitionId: new Types.ObjectId(definitionId) }).lean();
    expect(issued.map((i) => [i.userId, i.scorePercent])).to.deep.equal([[ada, 80]]);

    // In Moodle, Ada's Activity 1 is regraded 4/10; the next sync makes her certificate stale.
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[0]!, ada, 4);
    await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} });
    await t.app.ctx.jobs.drain();
    const overview = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`);
    const row = all(parseHtml(overview.html), 'tr[data-user-id]').find((r) => r.getAttribute('data-user-id') === ada)!;
    expect(row.getAttribute('data-status')).to.equal('stale');
    expect(text(row)).to.contain('issued at 80%, now 72%');

    // A learner's own launch refreshes her grades from Moodle (userid=<sub>), without a teacher's sync.
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, bram, 10);
    // Bram comes back two minutes after his claim (within a minute the page would not ask Moodle again).
    backdateLearnerRefreshes(2 * 60_000);
    const bramPage = await launch(c.course.id, bram);
    expect(bramPage.page.status).to.equal(200);
    // Bram's page was refreshed minutes ago (his claim): this one shows his stored grades at once
    // and refreshes them in the background.
    await settleLearnerRefreshes();
    const item2 = columns.find((x) => x.label === 'Activity 2')!;
    const fresh = await resultModel(t.db.connection).findOne({ courseId: course!._id, lineItemId: item2._id, userId: bram }).lean();
    expect(fresh!.scoreGiven).to.equal(10);
    const learnerRun = await syncRunModel(t.db.connection).findOne({ courseId: course!._id, source: 'moodle', scope: 'learner', userId: bram }).lean();
    expect(learnerRun!.status).to.equal('succeeded');
  });

  it('reads the tool’s own activities once: over AGS, not again from the Moodle gradebook', async () => {
    const c = t.sandbox.store.createCourse({ title: 'AGS and WS', quirks: 'moodle', learners: 2, items: 2, scoreMaximum: 10, score: () => 7 });
    const quiz = t.sandbox.store.addLineItem(c.course.id, { label: 'Quiz 1', scoreMaximum: 20, module: 'quiz' });
    for (const id of c.learnerIds) t.sandbox.store.setScore(c.course.id, quiz.id, id, 15);
    const admin = new HttpBrowser();
    await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, token: t.sandbox.moodleWs.createToken().token, testCourseId: c.course.id } });
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    await teacher.browser.request(`${teacher.teacher}/grades/moodle`, { form: { enabled: 'on' } });
    await t.app.ctx.jobs.drain();
    const course = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.id }).lean();
    const current = await lineItemModel(t.db.connection).find({ courseId: course!._id, removedAt: null }).lean();
    expect(current.map((i) => `${i.source}:${i.label}`).sort()).to.deep.equal(['ags:Activity 1', 'ags:Activity 2', 'moodle:Course total', 'moodle:Quiz 1']);
  });

  it('a teacher cannot turn it on while the administrator has not set it up, and nothing is stored', async () => {
    await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
    const c = t.sandbox.store.createCourse({ title: 'No setup', quirks: 'moodle', learners: 1, items: 1 });
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    const res = await teacher.browser.request(`${teacher.teacher}/grades/moodle`, { form: { enabled: 'on' } });
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('has not set up Moodle web services');
    const course = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.id }).lean();
    expect(await lineItemModel(t.db.connection).countDocuments({ courseId: course!._id, source: 'moodle' })).to.equal(0);
  });

  it('a teaching assistant cannot switch it (connecting gradebooks is for instructors), and nothing is stored', async () => {
    const c = t.sandbox.store.createCourse({ title: 'TA tries', quirks: 'moodle', learners: 1, items: 1 });
    const ta = t.sandbox.store.addUser({ givenName: 'Tara', familyName: 'Assistant' });
    t.sandbox.store.enrol(c.course.id, ta.id, [ROLE.instructor, ROLE.teachingAssistant]);
    const l = await launch(c.course.id, ta.id);
    const res = await l.browser.request(`${l.teacher}/grades/moodle`, { form: { enabled: 'on' } });
    expect(res.status).to.equal(403);
    expect(await moodleCourseSettingModel(t.db.connection).countDocuments({ 'changedBy.userId': ta.id })).to.equal(0);
  });

  it('a learner cannot switch it', async () => {
    const c = t.sandbox.store.createCourse({ title: 'Learner tries', quirks: 'moodle', learners: 1, items: 1 });
    const learner = await launch(c.course.id, c.learnerIds[0]!);
    const res = await learner.browser.request(`${learner.app}/teacher/grades/moodle`, { form: { enabled: 'on' } });
    expect(res.status).to.equal(403);
  });
});

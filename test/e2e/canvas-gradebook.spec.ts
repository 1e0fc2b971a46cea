/**
 * Canvas REST as a grade source, end to end through the sandbox's Canvas mode (issue #17): the
 * administrator enters the Canvas API key on /admin/canvas, a teacher authorises the tool with
 * OAuth2 (Canvas's "Authorize" page, a code, the token exchange), the sync reads the course's
 * assignments, assignment groups with their weights and course scores, a certificate over the
 * groups "as Canvas weighs them" issues for exactly the learners who reached 80%, and a regraded
 * submission makes it stale after the next sync. Then every failure: a refused grant, a wrong key,
 * a missing scope, a revoked grant (401), a paging loop, an answer that is not JSON.
 */
import { definitionFormFields, launchAs } from '../support/e2e';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { issueModel } from '../../src/certificates/issue.model';
import { courseModel } from '../../src/courses/course.model';
import { canvasGrantModel, canvasKeyModel, canvasOAuthStateModel, canvasUserModel } from '../../src/grades/canvas/canvas.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import type { CreatedCourse } from '../../src/sandbox/sandbox';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf } from '../support/browser';
import { all, attr, parseHtml, text } from '../support/html';

const definitionFields = (overrides: Record<string, string> = {}): Record<string, string> => definitionFormFields({ issuerName: 'Canvas Academy', itemsMode: 'groups', ...overrides });

describe('Canvas gradebook over REST with OAuth2 (admin → teacher → learner)', function () {
  this.timeout(60_000);
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
  });
  afterEach(() => {
    t.sandbox.canvas.htmlAnswers = 0;
    t.sandbox.canvas.pagingLoop = false;
  });

  const launch = async (courseId: string, userId: string) => {
    const launched = await launchAs(t, courseId, userId);
    return { ...launched, teacher: `${launched.app}/teacher` };
  };

  const admin = async () => {
    const b = new HttpBrowser();
    await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    return b;
  };

  const saveKey = async (secret = t.sandbox.canvasApiKey!.secret) => {
    const b = await admin();
    const res = await b.request(`${t.baseUrl}/admin/canvas/save`, { form: { issuer: t.sandbox.issuer, clientId: t.sandbox.canvasApiKey!.clientId, clientSecret: secret } });
    expect(res.status, await res.clone().text()).to.equal(303);
    return b;
  };

  /** The teacher clicks "Authorise Canvas" (a new tab), picks themselves on Canvas's page and accepts or cancels. */
  const authorise = async (teacher: Awaited<ReturnType<typeof launch>>, canvasUserId: string, decision: 'accept' | 'deny' = 'accept') => {
    const start = await teacher.browser.request(`${teacher.teacher}/grades/canvas/authorize`, { form: {} });
    expect(start.status).to.equal(303);
    const authUrl = start.headers.get('location')!;
    expect(authUrl.startsWith(`${t.sandbox.issuer}/login/oauth2/auth?`), authUrl).to.equal(true);
    const consent = await teacher.browser.open(authUrl);
    expect(consent.status, consent.html.slice(0, 300)).to.equal(200);
    const doc = parseHtml(consent.html);
    const fields: Record<string, string> = { decision, user_id: canvasUserId };
    for (const input of all(doc, 'form input[type=hidden]')) fields[input.getAttribute('name')!] = input.getAttribute('value') ?? '';
    const back = await teacher.browser.request(`${t.sandbox.issuer}/login/oauth2/confirm`, { form: fields });
    expect(back.status).to.equal(302);
    const callback = back.headers.get('location')!;
    expect(callback.startsWith(`${t.baseUrl}/canvas/oauth/callback?`), callback).to.equal(true);
    return teacher.browser.open(callback);
  };

  /** A Canvas course: Homework (40%) = assignments 1–2, Exams (60%) = assignments 3–4, weights applied. */
  const canvasCourse = (scores: Array<Array<number | null>>): CreatedCourse & { groups: { homework: number; exams: number } } => {
    const c = t.sandbox.store.createCourse({ title: `Canvas ${Math.random().toString(36).slice(2, 7)}`, quirks: 'canvas', learners: scores.length, items: 4, itemModule: 'assign', scoreMaximum: 10, score: (l, i) => scores[l]![i]! });
    const site = t.sandbox.canvas;
    const homework = site.addGroup(c.course.id, { name: 'Homework', weight: 40 });
    const exams = site.addGroup(c.course.id, { name: 'Exams', weight: 60 });
    c.lineItemIds.forEach((id, i) => site.putInGroup(c.course.id, id, i < 2 ? homework.id : exams.id));
    site.setApplyWeights(c.course.id, true);
    return { ...c, groups: { homework: homework.id, exams: exams.id } };
  };

  const toolCourseOf = async (c: CreatedCourse) => (await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.opaqueContextId }).lean())!;
  const lastRun = async (courseId: Types.ObjectId) => syncRunModel(t.db.connection).findOne({ courseId, source: 'canvas', scope: 'course' }).sort({ startedAt: -1 }).lean();

  it('issues over the assignment groups weighted as Canvas weighs them, for exactly the learners at 80%, and goes stale on a regrade', async () => {
    const c = canvasCourse([
      [10, 10, 7, 7], // Ada: 40 × 100% + 60 × 70% = 82%
      [5, 5, 9, 9], // Bram: 20 + 54 = 74%
      [10, 10, null, null], // Chloé: no exam graded yet (Canvas's current score says 100%)
    ]);
    const [ada, bram, chloe] = c.learnerIds as [string, string, string];
    const teacherId = c.teacherIds[0]!;

    // Before the administrator's key, nothing Canvas is offered to the teacher.
    await canvasKeyModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
    let teacher = await launch(c.course.id, teacherId);
    expect(teacher.page.html).not.to.contain('data-canvas-source');

    // The administrator copies the sandbox Canvas's API key (Admin › Developer Keys) to /admin/canvas; the key check passes.
    const adminBrowser = await saveKey();
    const adminPage = await adminBrowser.open(`${t.baseUrl}/admin/canvas`);
    expect(attr(adminPage.html, `[data-issuer="${t.sandbox.issuer}"] [data-canvas-test]`, 'data-canvas-test')).to.equal('ok');
    const stored = await canvasKeyModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(JSON.stringify(stored)).not.to.contain(t.sandbox.canvasApiKey!.secret);

    // The teacher authorises: Canvas's page asks for exactly the tool's scopes, the callback says it worked.
    teacher = await launch(c.course.id, teacherId);
    await t.app.ctx.jobs.drain();
    expect(attr(teacher.page.html, '[data-canvas-source]', 'data-canvas-source')).to.equal('none');
    const done = await authorise(teacher, teacherId);
    expect(done.status, done.html.slice(0, 500)).to.equal(200);
    expect(attr(done.html, '[data-canvas-authorisation]', 'data-canvas-authorisation')).to.equal('ok');
    const grant = await canvasGrantModel(t.db.connection).findOne({ courseId: (await toolCourseOf(c))._id }).lean();
    expect(grant!.status).to.equal('active');
    expect(JSON.stringify(grant)).not.to.match(/"accessToken":"1~/);
    await t.app.ctx.jobs.drain();

    const course = await toolCourseOf(c);
    const columns = await lineItemModel(t.db.connection).find({ courseId: course._id, source: 'canvas', removedAt: null }).lean();
    expect(columns.map((x) => x.label).sort()).to.deep.equal(
      [
        'Activity 1', 'Activity 2', 'Activity 3', 'Activity 4',
        'Assignments (assignment group)', 'Exams (assignment group)', 'Homework (assignment group)',
        'Current score (Canvas)', 'Final score (Canvas)',
        'Current score with unposted grades (Canvas, teachers only)', 'Final score with unposted grades (Canvas, teachers only)',
      ].sort(),
    );
    expect(columns.find((x) => x.label === 'Exams (assignment group)')!.weight).to.equal(60);
    const run = await lastRun(course._id);
    expect(run!.status, JSON.stringify(run!.errors)).to.equal('succeeded');
    // Canvas's own current score reached the tool too.
    const current = columns.find((x) => x.externalId === 'canvas:score:current')!;
    const scores = await resultModel(t.db.connection).find({ courseId: course._id, lineItemId: current._id }).lean();
    const subOf = (id: string) => t.sandbox.store.getUser(id)!.ltiId;
    expect(Object.fromEntries(scores.map((r) => [r.userId, r.scoreGiven]))).to.deep.equal({ [subOf(ada)]: 82, [subOf(bram)]: 74, [subOf(chloe)]: 100 });

    const page = await teacher.browser.open(teacher.teacher);
    expect(attr(page.html, '[data-canvas-source]', 'data-canvas-source')).to.equal('active');
    expect(text(page.html, '[data-canvas-status]')).to.contain('succeeded');

    // A certificate over the assignment groups as Canvas weighs them, 80%, every group graded.
    const form = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
    expect(form.html).to.contain('value="groups"');
    const created = await teacher.browser.open(`${teacher.teacher}/definitions`, { form: definitionFields() });
    const definitionId = /\/definitions\/([0-9a-f]{24})\?notice=created$/.exec(created.url)![1]!;
    const claim = async (userId: string) => {
      const l = await launch(c.course.id, userId);
      return l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
    };
    const adaClaim = await claim(ada);
    expect(adaClaim.status, await adaClaim.clone().text()).to.equal(303);
    expect((await claim(bram)).status, 'Bram at 74%').to.equal(403);
    expect((await claim(chloe)).status, 'Chloé has no exam graded').to.equal(403);
    const issued = await issueModel(t.db.connection).find({ definitionId: new Types.ObjectId(definitionId) }).lean();
    expect(issued.map((i) => [i.userId, Math.round(i.scorePercent * 100) / 100])).to.deep.equal([[subOf(ada), 82]]);

    // In Canvas, Ada's first exam is regraded 4/10: after the next sync her certificate is stale.
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[2]!, ada, 4);
    await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} });
    await t.app.ctx.jobs.drain();
    const overview = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`);
    const row = all(parseHtml(overview.html), 'tr[data-user-id]').find((r) => r.getAttribute('data-user-id') === subOf(ada))!;
    expect(row.getAttribute('data-status')).to.equal('stale');
    expect(text(row)).to.contain('issued at 82%, now 73%');

    // Canvas user ids were matched once (lti_1_3_id lookups) and remembered.
    expect(await canvasUserModel(t.db.connection).countDocuments({ issuer: t.sandbox.issuer, sub: { $in: [ada, bram, chloe].map(subOf) } })).to.equal(3);
  });

  it('excused, late and unposted submissions count as Canvas counts them', async () => {
    const c = canvasCourse([[10, 6, 8, 8]]);
    const [ada] = c.learnerIds as [string];
    const site = t.sandbox.canvas;
    site.setSubmissionState(c.lineItemIds[1]!, ada, { excused: true }); // Homework 2 excused: homework = 100%
    site.setSubmissionState(c.lineItemIds[2]!, ada, { late: true, pointsDeducted: 2 }); // Exam 1: 8 − 2 late = 6
    site.setSubmissionState(c.lineItemIds[3]!, ada, { posted: false }); // Exam 2 graded, not posted
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain(); // the launch's own sync (AGS/NRPS) first: an authorisation during it is read by the next one
    await authorise(teacher, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    const course = await toolCourseOf(c);
    const byExternal = new Map((await lineItemModel(t.db.connection).find({ courseId: course._id, source: 'canvas' }).lean()).map((li) => [li.externalId, li]));
    const result = async (externalId: string) => (await resultModel(t.db.connection).findOne({ courseId: course._id, lineItemId: byExternal.get(externalId)!._id }).lean())!;
    expect((await result(`canvas:assignment:${c.lineItemIds[1]}`)).scoreGiven, 'excused').to.equal(null);
    expect((await result(`canvas:assignment:${c.lineItemIds[1]}`)).comment).to.equal('Excused in Canvas');
    expect((await result(`canvas:assignment:${c.lineItemIds[2]}`)).scoreGiven, 'late deduction').to.equal(6);
    expect((await result(`canvas:assignment:${c.lineItemIds[3]}`)).scoreGiven, 'not posted').to.equal(null);
    expect((await result(`canvas:group:${c.groups.homework}`)).scoreGiven).to.equal(100);
    expect((await result(`canvas:group:${c.groups.exams}`)).scoreGiven).to.equal(60);
    expect((await result('canvas:score:current')).scoreGiven).to.equal(76); // 40 + 60 × 60%
    expect((await result('canvas:score:unposted_current')).scoreGiven).to.equal(82); // with Exam 2's 8/10
  });

  it('a refused grant stores nothing and tells the teacher to authorise again', async () => {
    const c = canvasCourse([[10, 10, 10, 10]]);
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    const done = await authorise(teacher, c.teacherIds[0]!, 'deny');
    expect(done.status).to.equal(400);
    expect(text(done.html, '[data-canvas-message]')).to.contain('declined').and.contain('Authorise Canvas');
    expect(done.html).to.contain(`/app/${sessionOf(teacher.page.url)}/teacher`);
    expect(await canvasGrantModel(t.db.connection).countDocuments({ courseId: (await toolCourseOf(c))._id })).to.equal(0);
  });

  it('a callback with a forged or replayed state, or from another browser, is refused and stores nothing', async () => {
    const c = canvasCourse([[10, 10, 10, 10]]);
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    const start = await teacher.browser.request(`${teacher.teacher}/grades/canvas/authorize`, { form: {} });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const code = t.sandbox.canvas.issueCode(t.sandbox.canvasApiKey!.clientId, c.teacherIds[0]!, [], '');
    // An attacker's browser (no cookie) brings the victim's state: refused, and the state is spent.
    const attacker = new HttpBrowser();
    const stolen = await attacker.open(`${t.baseUrl}/canvas/oauth/callback?code=${code}&state=${encodeURIComponent(state)}`);
    expect(stolen.status).to.equal(400);
    expect(text(stolen.html, '[data-canvas-message]')).to.contain('another browser');
    const forged = await teacher.browser.open(`${t.baseUrl}/canvas/oauth/callback?code=${code}&state=forged`);
    expect(forged.status).to.equal(400);
    expect(text(forged.html, '[data-canvas-message]')).to.contain('expired or was already used');
    expect(await canvasGrantModel(t.db.connection).countDocuments({ courseId: (await toolCourseOf(c))._id })).to.equal(0);
    expect(await canvasOAuthStateModel(t.db.connection).countDocuments({ session: sessionOf(teacher.page.url) })).to.equal(0);
  });

  it('a wrong key is caught on /admin/canvas, and an authorisation with it stores nothing', async () => {
    const c = canvasCourse([[10, 10, 10, 10]]);
    const adminBrowser = await saveKey('x'.repeat(64));
    const page = await adminBrowser.open(`${t.baseUrl}/admin/canvas`);
    expect(attr(page.html, `[data-issuer="${t.sandbox.issuer}"] [data-canvas-test]`, 'data-canvas-test')).to.equal('failed');
    expect(text(page.html, `[data-issuer="${t.sandbox.issuer}"] [data-canvas-test]`)).to.contain('does not accept this key');
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    const done = await authorise(teacher, c.teacherIds[0]!);
    expect(done.status).to.equal(400);
    expect(text(done.html, '[data-canvas-message]')).to.contain("refused the tool's API developer key").and.contain('Client ID');
    expect(await canvasGrantModel(t.db.connection).countDocuments({ courseId: (await toolCourseOf(c))._id })).to.equal(0);
    await saveKey();
  });

  it('a token without a scope, a revoked grant (401), a paging loop and a non-JSON answer each mark the run and keep what is stored', async () => {
    const c = canvasCourse([[10, 10, 7, 7]]);
    const [ada] = c.learnerIds as [string];
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain(); // the launch's own sync (AGS/NRPS) first: an authorisation during it is read by the next one
    await authorise(teacher, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    const course = await toolCourseOf(c);
    const before = await resultModel(t.db.connection).find({ courseId: course._id, source: 'canvas' }, { userId: 1, scoreGiven: 1, lineItemId: 1 }).sort({ _id: 1 }).lean();
    expect(before.length).to.be.greaterThan(8);
    const sync = async () => {
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[0]!, ada, 1); // a change that must NOT arrive
      await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} });
      await t.app.ctx.jobs.drain();
      const run = (await lastRun(course._id))!;
      const after = await resultModel(t.db.connection).find({ courseId: course._id, source: 'canvas' }, { userId: 1, scoreGiven: 1, lineItemId: 1 }).sort({ _id: 1 }).lean();
      expect(after, 'stored grades untouched').to.deep.equal(before);
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[0]!, ada, 10);
      return run;
    };
    const grant = () => t.sandbox.canvas.activeGrants().find((g) => g.userId === c.teacherIds[0])!;

    // The Canvas administrator narrowed the key: the token lacks the submissions scope.
    const scopes = grant().scopes;
    grant().scopes = scopes.filter((s) => !s.includes('/students/submissions'));
    let run = await sync();
    expect(run.status).to.be.oneOf(['partial', 'failed']);
    expect(run.errors.map((e) => e.message).join(' ')).to.contain('url:GET|/api/v1/courses/:course_id/students/submissions').and.contain('Enforce Scopes');
    grant().scopes = scopes;

    // A paging loop (the next link points back at the page just read) stops the run instead of looping.
    t.sandbox.canvas.pagingLoop = true;
    t.sandbox.canvas.htmlAnswers = 0;
    for (let i = 0; i < 120; i++) t.sandbox.store.enrol(c.course.id, t.sandbox.store.addUser({ givenName: 'Extra', familyName: String(i) }).id, ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
    run = await sync();
    expect(run.errors.map((e) => e.message).join(' ')).to.contain('led back to a page already read');
    t.sandbox.canvas.pagingLoop = false;

    // A login page instead of JSON.
    t.sandbox.canvas.htmlAnswers = 1;
    run = await sync();
    expect(run.status).to.equal('failed');
    expect(run.errors.map((e) => e.message).join(' ')).to.contain('not JSON').and.contain('Canvas address');
    t.sandbox.canvas.htmlAnswers = 0;

    // The teacher deletes the integration in Canvas (Approved Integrations): 401, the refresh is refused.
    t.sandbox.canvas.revokeUser(c.teacherIds[0]!);
    run = await sync();
    expect(run.status).to.equal('failed');
    expect(run.errors.map((e) => e.message).join(' ')).to.contain('Authorise Canvas');
    expect((await canvasGrantModel(t.db.connection).findOne({ courseId: course._id }).lean())!.status).to.equal('revoked');
    const page = await teacher.browser.open(teacher.teacher);
    expect(attr(page.html, '[data-canvas-source]', 'data-canvas-source')).to.equal('revoked');
    expect(page.html).to.contain('data-action="canvas-authorize"');
    // The next sync does not even call Canvas: the revoked grant says so at once.
    const calls = t.sandbox.store.requestLog.length;
    await sync();
    expect(t.sandbox.store.requestLog.slice(calls).filter((e) => e.path.startsWith('/api/v1/'))).to.have.length(0);

    // Authorising again brings it back.
    const again = await authorise(teacher, c.teacherIds[0]!);
    expect(again.status).to.equal(200);
    await t.app.ctx.jobs.drain();
    expect((await lastRun(course._id))!.status).to.equal('succeeded');
  });

  it('an expired access token is refreshed (the refresh token stays) and the sync goes on', async () => {
    const c = canvasCourse([[10, 10, 7, 7]]);
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain(); // the launch's own sync (AGS/NRPS) first: an authorisation during it is read by the next one
    await authorise(teacher, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    const course = await toolCourseOf(c);
    const first = (await canvasGrantModel(t.db.connection).findOne({ courseId: course._id }).lean())!;
    t.sandbox.canvas.expireAccessTokens();
    await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} });
    await t.app.ctx.jobs.drain();
    expect((await lastRun(course._id))!.status).to.equal('succeeded');
    const after = (await canvasGrantModel(t.db.connection).findOne({ courseId: course._id }).lean())!;
    expect(after.refreshedAt, 'refreshed').to.be.instanceOf(Date);
    expect(after.accessToken.data).not.to.equal(first.accessToken.data);
    expect(after.refreshToken.data).to.equal(first.refreshToken.data);
  });

  it("a learner's own launch refreshes her Canvas grades (her submissions only), without a teacher's sync", async () => {
    const c = canvasCourse([[10, 10, 7, 7], [5, 5, 5, 5]]);
    const [ada] = c.learnerIds as [string];
    await saveKey();
    const teacher = await launch(c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    await authorise(teacher, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain();
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[3]!, ada, 10);
    const calls = t.sandbox.store.requestLog.length;
    await launch(c.course.id, ada);
    const course = await toolCourseOf(c);
    const item = (await lineItemModel(t.db.connection).findOne({ courseId: course._id, externalId: `canvas:assignment:${c.lineItemIds[3]}` }).lean())!;
    const sub = t.sandbox.store.getUser(ada)!.ltiId;
    expect((await resultModel(t.db.connection).findOne({ courseId: course._id, lineItemId: item._id, userId: sub }).lean())!.scoreGiven).to.equal(10);
    const asked = t.sandbox.store.requestLog.slice(calls).filter((e) => e.path.endsWith('/students/submissions'));
    expect(asked.map((e) => e.query['student_ids[]'] ?? e.query.student_ids)).to.deep.equal([ada]);
  });

  it('a learner or a TA cannot start an authorisation', async () => {
    const c = canvasCourse([[10, 10, 10, 10]]);
    await saveKey();
    const learner = await launch(c.course.id, c.learnerIds[0]!);
    const res = await learner.browser.request(`${learner.app}/teacher/grades/canvas/authorize`, { form: {} });
    expect(res.status).to.equal(403);
    expect(await canvasOAuthStateModel(t.db.connection).countDocuments({ session: sessionOf(learner.page.url) })).to.equal(0);
  });
});

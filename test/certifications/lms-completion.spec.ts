/**
 * A programme course counts as completed when Moodle marks it complete (web service
 * core_completion_get_course_completion_status, read by the Moodle grade source during a sync;
 * the sandbox answers as completion/classes/external.php does). The certification is issued at
 * the sync that brings the completion — no course certificate needed.
 */
import { expect } from 'chai';
import { awardModel } from '../../src/certifications/award.model';
import { certificationModel } from '../../src/certifications/certification.model';
import { courseModel } from '../../src/courses/course.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { resultModel } from '../../src/grades/result.model';
import { moodleConnectionModel } from '../../src/grades/moodle/moodle-connection.model';
import { registrationKey } from '../../src/web/certifications/admin-certifications.routes';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { launchAs } from '../support/e2e';

describe('Moodle course completion completes a programme course', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
  });

  it('issues the certification at the sync that reads "complete" from Moodle, dated by Moodle\'s completion time', async () => {
    const c = t.sandbox.store.createCourse({ title: `Moodle completion ${Date.now()}`, quirks: 'moodle', learners: 2, items: 2, scoreMaximum: 10, permittedScopes: [], score: (l) => (l === 0 ? 9 : 2) });
    t.sandbox.moodleWs.setCompletion(c.course.id, { enabled: true, passPercent: 50 });
    const [done, notDone] = c.learnerIds as [string, string];
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = (await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.id }).lean())!;

    const admin = new HttpBrowser();
    await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    expect((await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, token: t.sandbox.moodleWs.createToken().token, readCompletion: 'on', testCourseId: c.course.id } })).status).to.equal(303);
    const name = `Completed in Moodle ${Date.now()}`;
    const key = registrationKey(t.sandbox.issuer, t.sandbox.registration.clientId);
    const res = await admin.request(`${t.baseUrl}/admin/certifications/${key}`, {
      form: { name, overview: '', issuerName: 'Academy', kind: 'internal', type: 'perpetual', courses: [String(course._id)], mandatory: [String(course._id)], useLmsCompletion: 'on' },
    });
    expect(res.status).to.equal(303);
    const cert = (await certificationModel(t.db.connection).findOne({ name }).lean())!;
    expect(cert.programme!.useLmsCompletion).to.equal(true);

    // the teacher turns the Moodle gradebook on: the sync reads completion learner by learner
    expect((await teacher.browser.request(`${teacher.app}/teacher/grades/moodle`, { form: { enabled: 'on' } })).status).to.equal(303);
    await t.app.ctx.jobs.drain();
    const awards = await awardModel(t.db.connection).find({ certificationId: cert._id }).lean();
    expect(awards.map((a) => a.userId)).to.deep.equal([done]);
    expect(awards[0]!.basis.map((b) => b.via)).to.deep.equal(['lms']);
    expect(awards.some((a) => a.userId === notDone)).to.equal(false);
    // the completion's own date (Moodle's timecompleted), not the sync's
    const item = (await lineItemModel(t.db.connection).findOne({ courseId: course._id, externalId: 'moodle:completion' }).lean())!;
    const result = (await resultModel(t.db.connection).findOne({ lineItemId: item._id, userId: done }).lean())!;
    expect(result.scoreGiven).to.equal(1);
    expect(awards[0]!.completedAt.toISOString()).to.equal(result.timestamp!.toISOString());
  });
});

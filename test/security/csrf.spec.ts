import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, issueFor, launchAs, sandboxCourse, subjectOf, syncGrades, toolCourse, type Launched } from '../support/e2e';

describe('Cross-site requests carrying a valid session token', function () {
  this.timeout(60_000);
  let t: TestApp;
  let teacher: Launched;
  let definitionId: string;
  let courseId: import('mongoose').Types.ObjectId;

  before(async () => {
    t = await startTestApp();
    const c = sandboxCourse(t, { scores: [[10]], title: 'Forged Forms' });
    teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    const def = await defineCertificate(t, course._id);
    definitionId = String(def._id);
    await issueFor(t, course._id, def, { userId: subjectOf(t, c, c.learnerIds[0]!), name: t.sandbox.store.getUser(c.learnerIds[0]!)!.name });
  });

  const active = () => issueModel(t.db.connection).countDocuments({ courseId, status: 'active' });
  const post = (headers: Record<string, string>) =>
    teacher.browser.request(`${teacher.app}/teacher/definitions/${definitionId}/delete-all`, { form: { reason: 'forged' }, headers });

  it('refuses a POST from another origin (403 with a message) and deletes nothing', async () => {
    const res = await post({ origin: 'https://evil.example', accept: 'application/json' });
    expect(res.status).to.equal(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('forbidden');
    expect(body.error.message).to.equal(
      `This form was sent from another site (https://evil.example), not from ${t.baseUrl}; it was refused to protect your course. Open the tool from your course and try again.`,
    );
    expect(await active()).to.equal(1);
  });

  it('refuses Origin: null (a sandboxed frame) and a foreign Referer without Origin', async () => {
    expect((await post({ origin: 'null' })).status).to.equal(403);
    expect((await post({ referer: 'https://evil.example/page' })).status).to.equal(403);
    expect((await post({ origin: 'http://127.0.0.1:1' })).status).to.equal(403); // same host, other port: another origin
    expect(await active()).to.equal(1);
  });

  it('refuses a cross-site POST to the admin pages too', async () => {
    const res = await fetch(`${t.baseUrl}/admin/login`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'secret=whatever-whatever',
      redirect: 'manual',
    });
    expect(res.status).to.equal(403);
  });

  it('accepts the same POST from the tool\'s own pages', async () => {
    const res = await post({ origin: t.baseUrl, referer: `${teacher.app}/teacher` });
    expect(res.status).to.equal(303);
    expect(await active()).to.equal(0);
  });
});

import { expect } from 'chai';
import { courseModel } from '../../src/courses/course.model';
import { deploymentModel } from '../../src/lti/deployment.model';
import { acceptLaunch } from '../../src/lti/launch.service';
import type { LaunchFault } from '../../src/sandbox/context';
import type { QuirkMode } from '../../src/sandbox/quirks';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, autoPostForm, sessionOf } from '../support/browser';

const MENTOR = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor';

describe('LTI 1.3 launch (sandbox LMS → tool)', function () {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  function newCourse(quirks: QuirkMode = 'standard') {
    return t.sandbox.store.createCourse({ title: `Launch test ${quirks}`, quirks, learners: 3, items: 2, teachers: 1 });
  }
  async function courseExists(c: ReturnType<typeof newCourse>) {
    const contextId = t.sandbox.store.contextIdOf(c.course);
    return (await courseModel(t.db.connection).countDocuments({ contextId, issuer: t.sandbox.issuer })) > 0;
  }

  for (const quirks of ['moodle', 'canvas', 'chamilo', 'standard'] as const) {
    it(`lands a ${quirks} learner on the learner page and a teacher on the teacher page`, async () => {
      const c = newCourse(quirks);
      const learner = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
      expect(learner.status, learner.html.slice(0, 300)).to.equal(200);
      expect(learner.url).to.match(/\/app\/[A-Za-z0-9_-]{43}\/learner$/);
      const teacher = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
      expect(teacher.status, teacher.html.slice(0, 300)).to.equal(200);
      expect(teacher.url).to.match(/\/teacher$/);
      expect(await courseExists(c)).to.equal(true);
    });
  }

  it('records the course with its AGS and NRPS endpoints from a teacher launch', async () => {
    const c = newCourse('chamilo');
    await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
    const course = await courseModel(t.db.connection).findOne({ contextId: t.sandbox.store.contextIdOf(c.course) }).lean();
    expect(course?.services.lineItemsUrl).to.match(/\/api\/courses\/.+\/lineitems/);
    expect(course?.services.membershipsUrl).to.match(/\/memberships/);
    expect(course?.platformFamily).to.equal('chamilo');
  });

  it('refuses a person whose only role is Mentor with a friendly 403 page, and writes nothing', async () => {
    const c = newCourse();
    const mentor = t.sandbox.store.addUser({ givenName: 'Mo', familyName: 'Mentor' });
    t.sandbox.store.enrol(c.course.id, mentor.id, [MENTOR]);
    const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, mentor.id));
    expect(page.status).to.equal(403);
    expect(page.html).to.include('Your role in this course gives no access');
    expect(await courseExists(c)).to.equal(false);
  });

  const refusals: Array<[LaunchFault, number, RegExp]> = [
    ['bad-signature', 401, /not signed by the platform/],
    ['expired', 401, /expired|too long ago/],
    ['wrong-audience', 401, /addressed to another tool/],
    ['wrong-issuer', 401, /another platform than the login/],
    ['wrong-nonce', 401, /nonce mismatch/],
    ['missing-message-type', 401, /message_type/],
  ];
  for (const [fault, status, text] of refusals) {
    it(`refuses a launch with fault "${fault}" (${status}) and writes nothing`, async () => {
      const c = newCourse();
      const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { fault }));
      expect(page.status, page.html.slice(0, 400)).to.equal(status);
      expect(page.html).to.match(text);
      expect(page.url).not.to.include('/app/');
      expect(await courseExists(c)).to.equal(false);
    });
  }

  it('refuses a replayed launch (the same id_token posted twice)', async () => {
    const c = newCourse();
    const browser = new HttpBrowser();
    // Walk the flow by hand to capture the platform's auto-posting form.
    let res = await browser.request(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    let url = new URL(res.headers.get('location')!, t.baseUrl).toString();
    res = await browser.request(url); // tool login → platform auth
    url = new URL(res.headers.get('location')!, url).toString();
    res = await browser.request(url); // platform auth → form
    const form = autoPostForm(await res.text())!;
    const first = await browser.request(form.action, { form: form.fields });
    expect(first.status).to.equal(303);
    const replay = await browser.request(form.action, { form: form.fields });
    expect(replay.status).to.equal(401);
  });

  it('refuses a launch whose state cookie is missing (state mismatch)', async () => {
    const c = newCourse();
    const browser = new HttpBrowser();
    let res = await browser.request(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    let url = new URL(res.headers.get('location')!, t.baseUrl).toString();
    res = await browser.request(url);
    url = new URL(res.headers.get('location')!, url).toString();
    res = await browser.request(url);
    const form = autoPostForm(await res.text())!;
    browser.clearCookies();
    const page = await browser.open(form.action, { form: form.fields });
    expect(page.status).to.equal(401);
    expect(page.html).to.match(/state/);
    expect(await courseExists(c)).to.equal(false);
  });

  it('refuses a direct visit to the launch URL without an id_token', async () => {
    const page = await new HttpBrowser().open(`${t.baseUrl}/lti/launch`);
    expect(page.status).to.equal(401);
    expect(page.html).to.include('opens only through a launch from your course');
  });

  it('accepts and records an unknown deployment of a known client (policy "accept")', async () => {
    const c = newCourse();
    t.sandbox.store.setDeploymentId(c.course.id, 'course-copy-42');
    const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    expect(page.status).to.equal(200);
    const d = await deploymentModel(t.db.connection).findOne({ deploymentId: 'course-copy-42' }).lean();
    expect(d).to.include({ source: 'launch', status: 'accepted' });
  });

  it('refuses a deployment the administrator switched off (403) and writes nothing', async () => {
    const c = newCourse();
    t.sandbox.store.setDeploymentId(c.course.id, 'switched-off-1');
    await deploymentModel(t.db.connection).create({
      issuer: t.sandbox.issuer,
      clientId: t.sandbox.registration.clientId,
      deploymentId: 'switched-off-1',
      source: 'admin',
      status: 'refused',
      firstSeenAt: new Date(),
    });
    const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    expect(page.status).to.equal(403);
    expect(page.html).to.include('switched off');
    expect(await courseExists(c)).to.equal(false);
  });

  it('refuses an unknown deployment under policy "refuse"', async () => {
    const outcome = await acceptLaunch({ conn: t.db.connection, now: () => new Date(), unknownDeployment: 'refuse' }, {
      iss: t.sandbox.issuer,
      aud: t.sandbox.registration.clientId,
      sub: 'u1',
      'https://purl.imsglobal.org/spec/lti/claim/message_type': 'LtiResourceLinkRequest',
      'https://purl.imsglobal.org/spec/lti/claim/deployment_id': 'never-seen',
      'https://purl.imsglobal.org/spec/lti/claim/roles': ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
      'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'refuse-policy-ctx' },
    }, { clientId: t.sandbox.registration.clientId });
    expect(outcome.ok).to.equal(false);
    if (!outcome.ok) expect(outcome.failure).to.include({ status: 403, code: 'unknown_deployment' });
    expect(await courseModel(t.db.connection).countDocuments({ contextId: 'refuse-policy-ctx' })).to.equal(0);
  });

  describe('authorization inside the tool', () => {
    it('never lets a learner open a teacher page, whatever URL they type', async () => {
      const c = newCourse();
      const browser = new HttpBrowser();
      const page = await browser.open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
      const s = sessionOf(page.url);
      for (const path of ['teacher', 'teacher/', 'teacher/certificates', 'teacher/audit', 'deep-linking']) {
        const res = await browser.request(`${t.baseUrl}/app/${s}/${path}`);
        expect(res.status, path).to.equal(403);
      }
      const post = await browser.request(`${t.baseUrl}/app/${s}/teacher/sync`, { form: {} });
      expect(post.status).to.equal(403);
    });

    it('answers 401 for a made-up or expired session token', async () => {
      const res = await fetch(`${t.baseUrl}/app/${'A'.repeat(43)}/learner`);
      expect(res.status).to.equal(401);
    });
  });

  it('serves the tool keyset, and GET /healthz and /readyz', async () => {
    const keys = (await (await fetch(`${t.baseUrl}/lti/keys`)).json()) as { keys: Array<{ kid: string; kty: string }> };
    expect(keys.keys.length).to.be.greaterThan(0);
    expect(keys.keys[0]!.kty).to.equal('RSA');
    expect((await fetch(`${t.baseUrl}/healthz`)).status).to.equal(200);
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).to.equal(200);
  });
});

describe('A platform that rotates its keys', function () {
  it('is followed: the next launch, signed with an unknown kid, makes the tool refetch the keyset', async () => {
    const t = await startTestApp();
    const c = t.sandbox.store.createCourse({ title: 'Key rotation', quirks: 'chamilo', learners: 1, items: 1 });
    const before = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    expect(before.status).to.equal(200);
    const oldKid = ((await (await fetch(`${t.sandbox.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys[0]!.kid;
    const newKid = await t.sandbox.rotatePlatformKey();
    expect(newKid).to.not.equal(oldKid);
    const after = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    expect(after.status, after.html.slice(0, 300)).to.equal(200);
    expect(after.url).to.match(/\/learner$/);
  });
});

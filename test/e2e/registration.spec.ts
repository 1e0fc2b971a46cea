import { expect } from 'chai';
import { deploymentModel } from '../../src/lti/deployment.model';
import { memberModel } from '../../src/grades/member.model';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';

describe('Registering the tool', function () {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  async function adminBrowser(): Promise<HttpBrowser> {
    const b = new HttpBrowser();
    const res = await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    expect(res.status).to.equal(303);
    return b;
  }

  describe('LTI Dynamic Registration (sandbox acting as Moodle)', () => {
    it('registers from one URL, waits for activation, then launches', async () => {
      const start = t.sandbox.startDynamicRegistration();
      const page = await new HttpBrowser().open(start.url);
      expect(page.status, page.html.slice(0, 500)).to.equal(200);
      expect(page.html).to.include('must activate this registration');
      expect(page.html).to.include('data-lti-close');

      const platform = await t.app.lti.findPlatform(t.sandbox.issuer, start.clientId);
      expect(platform).to.include({ active: false, issuer: t.sandbox.issuer, clientId: start.clientId });
      const deployments = await deploymentModel(t.db.connection).find({ clientId: start.clientId }).lean();
      expect(deployments.map((d) => d.source)).to.deep.equal(['dynamic-registration']);

      const c = t.sandbox.store.createCourse({ title: 'DynReg course', quirks: 'moodle', learners: 1, items: 1 });
      const refused = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { clientId: start.clientId }));
      expect(refused.status).to.equal(403);
      expect(refused.html).to.include('not activated yet');

      const admin = await adminBrowser();
      const listing = await admin.open(`${t.baseUrl}/admin`);
      expect(listing.html).to.include(start.clientId);
      expect(listing.html).to.include('BEGIN PUBLIC KEY');
      const act = await admin.request(`${t.baseUrl}/admin/platforms/active`, {
        form: { issuer: t.sandbox.issuer, clientId: start.clientId, active: 'true' },
      });
      expect(act.status).to.equal(303);

      const launched = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { clientId: start.clientId }));
      expect(launched.status).to.equal(200);
      expect(launched.url).to.match(/\/learner$/);
      // The registration asked for username=$User.username; the LMS substitutes it on every launch,
      // so gradebook exports that name learners by login can be matched without any setup.
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      const member = await memberModel(t.db.connection).findOne({ userId: t.sandbox.store.subjectOf(c.course, learner) }).lean();
      expect(member?.username).to.be.a('string').and.equal(learner.username);
    });

    it('refuses a registration token used twice (the LMS says so, and the tool tells the administrator)', async () => {
      const start = t.sandbox.startDynamicRegistration();
      expect((await new HttpBrowser().open(start.url)).status).to.equal(200);
      const again = await new HttpBrowser().open(start.url);
      expect(again.status).to.equal(502);
      expect(again.html).to.include('The LMS refused the registration');
    });

    it('answers 400 naming the parameter when opened without openid_configuration', async () => {
      const page = await new HttpBrowser().open(`${t.baseUrl}/lti/register`);
      expect(page.status).to.equal(400);
      expect(page.html).to.include('openid_configuration');
    });
  });

  describe('the administrator page', () => {
    it('asks for the secret and refuses a wrong one', async () => {
      const b = new HttpBrowser();
      expect((await b.open(`${t.baseUrl}/admin`)).html).to.include('administrator secret');
      const wrong = await b.open(`${t.baseUrl}/admin/login`, { form: { secret: 'nope' } });
      expect(wrong.html).to.include('That is not the administrator secret');
      const post = await b.request(`${t.baseUrl}/admin/platforms/active`, { form: { issuer: 'x', clientId: 'y', active: 'true' } });
      expect(post.status).to.equal(401);
    });

    it('shows the URLs to paste and each platform key as PEM', async () => {
      const page = await (await adminBrowser()).open(`${t.baseUrl}/admin`);
      expect(page.html).to.include(`${t.baseUrl}/lti/register`);
      expect(page.html).to.include(`${t.baseUrl}/lti/keys`);
      expect(page.html).to.include('Sandbox LMS');
      expect(page.html).to.include('-----BEGIN PUBLIC KEY-----');
    });

    it('refuses a state change posted from another site', async () => {
      const admin = await adminBrowser();
      const res = await admin.request(`${t.baseUrl}/admin/deployments`, {
        form: { issuer: t.sandbox.issuer, clientId: t.sandbox.registration.clientId, deploymentId: 'evil', status: 'refused' },
        headers: { origin: 'https://evil.example' },
      });
      expect(res.status).to.equal(403);
      expect(await deploymentModel(t.db.connection).countDocuments({ deploymentId: 'evil' })).to.equal(0);
    });
  });
});

describe('Deep linking: the teacher places the tool from the LMS content picker', function () {
  it('returns a signed resource link that the LMS adds to the course', async () => {
    const t = await startTestApp();
    const c = t.sandbox.store.createCourse({ title: 'Deep linking course', quirks: 'moodle', learners: 1, items: 1 });
    const before = t.sandbox.store.getCourse(c.course.id)!.resourceLinks.length;
    const b = new HttpBrowser();
    const picker = await b.open(t.sandbox.launchUrl(c.course.id, c.teacherIds[0]!, { deepLinking: true }));
    expect(picker.status).to.equal(200);
    expect(picker.url).to.match(/\/deep-linking$/);
    const done = await b.open(picker.url, { form: { title: 'Certificates for this course' } });
    expect(done.status, done.html.slice(0, 300)).to.equal(200);
    const links = t.sandbox.store.getCourse(c.course.id)!.resourceLinks;
    expect(links.length).to.equal(before + 1);
    expect(links.at(-1)!.title).to.equal('Certificates for this course');
  });

  it('does not offer the picker to learners', async () => {
    const t = await startTestApp();
    const c = t.sandbox.store.createCourse({ title: 'Deep linking course 2', quirks: 'moodle', learners: 1, items: 1 });
    const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { deepLinking: true }));
    expect(page.status).to.equal(403);
  });
});

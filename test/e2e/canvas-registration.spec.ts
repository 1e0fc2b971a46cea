/**
 * Dynamic registration with the sandbox acting as Canvas (issue #17): the openid configuration
 * only with the registration token, Canvas's claims and placements, the tool asking for
 * course_navigation and link_selection with privacy level "public" and Canvas's own ids as custom
 * fields, Canvas's answer without a deployment id — and then a launch through the new client
 * (the deployment id arrives with it), with an opaque context id and a UUID sub, and NRPS paged by 50.
 */
import { expect } from 'chai';
import { deploymentModel } from '../../src/lti/deployment.model';
import { courseModel } from '../../src/courses/course.model';
import { memberModel } from '../../src/grades/member.model';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';

describe('Registering the tool with Canvas (sandbox in Canvas mode)', function () {
  this.timeout(30_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  it('registers as Canvas does it, then launches through the new developer key', async () => {
    const start = t.sandbox.startDynamicRegistration(undefined, { as: 'canvas' });
    expect(start.openidConfigurationUrl).to.match(/\/api\/lti\/security\/openid-configuration\?registration_token=/);
    // Without the token Canvas shows nothing.
    const bare = await fetch(start.openidConfigurationUrl.replace(/\?.*$/, ''));
    expect(bare.status).to.equal(401);
    expect((await bare.json()).error).to.contain('registration_token');

    const page = await new HttpBrowser().open(start.url);
    expect(page.status, page.html.slice(0, 500)).to.equal(200);

    const clients = [...t.sandbox.canvasRegistrations.values()];
    const reg = clients.at(-1)!;
    expect(reg.clientId).to.match(/^\d{14}$/);
    expect(reg.placements).to.deep.equal({ LtiResourceLinkRequest: ['course_navigation'], LtiDeepLinkingRequest: ['link_selection'] });
    expect(reg.privacyLevel).to.equal('public');
    expect(reg.courseNavigationDefaultEnabled).to.equal(true);
    const client = t.sandbox.getClient(reg.clientId)!;
    expect(client.customParameters).to.include({ canvas_user_id: '$Canvas.user.id', canvas_course_id: '$Canvas.course.id' });

    const platform = await t.app.lti.findPlatform(t.sandbox.issuer, reg.clientId);
    expect(platform, 'the tool registered the new client').to.not.equal(null);
    expect(platform!.tokenUrl).to.equal(`${t.sandbox.issuer}/login/oauth2/token`);
    // Canvas answers without a deployment id: none is recorded at registration.
    expect(await deploymentModel(t.db.connection).countDocuments({ clientId: reg.clientId })).to.equal(0);
    if (!platform!.active) {
      const admin = new HttpBrowser();
      await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
      await admin.request(`${t.baseUrl}/admin/platforms/active`, { form: { issuer: t.sandbox.issuer, clientId: reg.clientId, active: 'true' } });
    }

    // A launch through the new key: the deployment id is Canvas's "<n>:<guid>", sub a UUID, context an opaque hash.
    const c = t.sandbox.store.createCourse({ title: 'Canvas DR course', quirks: 'canvas', learners: 60, items: 1, itemModule: 'assign' });
    const teacher = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, c.teacherIds[0]!, { clientId: reg.clientId }));
    expect(teacher.status, teacher.html.slice(0, 400)).to.equal(200);
    const deployments = await deploymentModel(t.db.connection).find({ clientId: reg.clientId }).lean();
    expect(deployments.map((d) => d.deploymentId)[0]).to.match(/^\d+:[0-9a-f]{40}$/);
    const course = await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, clientId: reg.clientId }).lean();
    expect(course!.contextId).to.equal(c.course.opaqueContextId).and.match(/^[0-9a-f]{40}$/);
    expect(course!.platformFamily).to.equal('canvas');

    // NRPS in Canvas pages by 50: 60 learners + 1 teacher come in two pages.
    await t.app.ctx.jobs.drain();
    const nrps = t.sandbox.store.requestLog.filter((e) => e.courseId === c.course.id && e.path.endsWith('/memberships'));
    expect(nrps.length, JSON.stringify(nrps.map((e) => e.query))).to.equal(2);
    const members = await memberModel(t.db.connection).find({ courseId: course!._id }).lean();
    expect(members).to.have.length(61);
    expect(members.every((m) => /^[0-9a-f-]{36}$/.test(m.userId))).to.equal(true);
  });

  it("follows the tool's privacy level: anonymous sends neither name nor e-mail, public both", async () => {
    const start = t.sandbox.startDynamicRegistration(undefined, { as: 'canvas' });
    expect((await new HttpBrowser().open(start.url)).status).to.equal(200);
    const reg = [...t.sandbox.canvasRegistrations.values()].at(-1)!;
    const client = t.sandbox.getClient(reg.clientId)!;
    if (!(await t.app.lti.findPlatform(t.sandbox.issuer, reg.clientId))!.active) {
      const admin = new HttpBrowser();
      await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
      await admin.request(`${t.baseUrl}/admin/platforms/active`, { form: { issuer: t.sandbox.issuer, clientId: reg.clientId, active: 'true' } });
    }
    const c = t.sandbox.store.createCourse({ title: 'Privacy', quirks: 'canvas', learners: 1, items: 0 });
    /** The id_token the sandbox posts to the tool for this launch (the auto-post form of /auth). */
    const idToken = async () => {
      const b = new HttpBrowser();
      let res = await b.request(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { clientId: reg.clientId }));
      for (let hop = 0; hop < 6 && res.status >= 300 && res.status < 400; hop++) res = await b.request(new URL(res.headers.get('location')!, res.url || t.baseUrl).toString());
      let html = await res.text();
      // Canvas mode: the tool's platform-storage page continues to the authorization URL with a GET form.
      const get = /<form method="get" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(html);
      if (get && !html.includes('name="id_token"')) {
        const q = new URLSearchParams();
        for (const i of get[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) q.set(i[1]!, i[2]!.replace(/&amp;/g, '&'));
        const action = get[1]!.replace(/&amp;/g, '&');
        let next = await b.request(`${action}${action.includes('?') ? '&' : '?'}${q.toString()}`);
        for (let hop = 0; hop < 4 && next.status >= 300 && next.status < 400; hop++) next = await b.request(next.headers.get('location')!);
        html = await next.text();
      }
      const m = /name="id_token" value="([^"]+)"/.exec(html);
      if (!m) throw new Error(`${res.status} ${html.slice(0, 600)}`);
      const token = m[1]!;
      return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    };
    expect(client.privacyLevel).to.equal('public');
    expect(await idToken()).to.include.keys('name', 'email', 'given_name');
    client.privacyLevel = 'anonymous';
    const anonymous = await idToken();
    expect(anonymous).not.to.have.any.keys('name', 'email', 'given_name', 'family_name');
    expect(anonymous.sub).to.match(/^[0-9a-f-]{36}$/);
    client.privacyLevel = 'email_only';
    const emailOnly = await idToken();
    expect(emailOnly).to.have.property('email');
    expect(emailOnly).not.to.have.property('name');
  });

  it('refuses a placement Canvas does not have for the message type, and registers nothing', async () => {
    const start = t.sandbox.startDynamicRegistration(undefined, { as: 'canvas' });
    const config = await (await fetch(start.openidConfigurationUrl)).json();
    const before = t.sandbox.canvasRegistrations.size;
    const res = await fetch(config.registration_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${start.token}` },
      body: JSON.stringify({
        application_type: 'web', grant_types: ['client_credentials', 'implicit'], response_types: ['id_token'], token_endpoint_auth_method: 'private_key_jwt',
        initiate_login_uri: `${t.baseUrl}/lti/login`, redirect_uris: [`${t.baseUrl}/lti/launch`], jwks_uri: `${t.baseUrl}/lti/keys`, client_name: 'X', scope: '',
        'https://purl.imsglobal.org/spec/lti-tool-configuration': { domain: '127.0.0.1', target_link_uri: `${t.baseUrl}/lti/launch`, messages: [{ type: 'LtiDeepLinkingRequest', placements: ['course_navigation'] }] },
      }),
    });
    expect(res.status).to.equal(422);
    expect(JSON.stringify(await res.json())).to.contain('course_navigation is not valid for LtiDeepLinkingRequest');
    expect(t.sandbox.canvasRegistrations.size).to.equal(before);
  });
});

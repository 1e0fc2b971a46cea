import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expect } from 'chai';
import { issuerMatchesConfigurationUrl } from '../../src/lti/dynamic-registration';
import { dynamicRegistrationModel, registrationEventModel, registrationRequestModel } from '../../src/lti/registration-request.model';
import { errorHandler } from '../../src/web/middleware/error-handler';
import { createViews } from '../../src/web/views';
import { dynamicRegistrationRouter } from '../../src/web/registration.routes';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { text } from '../support/html';
import { startAttackerPlatform, type AttackerPlatform } from './support/attacker-platform';
import { countWrites, ltijsPlatform } from './support/state';

/** GET from another loopback address, so this file's flood does not rate-limit the other tests. */
function getFrom(localAddress: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}


describe('GET /lti/register: a registration cannot be taken over', function () {
  let t: TestApp;
  let lms: AttackerPlatform;
  const clientId = 'takeover-victim-1';

  async function adminBrowser(): Promise<HttpBrowser> {
    const b = new HttpBrowser();
    expect((await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    return b;
  }

  before(async () => {
    t = await startTestApp();
    // A genuine LMS of the test's own registers by dynamic registration, and the administrator activates it.
    lms = await startAttackerPlatform();
    lms.setRegistrationAnswer({ clientId, deploymentId: 'dep-1' });
    const first = await new HttpBrowser().open(lms.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
    expect(first.status, text(first.html)).to.equal(200);
    expect(text(first.html)).to.include('Certificates is registered with your LMS');
    await t.app.lti.setPlatformActive(lms.issuer, clientId, true);
    // The attacker's key, and an openid-configuration (on the LMS's site) that names it.
    await lms.addKey('evil');
  });
  after(() => lms.close());

  it('launches with the genuine key (the control: the platform works)', async () => {
    const page = await lms.launch(t.app.toolUrls, { clientId, deploymentId: 'dep-1', claims: { 'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'takeover-ctl' } } });
    expect(page.status, text(page.html)).to.equal(200);
    expect(page.url).to.match(/\/teacher$/);
  });

  it('stores a re-registration with another keyset as pending, and changes nothing in use', async () => {
    const before = await ltijsPlatform(lms.issuer, clientId);
    expect(before).to.not.equal(null);
    lms.setOpenIdConfiguration({ jwks_uri: lms.jwksUrl('evil'), authorization_endpoint: `${lms.origin}/evil-auth`, token_endpoint: `${lms.origin}/evil-token` });
    const page = await new HttpBrowser().open(lms.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
    expect(page.status).to.equal(200);
    expect(text(page.html)).to.include("This re-registration waits for the tool's administrator");
    expect(text(page.html)).to.include('keeps using it');

    expect(await ltijsPlatform(lms.issuer, clientId), "ltijs's platform document").to.deep.equal(before);
    const platform = await t.app.lti.findPlatform(lms.issuer, clientId);
    expect(platform).to.include({ jwksUrl: lms.jwksUrl('main'), authUrl: lms.authUrl, tokenUrl: lms.tokenUrl, active: true });
    const pending = await registrationRequestModel(t.db.connection).find({ issuer: lms.issuer, clientId }).lean();
    expect(pending).to.have.length(1);
    expect(pending[0]).to.include({ jwksUrl: lms.jwksUrl('evil'), authUrl: `${lms.origin}/evil-auth` });
    const events = await registrationEventModel(t.db.connection).find({ issuer: lms.issuer, clientId }).sort({ at: 1 }).lean();
    expect(events.map((e) => e.action)).to.deep.equal(['registered', 'reregistration_requested']);
  });

  it('refuses an id_token signed with the key of the pending registration, writing nothing', async () => {
    const before = await countWrites(t);
    const page = await lms.launch(t.app.toolUrls, { clientId, deploymentId: 'dep-1', key: 'evil', claims: { 'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'takeover-evil' } } });
    expect(page.status).to.equal(401);
    expect(page.url).to.not.match(/\/app\//);
    expect(await countWrites(t)).to.deep.equal(before);
    // …while the genuine key still opens the tool.
    const genuine = await lms.launch(t.app.toolUrls, { clientId, deploymentId: 'dep-1', claims: { 'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'takeover-ctl' } } });
    expect(genuine.status).to.equal(200);
  });

  it('shows the pending re-registration on /admin next to the registration in use, changes marked', async () => {
    const page = await (await adminBrowser()).open(`${t.baseUrl}/admin`);
    expect(page.html).to.include('Re-registrations waiting for you');
    const article = /<article class="registration-request"[^>]*data-client-id="takeover-victim-1"[\s\S]*?<\/article>/.exec(page.html)?.[0] ?? '';
    expect(article).to.include(lms.jwksUrl('main')).and.include(lms.jwksUrl('evil'));
    const changed = [...article.matchAll(/<tr class="changed" data-changed><th scope="row">([^<]+)<\/th>/g)].map((m) => m[1]);
    expect(changed).to.have.members(['Platform keys (keyset URL)', 'Platform login', 'Platform token URL']);
  });

  it("refuses an openid-configuration whose issuer is not the site it came from, writing nothing", async () => {
    const impostor = await startAttackerPlatform({ issuer: t.sandbox.issuer });
    try {
      impostor.setRegistrationAnswer({ clientId: t.sandbox.registration.clientId });
      const before = await countWrites(t);
      const sandboxBefore = await ltijsPlatform(t.sandbox.issuer, t.sandbox.registration.clientId);
      const page = await new HttpBrowser().open(impostor.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
      expect(page.status).to.equal(502);
      expect(text(page.html)).to.include(`names the issuer ${t.sandbox.issuer}, which is not the site it came from`);
      expect(impostor.requests.map((r) => `${r.method} ${r.path}`), 'no tool configuration posted').to.deep.equal(['GET /.well-known/openid-configuration']);
      expect(await countWrites(t)).to.deep.equal(before);
      expect(await ltijsPlatform(t.sandbox.issuer, t.sandbox.registration.clientId)).to.deep.equal(sandboxBefore);
    } finally {
      await impostor.close();
    }
  });

  it('answers 409 while another request is registering the same new client, and a claim left by a crash stops blocking after a minute', async () => {
    const p = await startAttackerPlatform();
    try {
      p.setRegistrationAnswer({ clientId: 'half-registered' });
      const claims = dynamicRegistrationModel(t.db.connection);
      await claims.create({ issuer: p.issuer, clientId: 'half-registered', openidConfigurationUrl: p.openidConfigurationUrl, registeredAt: new Date() });
      const busy = await new HttpBrowser().open(p.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
      expect(busy.status).to.equal(409);
      expect(text(busy.html)).to.include('being registered by another request');
      expect(await t.app.lti.findPlatform(p.issuer, 'half-registered')).to.equal(null);
      await claims.updateOne({ issuer: p.issuer, clientId: 'half-registered' }, { $set: { registeredAt: new Date(Date.now() - 120_000) } });
      const page = await new HttpBrowser().open(p.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
      expect(page.status).to.equal(200);
      expect(text(page.html)).to.include('Certificates is registered with your LMS');
      expect(await t.app.lti.findPlatform(p.issuer, 'half-registered')).to.include({ active: false, jwksUrl: p.jwksUrl() });
    } finally {
      await p.close();
    }
  });

  it('accepts an issuer with a path when the configuration lies under it (Moodle in a sub-folder)', () => {
    expect(issuerMatchesConfigurationUrl('https://school.edu/moodle', 'https://school.edu/moodle/mod/lti/openid-configuration.php')).to.equal(true);
    expect(issuerMatchesConfigurationUrl('https://school.edu', 'https://school.edu/mod/lti/openid-configuration.php')).to.equal(true);
    expect(issuerMatchesConfigurationUrl('https://school.edu/moodle', 'https://school.edu/moodlex/mod/lti/openid-configuration.php')).to.equal(false);
    expect(issuerMatchesConfigurationUrl('https://school.edu/moodle', 'https://school.edu/other/openid-configuration')).to.equal(false);
    expect(issuerMatchesConfigurationUrl('https://school.edu', 'https://evil.example/mod/lti/openid-configuration.php')).to.equal(false);
    expect(issuerMatchesConfigurationUrl('https://school.edu', 'http://school.edu/mod/lti/openid-configuration.php')).to.equal(false);
  });

  it("leaves ltijs's own registration route closed (403) whatever the method", async () => {
    const before = await ltijsPlatform(lms.issuer, clientId);
    const res = await fetch(lms.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl), { method: 'POST' });
    expect(res.status).to.equal(403);
    expect(await ltijsPlatform(lms.issuer, clientId)).to.deep.equal(before);
  });

  it('answers 429 to a registration flood (the default limit), without fetching anything for the refused ones', async () => {
    // The shared test app allows more (many spec files register from 127.0.0.1): serve the real
    // router with its default limit, as production runs it, on a server of this test's own.
    const app = express();
    app.set('trust proxy', 'loopback');
    const views = createViews();
    app.use(dynamicRegistrationRouter({ conn: t.db.connection, views, now: () => new Date(), lti: t.app.lti, tool: t.app.toolUrls, autoActivate: false }));
    app.use(errorHandler(views));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const flood = await startAttackerPlatform();
    try {
      flood.setRegistrationAnswer({ clientId: 'flood', status: 500 });
      const url = flood.registrationStartUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/lti/register`);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await getFrom('127.0.0.9', url)).status);
      expect(statuses.slice(0, 10)).to.deep.equal(Array(10).fill(502));
      expect(statuses.slice(10)).to.deep.equal([429, 429]);
      const refused = await getFrom('127.0.0.9', url);
      expect(text(refused.body)).to.include('Too many registration attempts');
      expect(flood.requests.filter((r) => r.path === '/.well-known/openid-configuration')).to.have.length(10);
      // Another address is not affected.
      expect((await getFrom('127.0.0.10', url)).status).to.equal(502);
    } finally {
      await flood.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('POST /admin/registration-requests/:id: the administrator decides', function () {
  let t: TestApp;
  let lms: AttackerPlatform;
  const clientId = 'takeover-decide-1';
  const ctx = { 'https://purl.imsglobal.org/spec/lti/claim/context': { id: 'decide-ctx' } };

  async function adminBrowser(): Promise<HttpBrowser> {
    const b = new HttpBrowser();
    expect((await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    return b;
  }

  async function reRegister(key: string): Promise<string> {
    lms.setOpenIdConfiguration({ jwks_uri: lms.jwksUrl(key) });
    const page = await new HttpBrowser().open(lms.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl));
    expect(page.status).to.equal(200);
    const doc = await registrationRequestModel(t.db.connection).findOne({ issuer: lms.issuer, clientId, jwksUrl: lms.jwksUrl(key) }).lean();
    return String(doc!._id);
  }

  before(async () => {
    t = await startTestApp();
    lms = await startAttackerPlatform();
    lms.setRegistrationAnswer({ clientId, deploymentId: 'dep-d' });
    expect((await new HttpBrowser().open(lms.registrationStartUrl(t.app.toolUrls.dynamicRegistrationUrl))).status).to.equal(200);
    await t.app.lti.setPlatformActive(lms.issuer, clientId, true);
    await lms.addKey('rotated');
    await lms.addKey('rejected');
  });
  after(() => lms.close());

  it('needs the administrator', async () => {
    const id = await reRegister('rejected');
    const res = await new HttpBrowser().request(`${t.baseUrl}/admin/registration-requests/${id}`, { form: { decision: 'accept' } });
    expect(res.status).to.equal(401);
    expect(await registrationRequestModel(t.db.connection).countDocuments({ _id: id })).to.equal(1);
  });

  it('rejects: the request is deleted, the registration in use stays, the decision is recorded', async () => {
    const id = await reRegister('rejected');
    const before = await ltijsPlatform(lms.issuer, clientId);
    const admin = await adminBrowser();
    const res = await admin.request(`${t.baseUrl}/admin/registration-requests/${id}`, { form: { decision: 'reject' } });
    expect(res.status).to.equal(303);
    expect(await registrationRequestModel(t.db.connection).countDocuments({ _id: id })).to.equal(0);
    expect(await ltijsPlatform(lms.issuer, clientId)).to.deep.equal(before);
    const event = await registrationEventModel(t.db.connection).findOne({ action: 'reregistration_rejected', clientId }).lean();
    expect(event).to.deep.include({ actor: 'admin', issuer: lms.issuer });
    expect(event!.details).to.include({ requestId: id, jwksUrl: lms.jwksUrl('rejected') });
    const listing = (await admin.open(`${t.baseUrl}/admin`)).html;
    expect(listing).to.not.include(`data-request-id="${id}"`);
    expect(listing).to.include('Registration history').and.include('<tr data-action="reregistration rejected">');
    // A second decision on the same request finds nothing.
    const again = await admin.request(`${t.baseUrl}/admin/registration-requests/${id}`, { form: { decision: 'accept' } });
    expect(again.status).to.equal(404);
    expect(await ltijsPlatform(lms.issuer, clientId)).to.deep.equal(before);
  });

  it('accepts: the new keyset replaces the old one, the registration stays active, old-key launches are refused', async () => {
    await registrationRequestModel(t.db.connection).deleteMany({ clientId });
    const id = await reRegister('rotated');
    const before = await t.app.lti.findPlatform(lms.issuer, clientId);
    const admin = await adminBrowser();
    const res = await admin.request(`${t.baseUrl}/admin/registration-requests/${id}`, { form: { decision: 'accept' } });
    expect(res.status).to.equal(303);
    const after = await t.app.lti.findPlatform(lms.issuer, clientId);
    expect(after).to.include({ jwksUrl: lms.jwksUrl('rotated'), active: true, kid: before!.kid });
    expect(await registrationRequestModel(t.db.connection).countDocuments({ clientId })).to.equal(0);
    const event = await registrationEventModel(t.db.connection).findOne({ action: 'reregistration_accepted', clientId }).lean();
    expect((event!.details as { before: { jwksUrl: string } }).before.jwksUrl).to.equal(lms.jwksUrl('main'));

    const rotated = await lms.launch(t.app.toolUrls, { clientId, deploymentId: 'dep-d', key: 'rotated', claims: ctx });
    expect(rotated.status).to.equal(200);
    const old = await lms.launch(t.app.toolUrls, { clientId, deploymentId: 'dep-d', claims: ctx });
    expect(old.status).to.equal(401);
  });

  it('refuses a decision posted from another site', async () => {
    const id = await reRegister('rejected');
    const res = await (await adminBrowser()).request(`${t.baseUrl}/admin/registration-requests/${id}`, {
      form: { decision: 'accept' },
      headers: { origin: 'https://evil.example' },
    });
    expect(res.status).to.equal(403);
    expect(await registrationRequestModel(t.db.connection).countDocuments({ _id: id })).to.equal(1);
  });
});

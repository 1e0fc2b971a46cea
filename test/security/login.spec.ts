/**
 * GET|POST /lti/login attacked: floods, foreign and javascript: target_link_uri values, missing
 * parameters, oversized launches. Each refusal is a page a person can read, with its status, and
 * stores no login state.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expect } from 'chai';
import { createLaunchFlow, type FlowPlatform } from '../../src/lti/launch-flow';
import { startTestApp, type TestApp } from '../support/app';
import { useTestDatabase } from '../support/db';
import { form, one, parseHtml, text } from '../support/html';
import { LTI, registerAttackerPlatform, startAttackerPlatform, type AttackerPlatform } from './support/attacker-platform';

describe('GET|POST /lti/login', function () {
  this.timeout(60_000);
  let t: TestApp;
  let a: AttackerPlatform;
  const clientId = `evil-login-${randomBytes(3).toString('hex')}`;

  before(async () => {
    t = await startTestApp();
    a = await startAttackerPlatform();
    await registerAttackerPlatform(t.app.lti, a, { clientId });
  });
  after(() => a?.close());

  const states = () => t.db.connection.collection('loginstates').countDocuments();
  function loginUrl(params: Record<string, string | undefined>): string {
    const u = new URL(t.app.toolUrls.loginUrl);
    const all = { iss: a.issuer, login_hint: 'u1', target_link_uri: t.app.toolUrls.launchUrl, client_id: clientId, ...params };
    for (const [k, v] of Object.entries(all)) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }
  /** A login from a client IP of its own (the app trusts X-Forwarded-For from loopback, like a proxy in front). */
  const login = (params: Record<string, string | undefined>, ip = '198.51.100.1') =>
    fetch(loginUrl(params), { redirect: 'manual', headers: { 'x-forwarded-for': ip } });
  const said = async (res: Response) => text(parseHtml(await res.text()), 'main');

  it('sends a good login to the platform with the tool launch URL as redirect_uri, a state and a nonce', async () => {
    const res = await login({ target_link_uri: `${t.baseUrl}/lti/launch?placement=course`, lti_message_hint: 'hint-1' });
    expect(res.status).to.equal(302);
    const auth = new URL(res.headers.get('location')!);
    expect(auth.origin + auth.pathname).to.equal(a.authUrl);
    expect(auth.searchParams.get('redirect_uri')).to.equal(t.app.toolUrls.launchUrl);
    expect(auth.searchParams.get('lti_message_hint')).to.equal('hint-1');
    expect(auth.searchParams.get('state')).to.have.length.greaterThan(30);
    expect(auth.searchParams.get('nonce')).to.have.length.greaterThan(30);
    expect(auth.searchParams.get('state')).to.not.equal(auth.searchParams.get('nonce'));
  });

  it('answers POST as well as GET', async () => {
    const body = new URLSearchParams({ iss: a.issuer, login_hint: 'u1', target_link_uri: t.app.toolUrls.launchUrl, client_id: clientId });
    const res = await fetch(t.app.toolUrls.loginUrl, { method: 'POST', body, redirect: 'manual', headers: { 'x-forwarded-for': '198.51.100.2' } });
    expect(res.status).to.equal(302);
  });

  for (const [name, target] of [
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['a foreign host', 'https://evil.example/lti/launch'],
    ['the tool host on another port', 'http://127.0.0.1:1/lti/launch'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['a relative path', '/lti/launch'],
    ['a userinfo trick', 'http://127.0.0.1@evil.example/'],
  ] as const) {
    it(`refuses target_link_uri ${name} with 400 and a message, storing nothing`, async () => {
      const before = await states();
      const res = await login({ target_link_uri: target });
      expect(res.status).to.equal(400);
      expect(res.headers.get('location')).to.equal(null);
      expect(res.headers.get('content-type')).to.match(/text\/html/);
      expect(await said(res)).to.include(`target_link_uri must be an http(s) URL on ${new URL(t.baseUrl).origin}`);
      expect(await states()).to.equal(before);
    });
  }

  it('answers missing login parameters with a readable 400 page naming them (not ltijs JSON)', async () => {
    const none = await fetch(t.app.toolUrls.loginUrl, { redirect: 'manual' });
    expect(none.status).to.equal(400);
    expect(none.headers.get('content-type')).to.match(/text\/html/);
    expect(await said(none)).to.include('The login request lacks iss, login_hint, target_link_uri.');
    const some = await login({ login_hint: undefined, target_link_uri: '' });
    expect(await said(some)).to.include('lacks login_hint, target_link_uri');
  });

  it('refuses an unknown platform or client id with 403, storing nothing', async () => {
    const before = await states();
    const unknownIssuer = await login({ iss: 'https://unknown-lms.example' });
    expect(unknownIssuer.status).to.equal(403);
    expect(await said(unknownIssuer)).to.include('not registered with the tool');
    const unknownClient = await login({ client_id: 'nobody' });
    expect(unknownClient.status).to.equal(403);
    expect(await states()).to.equal(before);
  });

  it('rate limits logins per client IP (300 a minute): a flood gets 429 pages and stores no more than the limit', async () => {
    const ip = `203.0.113.${1 + Math.floor(Math.random() * 200)}`;
    const first = await login({}, ip);
    expect(first.headers.get('ratelimit-policy')).to.match(/q=300; w=60/);
    const before = await states();
    const statuses: number[] = [];
    for (let i = 1; i < 310; i++) statuses.push((await login({}, ip)).status);
    expect(statuses.filter((s) => s === 302)).to.have.length(299);
    expect(statuses.slice(299).every((s) => s === 429)).to.equal(true);
    expect((await states()) - before).to.equal(299);
    const limited = await login({}, ip);
    expect(limited.status).to.equal(429);
    expect(limited.headers.get('content-type')).to.match(/text\/html/);
    expect(await said(limited)).to.match(/Too many logins from your network in a short time\. Try again in \d+ seconds\./);
    // Another client is not affected.
    expect((await login({}, '203.0.113.250')).status).to.equal(302);
  });

  it('stores no state for refused logins, however many', async () => {
    const before = await states();
    for (let i = 0; i < 50; i++) await login({ target_link_uri: 'javascript:alert(1)' }, '198.51.100.77');
    expect(await states()).to.equal(before);
  });

  it('refuses a launch body over the limit with "id_token too large" (413), not "The file is too large"', async () => {
    const body = new URLSearchParams({ id_token: 'x'.repeat(300 * 1024), state: 's' });
    const res = await fetch(t.app.toolUrls.launchUrl, { method: 'POST', body });
    expect(res.status).to.equal(413);
    const page = await said(res);
    expect(page).to.include('The id_token is too large');
    expect(page).not.to.include('The file is too large');
  });

  it("shows the LMS's own OIDC error answer instead of a token, and uses the login up", async () => {
    const res = await login({});
    const state = new URL(res.headers.get('location')!).searchParams.get('state')!;
    const before = await states();
    const launch = await fetch(t.app.toolUrls.launchUrl, { method: 'POST', body: new URLSearchParams({ error: 'login_required', error_description: 'The user is not logged in', state }) });
    expect(launch.status).to.equal(401);
    expect(await said(launch)).to.include('The LMS refused to sign you in to the tool (login_required: The user is not logged in)');
    expect(await states()).to.equal(before - 1);
  });

  describe('with platform storage offered (lti_storage_target)', () => {
    /** A storage login: the page that stores state and nonce in the LMS frame, then goes on to the LMS. */
    async function storageLogin() {
      const res = await login({ lti_storage_target: 'post_message_forwarding' });
      expect(res.status).to.equal(200);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).to.include("script-src 'self'").and.not.include('unsafe-inline');
      const doc = parseHtml(await res.text());
      const box = one(doc, '[data-lti-storage="put"]');
      expect(box.getAttribute('data-target')).to.equal('post_message_forwarding');
      expect(box.getAttribute('data-origin')).to.equal(a.origin);
      const next = form(doc, 'form[data-auto-submit]');
      expect(next.action).to.equal(a.authUrl);
      expect(next.method.toLowerCase()).to.equal('get');
      return next.fields;
    }
    const token = (nonce: string, contextId: string) =>
      a.signIdToken(a.defaultClaims({ clientId, claims: { [LTI.context]: { id: contextId } } }, nonce, t.app.toolUrls.launchUrl));
    const launch = (fields: Record<string, string>, origin?: string) =>
      fetch(t.app.toolUrls.launchUrl, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers: origin ? { origin } : {} });

    it('without the cookie, reads the state back through its own page, and accepts it only from the tool origin', async () => {
      const auth = await storageLogin();
      const contextId = `ctx-ps-${randomBytes(3).toString('hex')}`;
      const idToken = await token(auth.nonce!, contextId);
      const step = await launch({ id_token: idToken, state: auth.state!, lti_storage_target: 'post_message_forwarding' }, a.origin);
      expect(step.status).to.equal(200);
      const doc = parseHtml(await step.text());
      expect(one(doc, '[data-lti-storage="get"]').getAttribute('data-state')).to.equal(auth.state);
      expect(form(doc, '#lti-storage-form').fields).to.include({ id_token: idToken, state: auth.state });
      const done = await launch({ id_token: idToken, state: auth.state!, lti_storage_state: auth.state! }, new URL(t.baseUrl).origin);
      expect(done.status).to.equal(303);
      // straight to the page of the launch's role
      expect(done.headers.get('location')).to.match(/^\/app\/[^/]+\/(learner|teacher)$/);
      expect(await t.db.connection.collection('courses').countDocuments({ contextId })).to.equal(1);
    });

    it('refuses a storage answer posted from another site (a forged lti_storage_state), writing nothing', async () => {
      const auth = await storageLogin();
      const contextId = `ctx-ps-${randomBytes(3).toString('hex')}`;
      const before = await states();
      const res = await launch({ id_token: await token(auth.nonce!, contextId), state: auth.state!, lti_storage_state: auth.state! }, 'https://evil.example');
      expect(res.status).to.equal(401);
      expect(await said(res)).to.include("The LMS's platform storage did not hold this launch's login");
      expect(await t.db.connection.collection('courses').countDocuments({ contextId })).to.equal(0);
      expect(await states()).to.equal(before - 1);
    });

    it('refuses a storage answer that is not the state', async () => {
      const auth = await storageLogin();
      const res = await launch({ id_token: await token(auth.nonce!, 'ctx-x'), state: auth.state!, lti_storage_state: 'something-else' }, new URL(t.baseUrl).origin);
      expect(res.status).to.equal(401);
      expect(await said(res)).to.include('platform storage did not hold');
    });
  });

  it('sets the state cookie HttpOnly; SameSite=Lax over http (documented: only same-site LMSs)', async () => {
    const res = await login({});
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('lti_state_'))!;
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i).and.not.match(/Secure|Partitioned/i);
  });
});

describe('The state cookie over https', () => {
  const db = useTestDatabase();

  it('is __Host-lti_state_…; Path=/; HttpOnly; Secure; SameSite=None; Partitioned', async () => {
    const platform: FlowPlatform = { issuer: 'https://lms.example', clientId: 'c1', authUrl: 'https://lms.example/auth', tokenUrl: 'https://lms.example/token', jwksUrl: 'https://lms.example/jwks', active: true };
    const flow = createLaunchFlow({
      conn: db.connection,
      now: () => new Date(),
      toolOrigin: 'https://tool.example',
      launchUrl: 'https://tool.example/lti/launch',
      secureCookies: true,
      platformsOf: async (iss) => (iss === platform.issuer ? [platform] : []),
      fetchJson: async () => ({ keys: [] }),
      renderPage: () => '',
      onFailure: (f, _req, res) => void res.status(f.status).send(f.message),
      onLaunch: async () => undefined,
    });
    const app = express();
    app.use('/lti/login', flow.login);
    const srv = createServer(app);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const q = new URLSearchParams({ iss: platform.issuer, login_hint: 'u', target_link_uri: 'https://tool.example/lti/launch' });
      const res = await fetch(`http://127.0.0.1:${port}/lti/login?${q}`, { redirect: 'manual' });
      expect(res.status).to.equal(302);
      const cookie = res.headers.getSetCookie()[0]!;
      expect(cookie).to.match(/^__Host-lti_state_[A-Za-z0-9_-]+=1;/);
      for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=None', 'Partitioned']) expect(cookie).to.include(attr);
      expect(cookie).not.to.match(/Domain=/i);
    } finally {
      srv.close();
    }
  });
});

/**
 * The deep-linking reply page attacked through what the platform and the teacher control: the
 * return URL, the `data` claim and the title, each carrying `"><script>` payloads. The reply is
 * the tool's own page: values escaped, no inline script, a CSP without 'unsafe-inline' whose
 * form-action is only the return URL's origin — and in Chromium no injected script runs. (Return
 * URLs that are not http(s) or not on the platform's site are refused at launch: id-token.spec.ts.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Browser } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, type Page } from '../support/browser';
import { launchChromium, step } from '../support/chromium';
import { all, attr, form, parseHtml } from '../support/html';
import { LTI, registerAttackerPlatform, startAttackerPlatform, type AttackerPlatform } from './support/attacker-platform';

const PAYLOAD = `"><script>alert('xss')</script><img src=x onerror="alert('img')">`;
const DL_CONTENT_ITEMS = 'https://purl.imsglobal.org/spec/lti-dl/claim/content_items';
const DL_DATA = 'https://purl.imsglobal.org/spec/lti-dl/claim/data';

describe('POST /app/:session/deep-linking — the reply to the platform', function () {
  this.timeout(60_000);
  let t: TestApp;
  let a: AttackerPlatform;
  const clientId = `evil-dl-${randomBytes(3).toString('hex')}`;
  let returnUrl: string;

  before(async () => {
    t = await startTestApp();
    a = await startAttackerPlatform();
    await registerAttackerPlatform(t.app.lti, a, { clientId });
    returnUrl = `${a.origin}/dl/return?x=${PAYLOAD}`;
  });
  after(() => a?.close());

  const spec = () => ({
    clientId,
    claims: {
      [LTI.messageType]: 'LtiDeepLinkingRequest',
      [LTI.deepLinkingSettings]: { deep_link_return_url: returnUrl, accept_types: ['ltiResourceLink'], accept_multiple: false, data: PAYLOAD },
      [LTI.context]: { id: `ctx-dl-${randomBytes(3).toString('hex')}`, title: PAYLOAD },
    },
  });

  async function picker(browser: HttpBrowser): Promise<Page> {
    const page = await a.launch(t.app.toolUrls, spec(), browser);
    expect(page.status, page.html.slice(0, 300)).to.equal(200);
    expect(page.url).to.match(/\/deep-linking$/);
    return page;
  }

  it('answers with its own escaped page, no inline script, and a CSP without unsafe-inline limited to the return origin', async () => {
    const browser = new HttpBrowser();
    const page = await picker(browser);
    const res = await browser.request(page.url, { form: { title: PAYLOAD } });
    expect(res.status).to.equal(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).to.include("script-src 'self'").and.not.include('unsafe-inline');
    expect(csp).to.match(new RegExp(`form-action ${a.origin.replace(/[.]/g, '\\.')}(;|$)`));
    const html = await res.text();
    expect(html).not.to.include("<script>alert('xss')</script>");
    expect(html).not.to.include('<img src=x');
    const doc = parseHtml(html);
    for (const s of all(doc, 'script')) expect(s.getAttribute('src'), 'only script files of the tool').to.match(/^\/assets\//);
    const reply = form(doc, 'form[data-auto-submit]');
    expect(attr(doc, 'form[data-auto-submit]', 'action')).to.equal(returnUrl);
    expect(reply.method.toLowerCase()).to.equal('post');
    const claims = decodeJwt(reply.fields.JWT!);
    expect(claims.iss).to.equal(clientId);
    expect(claims.aud).to.equal(a.issuer);
    expect(claims[DL_DATA]).to.equal(PAYLOAD);
    expect((claims[DL_CONTENT_ITEMS] as Array<{ title: string; url: string }>)[0]).to.include({ title: PAYLOAD, url: t.app.toolUrls.launchUrl });
  });

  it('delivers the reply to the platform: the return URL receives the signed JWT', async () => {
    const browser = new HttpBrowser();
    const page = await picker(browser);
    a.clearRequests();
    await browser.open(page.url, { form: { title: 'Certificates' } });
    const got = a.requests.find((r) => r.method === 'POST' && r.path === '/dl/return');
    expect(got, 'the platform got the reply').to.not.equal(undefined);
    expect(new URLSearchParams(got!.body).get('JWT')).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  describe('in Chromium', () => {
    let chromium: Browser;
    before(async () => {
      chromium = await launchChromium();
    });
    after(() => chromium?.close());

    it('runs no injected script on the way: the picker, the reply page, and back to the platform', async () => {
      // The login URL the platform would open, with our payloads registered on the platform.
      let loginUrl = '';
      await a.launch(t.app.toolUrls, spec(), { open: async (url: string) => ((loginUrl = url), {}) } as unknown as HttpBrowser);
      const tab = await step('open a tab', chromium.newPage());
      const dialogs: string[] = [];
      tab.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const violations: string[] = [];
      tab.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      a.clearRequests();
      // The platform's auto-posting form, the tool's picker, then the reply page that posts itself
      // back: each step has a deadline of its own, and the reply is awaited where it arrives (the
      // platform), not through the two navigations the click sets off one after the other.
      await step('open the login URL', tab.goto(loginUrl, { waitUntil: 'domcontentloaded' }));
      await step('the picker shows its title field', tab.waitForSelector('input[name="title"]'), 20_000);
      await step('type the payload', tab.$eval('input[name="title"]', (el, v) => ((el as HTMLInputElement).value = v), PAYLOAD));
      await step('submit the picker', tab.click('button[type="submit"]'));
      const deadline = Date.now() + 20_000;
      while (!a.requests.some((r) => r.method === 'POST' && r.path === '/dl/return') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const got = a.requests.find((r) => r.method === 'POST' && r.path === '/dl/return');
      expect(got, 'the reply was posted to the return URL by the tool script').to.not.equal(undefined);
      const items = decodeJwt(new URLSearchParams(got!.body).get('JWT')!)[DL_CONTENT_ITEMS] as Array<{ title: string }>;
      expect(items[0]!.title).to.equal(PAYLOAD);
      expect(dialogs, 'no script of the payload ran').to.deep.equal([]);
      expect(violations, 'nothing even tried to run inline').to.deep.equal([]);
      await step('close the tab', tab.close(), 5_000).catch(() => undefined); // the browser closes after the file
    });
  });
});

/**
 * In Chromium, the LMS on another site than the tool — the sandbox served as http://localhost:<p>
 * while the tool is http://127.0.0.1:<q> — so the tool's frame inside the course page is a
 * third-party context and its state cookie never comes back (over http it is SameSite=Lax; the
 * browser also runs with third-party cookies phased out). Canvas offers platform storage
 * (lti_storage_target + lti.put_data/get_data): the launch must succeed through it. Moodle offers
 * none: the launch must fail with advice that is true here, in a frame and in a new window alike.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expect } from 'chai';
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer';
import { CHROMIUM_ARGS, findChromium } from '../../src/render/pdf-renderer';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox';
import { startTestApp, type TestApp } from '../support/app';
import { parseHtml, text } from '../support/html';

describe('In a real browser, with the LMS on another site than the tool (third-party cookies blocked)', function () {
  this.timeout(90_000);
  let t: TestApp;
  let lms: Sandbox;
  let server: Server;
  let browser: Browser;
  let lmsOrigin: string;

  before(async () => {
    t = await startTestApp();
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    lmsOrigin = `http://localhost:${(server.address() as AddressInfo).port}`;
    const u = t.app.toolUrls;
    lms = await createSandbox({
      baseUrl: `${lmsOrigin}/sandbox`,
      tool: { name: 'Certificates', loginUrl: u.loginUrl, launchUrl: u.launchUrl, keysetUrl: u.keysetUrl, deepLinkingUrl: u.launchUrl },
      seedDemo: false,
    });
    const app = express();
    app.use('/sandbox', lms.router);
    server.on('request', app);
    const r = lms.registration;
    await t.app.lti.registerPlatform(
      { issuer: r.issuer, clientId: r.clientId, name: 'Cross-site LMS', authUrl: r.authUrl, tokenUrl: r.tokenUrl, jwksUrl: r.jwksUrl },
      { active: true },
    );
    browser = await puppeteer.launch({
      executablePath: findChromium(),
      headless: true,
      args: [...CHROMIUM_ARGS, '--window-size=1280,900', '--test-third-party-cookie-phaseout', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** The tool frame once it shows a page of the tool (or a refusal): its path and what it says. */
  async function toolFrameSettled(page: Page): Promise<{ frame: Frame; path: string; text: string }> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const frame = page.frames().find((f) => f.name() === 'tool-frame' && f.url().startsWith(t.baseUrl));
      if (frame) {
        const path = new URL(frame.url()).pathname;
        const html = await frame.content().catch(() => '');
        if (/\/app\/[^/]+\/(learner|teacher)$/.test(path) || html.includes('error-card')) {
          return { frame, path, text: text(parseHtml(html), 'main') };
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the tool frame never settled; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
  }

  async function openCourse(quirks: 'canvas' | 'moodle') {
    const c = lms.store.createCourse({ title: `Cross-site ${quirks}`, quirks, learners: 1, items: 1, teachers: 1 });
    const page = await browser.newPage();
    await page.goto(`${lmsOrigin}/sandbox/courses/${c.course.id}`);
    return { c, page };
  }

  it('Canvas: the launch succeeds through the platform storage frame (lti.put_data / lti.get_data)', async () => {
    const { c, page } = await openCourse('canvas');
    const stored: string[] = [];
    page.on('console', (m) => stored.push(m.text()));
    await page.click(`a[data-user-id="${c.learnerIds[0]}"]`);
    const result = await toolFrameSettled(page);
    expect(result.path, result.text).to.match(/\/app\/[^/]+\/learner$/);
    // The tool's cookie really was not available: Chromium kept none for the tool's site.
    const cookies = await browser.defaultBrowserContext().cookies();
    expect(cookies.filter((k) => k.name.startsWith('lti_state_'))).to.deep.equal([]);
    // And the storage frame holds nothing any more: the tool cleared its keys after use.
    const storage = page.frames().find((f) => f.name() === 'post_message_forwarding')!;
    const left = await storage.evaluate(() => Object.keys(window.localStorage).filter((k) => k.startsWith('lti|platform_storage|')));
    expect(left).to.deep.equal([]);
    await page.close();
  });

  it('Moodle (no platform storage): the launch in the frame is refused, and the advice says why a new window would not help over http', async () => {
    const { c, page } = await openCourse('moodle');
    await page.click(`a[data-user-id="${c.learnerIds[0]}"]`);
    const result = await toolFrameSettled(page);
    expect(result.path).to.equal('/lti/launch');
    expect(result.text).to.include('did not send back the login (state) cookie');
    expect(result.text).to.include('served over http');
    expect(result.text).to.include('neither in a frame nor in a new window');
    expect(result.text).to.include('PUBLIC_URL=https://');
    expect(result.text).not.to.include('Open the tool in a new window');
    await page.close();
  });

  it('Moodle in a new window (top level, still a cross-site form POST): refused with the same, true advice', async () => {
    const c = lms.store.createCourse({ title: 'Cross-site moodle window', quirks: 'moodle', learners: 1, items: 1, teachers: 1 });
    const page = await browser.newPage();
    const res = await page.goto(lms.launchUrl(c.course.id, c.learnerIds[0]!));
    await page.waitForFunction(() => document.querySelector('.error-card, main') !== null && location.pathname === '/lti/launch', { timeout: 20_000 });
    const said = text(parseHtml(await page.content()), 'main');
    expect(res).to.not.equal(null);
    expect(said).to.include('served over http');
    expect(said).to.include('neither in a frame nor in a new window');
    await page.close();
  });

  it('Canvas with a storage frame that does not answer: refused with the advice for this case, not left hanging', async () => {
    const { c, page } = await openCourse('canvas');
    // The storage frame goes away (a Canvas page without it): put/get_data get no answer.
    await page.evaluate(() => document.getElementById('post_message_forwarding')?.remove());
    await page.click(`a[data-user-id="${c.learnerIds[0]}"]`);
    const result = await toolFrameSettled(page);
    expect(result.path).to.equal('/lti/launch');
    expect(result.text).to.include('did not send back the login (state) cookie');
    expect(result.text).to.include('served over http');
    await page.close();
  });
});

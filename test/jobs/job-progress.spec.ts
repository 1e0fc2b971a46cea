/**
 * job-progress.js in a real Chromium: a tiny page with the progress element, and a JSON
 * endpoint whose job the test moves along.
 */
import { expect } from 'chai';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import type { JobView } from '../../src/jobs';
import { CHROMIUM_ARGS, findChromium } from '../../src/render/pdf-renderer';

const TOKEN = 'session-token-123';
const PUBLIC_DIR = path.join(__dirname, '..', '..', 'src', 'web', 'public');

function job(overrides: Partial<JobView>): JobView {
  return {
    id: 'job1',
    kind: 'grade-sync',
    status: 'queued',
    progress: { done: 0, total: 0 },
    result: null,
    error: null,
    createdBy: { userId: 't1' },
    createdAt: '2026-11-23T10:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

describe('job-progress.js (in Chromium)', function () {
  this.timeout(30_000);
  let server: Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let current: JobView;
  let pageLoads: number;
  let authHeaders: (string | undefined)[];

  before(async () => {
    const app = express();
    app.use('/assets', express.static(PUBLIC_DIR));
    app.get('/page', (req, res) => {
      pageLoads++;
      const lang = req.query.lang === 'nl' ? 'nl' : 'en';
      const done = req.query.noDone ? '' : 'data-done-url="/done?job={id}&file={result.fileId}"';
      res.type('html').send(`<!doctype html><html lang="${lang}"><head><title>t</title></head>
        <body data-session="${TOKEN}">
          <div id="p" data-job-progress data-job-url="/jobs/job1" ${done} ${current.status === 'succeeded' && !req.query.renderedRunning ? 'data-initial="finished"' : ''}
               data-text-label="Progress" data-text-progress="{done} of {total} learners"
               data-text-part-items="{done} of {total} activities" data-text-part-learners="{done} of {total} learners"
               data-text-queued="Waiting to start…" data-text-running="Working on it…" data-text-succeeded="Done."
               data-text-failed="This did not work: {message}" data-text-cancelled="Stopped."
               data-text-unreachable="Cannot reach the server."></div>
          <script src="/assets/job-progress.js"></script>
        </body></html>`);
    });
    app.get('/jobs/job1', (req, res) => {
      authHeaders.push(req.get('authorization'));
      if (req.get('authorization') !== `Bearer ${TOKEN}`) {
        res.status(401).json({ error: { code: 'unauthorized', message: 'Your session has ended.' } });
        return;
      }
      res.json(current);
    });
    app.get('/done', (_req, res) => void res.type('html').send('<!doctype html><title>done</title><h1>Finished</h1>'));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await puppeteer.launch({ executablePath: findChromium(), headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  beforeEach(async () => {
    pageLoads = 0;
    authHeaders = [];
    page = await browser.newPage();
  });

  afterEach(async () => {
    await page.close();
  });

  const read = () =>
    page.$eval('#p', (el) => {
      const bar = el.querySelector('progress')!;
      return {
        status: el.getAttribute('data-status'),
        value: bar.hasAttribute('value') ? bar.value : null,
        max: bar.max,
        count: el.querySelector('.job-progress__count')!.textContent,
        parts: [...el.querySelectorAll('li')].map((li) => li.textContent),
        message: el.querySelector('[role=status],[role=alert]')!.textContent,
        role: el.querySelector('.job-progress__status')!.getAttribute('role'),
        label: el.querySelector('label')!.textContent,
        labelled: el.querySelector('label')!.htmlFor === bar.id,
      };
    });

  it('shows the count and the parts, keeps polling across a reload, and follows the done URL on success', async () => {
    current = job({ status: 'queued' });
    await page.goto(`${base}/page`);
    await page.waitForSelector('#p[data-status=queued]');
    let shown = await read();
    expect(shown.message).to.equal('Waiting to start…');
    expect(shown.value).to.equal(null, 'indeterminate while the size is unknown');
    expect(shown.labelled).to.equal(true);

    current = job({
      status: 'running',
      progress: { done: 1234, total: 5000, parts: { items: { done: 20, total: 20 }, learners: { done: 1234, total: 5000 } } },
    });
    await page.waitForFunction(() => document.querySelector('#p')?.getAttribute('data-status') === 'running', { timeout: 5000 });
    shown = await read();
    expect(shown.count).to.equal('1,234 of 5,000 learners');
    expect(shown.value).to.equal(1234);
    expect(shown.max).to.equal(5000);
    expect(shown.parts).to.deep.equal(['20 of 20 activities', '1,234 of 5,000 learners']);
    expect(shown.message).to.equal('Working on it…');
    expect(authHeaders.every((h) => h === `Bearer ${TOKEN}`)).to.equal(true);

    await page.reload();
    await page.waitForSelector('#p[data-status=running]');
    expect((await read()).count).to.equal('1,234 of 5,000 learners');

    current = job({ status: 'succeeded', progress: { done: 5000, total: 5000 }, result: { fileId: 'f 1' } });
    await page.waitForFunction(() => location.pathname === '/done', { timeout: 8000 });
    expect(page.url()).to.equal(`${base}/done?job=job1&file=f%201`);
  });

  it('reloads the page when there is no done URL', async () => {
    current = job({ status: 'running', progress: { done: 1, total: 2 } });
    await page.goto(`${base}/page?noDone=1`);
    await page.waitForSelector('#p[data-status=running]');
    current = job({ status: 'succeeded', progress: { done: 2, total: 2 } });
    await page.waitForFunction(() => document.querySelector('#p')?.getAttribute('data-status') === 'succeeded', { timeout: 5000 });
    await page.waitForNavigation({ timeout: 5000 });
    expect(pageLoads).to.equal(2);
  });

  it('writes numbers the way the page language does', async () => {
    current = job({ status: 'running', progress: { done: 1234, total: 5000 } });
    await page.goto(`${base}/page?lang=nl`);
    await page.waitForSelector('#p[data-status=running]');
    expect((await read()).count).to.equal('1.234 of 5.000 learners');
  });

  it('announces a failure with its message and stops polling', async () => {
    current = job({ status: 'running', progress: { done: 3, total: 10 } });
    await page.goto(`${base}/page`);
    await page.waitForSelector('#p[data-status=running]');
    current = job({ status: 'failed', progress: { done: 3, total: 10 }, error: { code: 'platform_error', message: 'Canvas refused the roster.' } });
    await page.waitForSelector('#p[data-status=failed]', { timeout: 5000 });
    const shown = await read();
    expect(shown.message).to.equal('This did not work: Canvas refused the roster.');
    expect(shown.role).to.equal('alert');
    const polls = authHeaders.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(authHeaders.length).to.equal(polls);
    expect(page.url()).to.contain('/page');
  });

  it('shows a job that had already finished without reloading the page', async () => {
    current = job({ status: 'succeeded', progress: { done: 10, total: 10 }, result: { fileId: 'x' } });
    await page.goto(`${base}/page`);
    await page.waitForSelector('#p[data-status=succeeded]');
    await new Promise((r) => setTimeout(r, 1500));
    expect(pageLoads).to.equal(1);
    expect(page.url()).to.contain('/page');
    expect((await read()).message).to.equal('Done.');
  });

  it('moves on when a job the page showed as running finished before the first poll', async () => {
    current = job({ status: 'succeeded', progress: { done: 10, total: 10 }, result: { fileId: 'f9' } });
    await page.goto(`${base}/page?renderedRunning=1`);
    await page.waitForFunction(() => location.pathname === '/done', { timeout: 5000 });
    expect(page.url()).to.contain('file=f9');
  });

  it('stops with the server message when the session is refused', async () => {
    current = job({ status: 'running' });
    await page.goto(`${base}/page`);
    await page.evaluate(() => document.querySelectorAll('[data-job-progress]').forEach((el) => el.remove()));
    // a fresh element on a page without a session: the endpoint refuses it
    await page.evaluate(() => {
      delete document.body.dataset.session;
      const el = document.createElement('div');
      el.id = 'p';
      el.setAttribute('data-job-progress', '');
      el.setAttribute('data-job-url', '/jobs/job1');
      el.setAttribute('data-text-failed', 'Problem: {message}');
      document.body.appendChild(el);
      (window as unknown as { JobProgress: { init(): void } }).JobProgress.init();
    });
    await page.waitForSelector('#p[data-status=unavailable]', { timeout: 5000 });
    expect((await read()).message).to.equal('Problem: Your session has ended.');
    expect(authHeaders).to.include(undefined);
  });
});

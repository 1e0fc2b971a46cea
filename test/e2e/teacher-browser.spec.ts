/**
 * The teacher's pages in a real browser, inside the sandbox LMS's iframe (third-party context,
 * the tool's CSP, progress bars polling the job JSON): launch as the teacher, create a
 * certificate, run "generate all" and watch it finish.
 */
import { expect } from 'chai';
import type { Browser, Frame, Page } from 'puppeteer';
import { Types } from 'mongoose';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium, toolFrame } from '../support/chromium';

/** Clicks something that navigates the frame and waits for the next page of the tool. */
async function clickThrough(page: Page, frame: Frame, selector: string, path: RegExp): Promise<Frame> {
  await Promise.all([frame.waitForNavigation({ waitUntil: 'domcontentloaded' }), frame.click(selector)]);
  return toolFrame(page, path);
}

describe('In a real browser: the teacher page inside the sandbox LMS iframe', function () {
  this.timeout(90_000);
  let t: TestApp;
  let browser: Browser;
  before(async () => {
    t = await startTestApp();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('launch as the teacher, create a certificate, generate all and see the progress finish', async () => {
    // 40 learners: the even ones complete at 100%, the odd ones at 50%.
    const c = t.sandbox.store.createCourse({ title: 'Browser teacher course', quirks: 'moodle', learners: 40, items: 5, score: (l) => (l % 2 === 0 ? 10 : 5) });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      // the sandbox page's missing favicon is not the tool's business
      if (m.type() === 'error' && !/favicon/.test(m.location().url ?? '')) errors.push(`${m.text()} (${m.location().url})`);
    });
    await page.goto(`${t.baseUrl}/sandbox/courses/${c.course.id}`);
    // A DOM click: in a course this wide the sandbox's launch button sits outside the viewport.
    await page.$eval(`a[data-user-id="${c.teacherIds[0]}"]`, (a) => (a as HTMLElement).click());
    let frame = await toolFrame(page, /\/app\/[^/]+\/teacher$/);

    // The launch started a grade sync; its progress bar finishes, and the page then shows the result.
    await frame.waitForFunction(
      () => document.querySelector('[data-sync-status="succeeded"]') || document.querySelector('[data-kind="sync"][data-status="succeeded"]'),
      { timeout: 20_000 },
    );
    await t.app.ctx.jobs.drain();
    frame = await clickThrough(page, frame, '.teacher-nav a', /\/teacher$/);
    expect(await frame.$eval('[data-sync-status]', (e) => e.textContent ?? '')).to.match(/40 learners, 5 activities, no errors/);

    frame = await clickThrough(page, frame, '[data-action="new-definition"]', /\/teacher\/definitions\/new$/);
    expect(await frame.$eval('#f-requireAllGraded', (e) => (e as HTMLInputElement).checked)).to.equal(true);
    await frame.$eval('#f-title', (e) => ((e as HTMLInputElement).value = ''));
    await frame.type('#f-title', 'Digital Literacy: pass');
    frame = await clickThrough(page, frame, '[data-action="save-definition"]', /\/teacher\/definitions\/[0-9a-f]{24}$/);
    expect(await frame.$eval('[data-notice]', (e) => e.getAttribute('data-notice'))).to.equal('created');
    const definitionId = /definitions\/([0-9a-f]{24})/.exec(frame.url())![1]!;
    expect(await frame.$$eval('tr[data-eligible="yes"]', (rows) => rows.length)).to.equal(20);

    frame = await clickThrough(page, frame, '[data-action="generate-all"]', /\/generate$/);
    expect(await frame.$eval('#dry-run', (e) => e.getAttribute('data-will-issue'))).to.equal('20');
    frame = await clickThrough(page, frame, '[data-action="confirm-generate"]', /\/teacher\/definitions\/[0-9a-f]{24}$/);

    // Either the bar is seen finishing, or (a fast run) the reloaded page shows the outcome.
    await frame.waitForFunction(
      () => document.querySelector('[data-generate-result]') || document.querySelector('[data-kind="generate-all"][data-status="succeeded"]'),
      { timeout: 20_000 },
    );
    await t.app.ctx.jobs.drain();
    const issued = await issueModel(t.db.connection).countDocuments({ definitionId: new Types.ObjectId(definitionId), status: 'active' });
    expect(issued).to.equal(20);
    frame = await toolFrame(page, /\/teacher\/definitions\/[0-9a-f]{24}$/);
    await frame.waitForFunction(() => document.querySelector('[data-generate-result]') || document.querySelector('[data-kind="generate-all"][data-status="succeeded"]'));
    expect(errors, errors.join('\n')).to.deep.equal([]);
    await page.close();
  });
});

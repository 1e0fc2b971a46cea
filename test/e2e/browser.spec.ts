import { expect } from 'chai';
import type { Browser } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium, toolFrame } from '../support/chromium';

describe('In a real browser: the tool inside the sandbox LMS iframe', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  before(async () => {
    t = await startTestApp();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('clicking "launch as Bilbo" opens the learner page inside the iframe', async () => {
    const page = await browser.newPage();
    const courseId = t.sandbox.demo!.courseIds.moodle;
    await page.goto(`${t.baseUrl}/sandbox/courses/${courseId}`);
    await page.click(`a[data-user-id="${t.sandbox.demo!.bilbo.id}"]`);
    const frame = await toolFrame(page, /\/app\/[^/]+\/learner$/);
    const text = await frame.$eval('main', (m) => m.textContent ?? '');
    expect(text).to.include('Bilbo');
    await page.close();
  });

  it('clicking "launch as Gandalf" opens the teacher page inside the iframe', async () => {
    const page = await browser.newPage();
    const courseId = t.sandbox.demo!.courseIds.canvas;
    await page.goto(`${t.baseUrl}/sandbox/courses/${courseId}`);
    await page.click(`a[data-user-id="${t.sandbox.demo!.gandalf.id}"]`);
    await toolFrame(page, /\/app\/[^/]+\/teacher$/);
    await page.close();
  });
});

import { expect } from 'chai';
import type { Browser } from 'puppeteer';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium, toolFrame } from '../support/chromium';
import { defineCertificate, launchAs, sandboxCourse, toolCourse } from '../support/e2e';

describe('In a real browser: the learner gets their certificate inside the LMS iframe', function () {
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

  it('clicks "Get your certificate" and sees the certificate', async () => {
    const c = sandboxCourse(t, { scores: [[10, 9, 8]], title: 'Riddles in the Dark' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    await defineCertificate(t, course._id, { title: 'Riddle Master' });
    const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;

    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${t.baseUrl}/sandbox/courses/${c.course.id}`);
    // a DOM click: in a narrow window the sandbox's tool column can overlap the people table
    await page.$eval(`a[data-user-id="${learner.id}"]`, (a) => (a as HTMLAnchorElement).click());
    const frame = await toolFrame(page, /\/app\/[^/]+\/learner$/);
    expect(await frame.$eval('main', (m) => m.textContent ?? '')).to.include('Riddle Master');

    await Promise.all([frame.waitForNavigation(), frame.click('button[data-claim]')]);
    const certificate = await toolFrame(page, /\/app\/[^/]+\/certificates\/[0-9a-f]{24}$/);
    const text = await certificate.$eval('main', (m) => m.textContent ?? '');
    expect(text).to.include('Riddle Master');
    expect(text).to.include('Valid');
    expect(text).to.include(learner.name);
    expect(await certificate.$('[data-verify-url]')).not.to.equal(null);
    // The certificate itself is shown in the page, drawn by the same HTML the PDF is printed from.
    const view = await certificate.waitForSelector('iframe.certificate-frame');
    const viewFrame = await view!.contentFrame();
    await viewFrame!.waitForSelector('.sheet');
    expect(await viewFrame!.$eval('body', (b) => b.textContent ?? '')).to.include(learner.name);
    expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(1);
    await page.close();
  });
});

/**
 * The teacher's audit log in a real browser: the server writes times in UTC (it cannot know the
 * reader's zone); the page's script shows them in the browser's own zone and language, naming it.
 */
import { expect } from 'chai';
import type { Browser } from 'puppeteer';
import { auditModel } from '../../src/certificates/audit.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium, toolFrame } from '../support/chromium';
import { defineCertificate, launchAs, sandboxCourse, toolCourse } from '../support/e2e';

describe('In a real browser: audit times in the reader\'s time zone', function () {
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

  it('a Dutch teacher in Amsterdam sees 14:34 (Europe/Amsterdam) for 12:34 UTC, the UTC time as its title', async () => {
    const c = sandboxCourse(t, { scores: [[10]] });
    t.sandbox.store.getUser(c.teacherIds[0]!)!.locale = 'nl-NL';
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    await defineCertificate(t, course._id, { title: 'Zomercursus' });
    // the entry happened on 1 July 2026 at 12:34 UTC (summer time in Amsterdam: UTC+2)
    const moved = await auditModel(t.db.connection).updateMany({ courseId: course._id }, { $set: { at: new Date('2026-07-01T12:34:00Z') } });
    expect(moved.modifiedCount).to.be.greaterThan(0);

    const page = await browser.newPage();
    await page.emulateTimezone('Europe/Amsterdam');
    await page.goto(`${t.baseUrl}/sandbox/courses/${c.course.id}`);
    await page.$eval(`a[data-user-id="${c.teacherIds[0]}"]`, (a) => (a as HTMLElement).click());
    let frame = await toolFrame(page, /\/app\/[^/]+\/teacher$/);
    await frame.goto(frame.url().replace(/\/teacher$/, '/teacher/audit'), { waitUntil: 'domcontentloaded' });
    frame = await toolFrame(page, /\/teacher\/audit$/);
    await frame.waitForSelector('table.audit time[data-time-zone]');
    const times = await frame.$$eval('table.audit time', (els) => els.map((e) => ({ text: e.textContent, title: e.getAttribute('title'), zone: e.getAttribute('data-time-zone') })));
    expect(times.length).to.be.greaterThan(0);
    for (const time of times) {
      expect(time.text).to.equal('1 juli 2026 om 14:34 (Europe/Amsterdam)');
      expect(time.title).to.equal('1 juli 2026, 12:34 UTC');
      expect(time.zone).to.equal('Europe/Amsterdam');
    }
    await page.close();
  });
});

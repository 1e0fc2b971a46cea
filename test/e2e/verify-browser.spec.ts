/**
 * The verification page in a real Chromium, in every state, with and without the holder's name,
 * in the viewer's language (Accept-Language), and "check a name" typed into the form.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer';
import type { Types } from 'mongoose';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { issueModel, type IssueDoc } from '../../src/certificates/issue.model';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { setHolderChoice } from '../../src/credentials';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';
import { TEACHER, defineCertificate, issueFor, launchAs, sandboxCourse, syncGrades, toolCourse } from '../support/e2e';

type State = 'valid' | 'expired' | 'revoked' | 'superseded';

describe('In a real browser: the verification page in every state, with and without the name', function () {
  this.timeout(120_000);
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let courseId: Types.ObjectId;
  let definition: DefinitionDoc;
  let learners: Array<{ userId: string; name: string }>;
  let next = 0;
  let ipNo = 1;

  before(async () => {
    t = await startTestApp();
    const c = sandboxCourse(t, { scores: Array.from({ length: 10 }, () => [10, 10]), title: 'Ent Lore' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    definition = await defineCertificate(t, courseId, { public: true, title: 'Ent Lore Certificate' });
    learners = c.learnerIds.map((id) => {
      const u = t.sandbox.store.getUser(id)!;
      return { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name };
    });
    browser = await launchChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
  });

  /** A certificate in `state` whose holder chose to show (or hide) their name; for superseded, also the newer one. */
  async function certificateIn(state: State, showName: boolean): Promise<{ c: IssueDoc; newer?: IssueDoc }> {
    const c = await issueFor(t, courseId, definition, learners[next++]!);
    await setHolderChoice(t.db.connection, { kind: 'certificate', definitionId: String(definition._id), userId: c.userId }, showName, new Date());
    if (state === 'expired') await issueModel(t.db.connection).updateOne({ _id: c._id }, { $set: { expiresAt: new Date('2025-03-31T12:00:00Z') } });
    if (state === 'revoked') await revokeCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date('2025-06-01T12:00:00Z') });
    if (state === 'superseded') {
      const { certificate: newer } = await reissueCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, now: () => new Date(), random: randomBytes });
      return { c, newer };
    }
    return { c };
  }

  async function open(path: string, lang = 'en') {
    await page.setExtraHTTPHeaders({ 'accept-language': lang, 'x-forwarded-for': `198.51.102.${ipNo++}` });
    const res = await page.goto(`${t.baseUrl}${path}`);
    return { status: res!.status(), text: await page.$eval('main', (m) => (m as HTMLElement).innerText) };
  }

  const says: Record<State, RegExp> = {
    valid: /This certificate is real and valid\./,
    expired: /This certificate is real, but it has expired\.\s+Expired on 31 March 2025\./,
    revoked: /withdrawn by the issuer[^]*Withdrawn on 1 June 2025\./,
    superseded: /replaced by a newer version[^]*The current version:/,
  };

  for (const state of ['valid', 'expired', 'revoked', 'superseded'] as const) {
    for (const showName of [true, false]) {
      it(`${state}, name ${showName ? 'shown' : 'hidden'}: says so, with title, course, issuer and dates`, async () => {
        const { c, newer } = await certificateIn(state, showName);
        const { status, text } = await open(`/verify/${c.code}`);
        expect(status).to.equal(200);
        expect(text).to.match(says[state]);
        expect(text).to.include('Ent Lore Certificate');
        expect(text).to.include('Ent Lore');
        expect(text).to.include('University of Rivendell');
        expect(text).to.include(c.code);
        if (showName) {
          expect(text).to.include(c.learnerName);
          expect(await page.$('form[data-check-name]')).to.equal(null);
        } else {
          expect(text).not.to.include(c.learnerName);
          expect(text).to.include('not shown by the holder');
          expect(await page.$('form[data-check-name]')).not.to.equal(null);
        }
        if (newer) {
          await Promise.all([page.waitForNavigation(), page.click('a[data-newer]')]);
          expect(new URL(page.url()).pathname).to.equal(`/verify/${newer.code}`);
          expect(await page.$eval('main', (m) => (m as HTMLElement).innerText)).to.match(says.valid);
        }
      });
    }
  }

  it('checks a typed name: yes for the holder (any case, no accents), no for another', async () => {
    const { c } = await certificateIn('valid', false);
    await open(`/verify/${c.code}`);
    await page.type('#check-name', c.learnerName.toUpperCase());
    await Promise.all([page.waitForNavigation(), page.click('form[data-check-name] button[type=submit]')]);
    expect(await page.$eval('[data-name-check]', (e) => e.getAttribute('data-name-check'))).to.equal('yes');
    await page.type('#check-name', 'Somebody Else');
    await Promise.all([page.waitForNavigation(), page.click('form[data-check-name] button[type=submit]')]);
    expect(await page.$eval('[data-name-check]', (e) => (e as HTMLElement).innerText)).to.equal('No: this certificate was not issued to “Somebody Else”.');
  });

  it('tells a malformed code from an unknown one', async () => {
    const malformed = await open('/verify/not-a-code');
    expect(malformed.status).to.equal(400);
    expect(malformed.text).to.include('This is not a verification code');
    const unknown = await open('/verify/ZZZZ-ZZZZ-ZZZZ-ZZZ1');
    expect(unknown.status).to.equal(404);
    expect(unknown.text).to.include('No certificate found');
  });

  it('speaks the viewer\'s language: Dutch, French, German, Spanish', async () => {
    const { c } = await certificateIn('expired', false);
    const expected: Array<[string, RegExp]> = [
      ['nl-NL', /Verlopen op 31 maart 2025\.[^]*niet getoond door de houder/],
      ['fr-FR', /Expiré le 31 mars 2025\.[^]*non affiché par le titulaire/],
      ['de-DE', /Abgelaufen am 31\. März 2025\.[^]*nicht angezeigt/],
      ['es-ES', /Caducó el 31 de marzo de 2025\.[^]*el titular no lo muestra/],
    ];
    for (const [lang, re] of expected) {
      const { text } = await open(`/verify/${c.code}`, lang);
      expect(text, lang).to.match(re);
      expect(await page.$eval('html', (h) => h.lang), lang).to.equal(lang.slice(0, 2));
    }
  });
});

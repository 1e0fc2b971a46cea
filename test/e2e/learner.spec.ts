import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { countRenders, defineCertificate, launchAs, pdfText, sandboxCourse, toolCourse } from '../support/e2e';

/** The seeds' Bilbo: 85% after nine of ten activities, the tenth not graded yet. */
const BILBO = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];
const FULL = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];

function cardOf(html: string, definitionId: string): string {
  const start = html.indexOf(`data-definition-id="${definitionId}"`);
  expect(start, 'the certificate card is on the page').to.be.greaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('The learner page (R1–R3)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  it('tells the learner kindly when the teacher has not set up a certificate yet', async () => {
    const c = sandboxCourse(t, { scores: [BILBO] });
    const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(page.html).to.include('data-empty');
    expect(page.html).to.include('Your teacher has not set up a certificate for this course yet');
    expect(page.html).not.to.include('data-claim');
  });

  describe('with the guard against temporary scores on (the default)', () => {
    it('shows the breakdown per activity and the reasons in words, and offers no claim', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const def = await defineCertificate(t, (await toolCourse(t, c))._id);
      const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const card = cardOf(page.html, String(def._id));
      expect(card).to.include('data-state="pending"');
      expect(card).to.include('Your score: 85% (needed: 80%)');
      expect(card).to.include('9 of 10 activities graded');
      expect(card).to.include('1 of 10 activities has not been graded yet');
      expect((card.match(/<tr data-item/g) ?? []).length).to.equal(10);
      expect(card).to.include('Activity 10');
      expect(card).to.include('not graded yet');
      expect(card).to.include('9 / 10');
      expect(card).not.to.include('data-claim');
      expect(card).not.to.include('data-counts-as-zero');
    });

    it('refuses a claim (403, the page says why) and issues nothing', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const res = await browser.request(`${app}/learner/claim`, { form: { definitionId: String(def._id) } });
      expect(res.status).to.equal(403);
      const html = await res.text();
      expect(html).to.include('You cannot get this certificate yet');
      expect(html).to.include('1 of 10 activities has not been graded yet');
      expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(0);
    });

    it('shows "78.5% of 80% needed"-style reasons below the threshold', async () => {
      const c = sandboxCourse(t, { scores: [[8, 7.7]] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const def = await defineCertificate(t, (await toolCourse(t, c))._id);
      const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect(cardOf(page.html, String(def._id))).to.include('Your score is 78.5%; you need 80%.');
    });
  });

  describe('with the guard off', () => {
    it('marks ungraded activities as counted as zero, and offers "Get your certificate"', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const def = await defineCertificate(t, (await toolCourse(t, c))._id, { requireAllGraded: false });
      const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const card = cardOf(page.html, String(def._id));
      expect(card).to.include('data-state="claimable"');
      expect(card).to.include('data-counts-as-zero');
      expect(card).to.include('counts as 0 for now');
      expect(card).to.include('Get your certificate');
    });

    it('issues exactly one certificate for two simultaneous claims and lands both on it', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id, { requireAllGraded: false });
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const [a, b] = await Promise.all([
        browser.request(`${app}/learner/claim`, { form: { definitionId: String(def._id) } }),
        browser.request(`${app}/learner/claim`, { form: { definitionId: String(def._id) } }),
      ]);
      expect([a.status, b.status]).to.deep.equal([303, 303]);
      expect(a.headers.get('location')).to.equal(b.headers.get('location'));
      expect(a.headers.get('location')).to.match(/\/app\/[^/]+\/certificates\/[0-9a-f]{24}$/);
      expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(1);

      const certificatePage = await browser.open(new URL(a.headers.get('location')!, app).toString());
      expect(certificatePage.status).to.equal(200);
      expect(certificatePage.html).to.include('data-status="active"');
      expect(certificatePage.html).to.match(/\/verify\/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/);

      // The learner page now lists it, with the link to check it and whether that link is public.
      const again = await browser.open(`${app}/learner`);
      expect(cardOf(again.html, String(def._id))).to.include('data-state="held"');
      expect(again.html).to.include('data-verify-url');
      expect(again.html).to.include('This link shows others only whether your certificate is valid');
    });
  });

  describe('a certificate the learner holds', () => {
    let c: ReturnType<typeof sandboxCourse>;
    let app: string;
    let browser: HttpBrowser;
    let certificateUrl: string;
    let code: string;
    before(async () => {
      c = sandboxCourse(t, { scores: [FULL, FULL], title: 'Middle-earth Studies' });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id, { public: true });
      ({ browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!));
      const res = await browser.request(`${app}/learner/claim`, { form: { definitionId: String(def._id) } });
      certificateUrl = new URL(res.headers.get('location')!, app).toString();
      const issue = await issueModel(t.db.connection).findOne({ courseId: course._id }).lean();
      code = issue!.code;
    });

    it('shows it as HTML, the same rendering the PDF is printed from', async () => {
      const page = await browser.open(`${certificateUrl}.html`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-security-policy')).to.include("default-src 'none'");
      expect(page.html).to.include(code);
      expect(page.html).to.include('Middle-earth Studies');
    });

    it('downloads the PDF, rendered once and served from storage afterwards', async () => {
      const first = await countRenders(t, async () => {
        const res = await browser.request(`${certificateUrl}.pdf`);
        return { status: res.status, source: res.headers.get('x-certificate-pdf'), type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
      });
      expect(first.value.status).to.equal(200);
      expect(first.value.type).to.equal('application/pdf');
      expect(first.renders).to.equal(1);
      expect(first.value.source).to.equal('rendered');
      const text = pdfText(first.value.body);
      expect(text).to.include('Middle-earth Studies');
      expect(text).to.include(code);

      const second = await countRenders(t, async () => {
        const res = await browser.request(`${certificateUrl}.pdf`);
        return { source: res.headers.get('x-certificate-pdf'), body: Buffer.from(await res.arrayBuffer()) };
      });
      expect(second.renders).to.equal(0);
      expect(second.value.source).to.equal('stored');
      expect(second.value.body.equals(first.value.body)).to.equal(true);
      const issue = await issueModel(t.db.connection).findOne({ code }).lean();
      expect(issue?.pdfFileId).to.match(/^[0-9a-f]{24}$/);
    });

    it('is not shown to another learner of the course, nor in another course', async () => {
      const other = await launchAs(t, c.course.id, c.learnerIds[1]!);
      const id = certificateUrl.split('/').pop()!;
      for (const suffix of ['', '.html', '.pdf']) {
        const res = await other.browser.request(`${other.app}/certificates/${id}${suffix}`);
        expect(res.status, `another learner, ${suffix || 'page'}`).to.equal(404);
      }
      const elsewhere = sandboxCourse(t, { scores: [FULL] });
      const stranger = await launchAs(t, elsewhere.course.id, elsewhere.teacherIds[0]!);
      const res = await stranger.browser.request(`${stranger.app}/certificates/${id}`);
      expect(res.status, "another course's teacher").to.equal(404);
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      expect((await teacher.browser.request(`${teacher.app}/certificates/${id}`)).status, "the course's teacher").to.equal(200);
    });

    it('offers the learner no way to delete or cancel it (R3)', async () => {
      const id = certificateUrl.split('/').pop()!;
      const attempts: Array<[string, string]> = [
        ['DELETE', `${app}/certificates/${id}`],
        ['POST', `${app}/certificates/${id}`],
        ['POST', `${app}/certificates/${id}/delete`],
        ['POST', `${app}/certificates/${id}/revoke`],
        ['DELETE', `${app}/learner/certificates/${id}`],
        ['POST', `${app}/learner/certificates/${id}/delete`],
        ['POST', `${app}/learner/cancel`],
        ['DELETE', `${app}/learner/claim`],
        ['POST', `${app}/teacher/certificates/${id}/delete`],
        ['POST', `${app}/teacher/certificates/${id}/revoke`],
      ];
      for (const [method, url] of attempts) {
        const res = await browser.request(url, { method, form: { reason: 'I want it gone', confirm: 'yes' } });
        expect([403, 404, 405], `${method} ${url}`).to.include(res.status);
      }
      const page = await browser.open(`${app}/learner`);
      expect(page.html).not.to.match(/delete|cancel|revoke/i);
      expect((await issueModel(t.db.connection).findOne({ code }).lean())?.status).to.equal('active');
    });
  });

  it('shows the page in Dutch for a Dutch launch', async () => {
    const c = sandboxCourse(t, { scores: [BILBO] });
    const user = t.sandbox.store.getUser(c.learnerIds[0]!)!;
    user.locale = 'nl-NL';
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    await defineCertificate(t, (await toolCourse(t, c))._id, { requireAllGraded: false });
    const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(page.html).to.include('<html lang="nl">');
    expect(page.html).to.include('Haal je certificaat op');
    expect(page.html).to.include('telt voorlopig als 0');
  });
});

/**
 * The learner's pages (R1–R3, R10), route by route, through a real launch from the sandbox LMS.
 * Pages are read as parsed HTML (test/support/html.ts).
 */
import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import type { HttpBrowser } from '../support/browser';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { TEACHER, countRenders, defineCertificate, launchAs, pdfText, sandboxCourse, subjectOf, toolCourse } from '../support/e2e';
import { buildIssuedCertificate } from '../support/builders';
import { all, attr, cells, form, maybe, one, parseHtml, text, texts, type HTMLElement } from '../support/html';

/** The seeds' Bilbo: 85% after nine of ten activities, the tenth not graded yet. */
const BILBO = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];
const FULL = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];

/** The card of one certificate on the learner page. */
function cardOf(html: string | HTMLElement, definitionId: string): HTMLElement {
  return one(typeof html === 'string' ? parseHtml(html) : html, `section[data-definition-id="${definitionId}"]`);
}

describe('The learner page (R1–R3)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  /** A sandbox course with the learners' scores, launched once by its teacher, and a definition on it. */
  async function courseWithCertificate(scores: Array<Array<number | null>>, input: Record<string, unknown> = {}, title?: string) {
    const c = sandboxCourse(t, { scores, title });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    const def = await defineCertificate(t, course._id, input);
    return { c, course, def, definitionId: String(def._id) };
  }

  describe('GET /learner', () => {
    it('tells the learner kindly when the teacher has not set up a certificate yet', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      const doc = parseHtml((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html);
      expect(text(doc, '[data-empty]')).to.include('Your teacher has not set up a certificate for this course yet');
      expect(maybe(doc, '[data-claim]')).to.equal(null);
    });

    it('shows the score, what is graded, and why the certificate is not there yet (guard on)', async () => {
      const { c, definitionId } = await courseWithCertificate([BILBO]);
      const card = cardOf((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html, definitionId);
      expect(card.getAttribute('data-state')).to.equal('pending');
      expect(text(card, 'p.score strong')).to.equal('Your score: 85% (needed: 80%)');
      expect(text(card, 'p.score .muted')).to.equal('9 of 10 activities graded');
      expect(texts(card, '[data-reasons] li')).to.deep.equal(['1 of 10 activities has not been graded yet']);
      expect(maybe(card, '[data-claim]')).to.equal(null);
    });

    it('shows one row per activity, the ungraded one as "not graded yet"', async () => {
      const { c, definitionId } = await courseWithCertificate([BILBO]);
      const rows = all(cardOf((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html, definitionId), 'tr[data-item]');
      expect(rows).to.have.length(10);
      // each activity names where its grade comes from (here the platform's AGS)
      expect(cells(rows[0]!).slice(0, 3)).to.deep.equal(['Activity 1 AGS', '10%', '9 / 10']);
      expect(attr(rows[0]!, '[data-source]', 'data-source')).to.equal('ags');
      expect(cells(rows[9]!)[0]).to.equal('Activity 10 AGS');
      expect(cells(rows[9]!)[4]).to.include('not graded yet');
      expect(rows[9]!.getAttribute('data-graded')).to.equal('false');
      expect(maybe(rows[9]!, '[data-counts-as-zero]')).to.equal(null);
    });

    it('says "your score is 78.5%; you need 80%" below the threshold', async () => {
      const { c, definitionId } = await courseWithCertificate([[8, 7.7]]);
      const card = cardOf((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html, definitionId);
      expect(texts(card, '[data-reasons] li')).to.include('Your score is 78.5%; you need 80%.');
    });

    it('marks ungraded activities as counting as zero and offers "Get your certificate" (guard off)', async () => {
      const { c, definitionId } = await courseWithCertificate([BILBO], { requireAllGraded: false });
      const card = cardOf((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html, definitionId);
      expect(card.getAttribute('data-state')).to.equal('claimable');
      expect(text(card, '[data-counts-as-zero]')).to.equal('counts as 0 for now');
      expect(text(card, '[data-claim]')).to.equal('Get your certificate');
      // showNameAsked: the claim also asks whether to show the name on the verification page (#12)
      expect(form(card, 'form')).to.deep.include({ method: 'post', fields: { definitionId, showNameAsked: '1' } });
    });

    it('lists what can be claimed first, then what is held, then what is not reached yet', async () => {
      const c = sandboxCourse(t, { scores: [[10, 7]] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      const course = await toolCourse(t, c);
      const pass = await defineCertificate(t, course._id, { title: 'Pass', thresholdPercent: 60 });
      const distinction = await defineCertificate(t, course._id, { title: 'Distinction', thresholdPercent: 90 });
      const merit = await defineCertificate(t, course._id, { title: 'Merit', thresholdPercent: 80 });
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      await browser.request(`${app}/learner/claim`, { form: { definitionId: String(pass._id) } });
      const doc = parseHtml((await browser.open(`${app}/learner`)).html);
      expect(all(doc, 'section[data-definition-id]').map((s) => [s.getAttribute('data-definition-id'), s.getAttribute('data-state')])).to.deep.equal([
        [String(merit._id), 'claimable'],
        [String(pass._id), 'held'],
        [String(distinction._id), 'pending'],
      ]);
    });

    it('shows the page in Dutch for a Dutch launch', async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      t.sandbox.store.getUser(c.learnerIds[0]!)!.locale = 'nl-NL';
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      await defineCertificate(t, (await toolCourse(t, c))._id, { requireAllGraded: false });
      const doc = parseHtml((await launchAs(t, c.course.id, c.learnerIds[0]!)).page.html);
      expect(attr(doc, 'html', 'lang')).to.equal('nl');
      expect(text(doc, '[data-claim]')).to.equal('Haal je certificaat op');
      expect(text(doc, '[data-counts-as-zero]')).to.equal('telt voorlopig als 0');
    });

    it('shows the page in French, German and Spanish for such launches, percentages written their way', async () => {
      const c = sandboxCourse(t, { scores: [BILBO, BILBO, BILBO] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      await defineCertificate(t, (await toolCourse(t, c))._id, { requireAllGraded: false });
      const expected = [
        ['fr-FR', 'fr', 'Obtenir votre certificat', "compte pour 0 pour l'instant"],
        ['de-AT', 'de', 'Zertifikat abholen', 'zählt vorerst als 0'],
        ['es_MX', 'es', 'Obtener su certificado', 'cuenta como 0 por ahora'],
      ] as const;
      for (const [i, [locale, lang, claim, zero]] of expected.entries()) {
        t.sandbox.store.getUser(c.learnerIds[i]!)!.locale = locale;
        const doc = parseHtml((await launchAs(t, c.course.id, c.learnerIds[i]!)).page.html);
        expect(attr(doc, 'html', 'lang'), locale).to.equal(lang);
        expect(text(doc, '[data-claim]'), locale).to.equal(claim);
        expect(text(doc, '[data-counts-as-zero]'), locale).to.equal(zero);
        expect(doc.textContent, locale).to.match(/\b85[\u00a0\u202f]%/);
      }
    });

    it('says when a certificate expired and lets the learner claim a new one, confirmed on the certificate page', async () => {
      const c = sandboxCourse(t, { scores: [FULL] });
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      await t.app.ctx.jobs.drain();
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id, { validity: { kind: 'recurring', validForMonths: 1 } });
      const userId = subjectOf(t, c, c.learnerIds[0]!);
      await buildIssuedCertificate(t.db.connection, { definition: def, learner: { userId }, now: new Date(Date.now() - 62 * 24 * 3600_000) });
      const { browser, app, page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const card = cardOf(page.html, String(def._id));
      expect(text(card, '[data-expired-on]')).to.match(/^Your certificate expired on \d{1,2} \w+ \d{4}\. You qualify again: claim a new one\.$/);
      expect(maybe(card, '[data-claim]'), 'the claim button is there').to.not.equal(null);
      const claimed = await browser.open(`${app}/learner/claim`, { form: { definitionId: String(def._id) } });
      expect(claimed.url).to.match(/\/certificates\/[0-9a-f]{24}$/);
      const doc = parseHtml(claimed.html);
      expect(text(doc, '[data-claimed]')).to.equal('Your certificate is ready. You can download it or share the link to check it.');
      expect(attr(doc, '[data-claimed]', 'data-focus-on-load')).to.equal('');
    });

    it("uses the browser's language when the platform sends no locale, and the launch's over the browser's", async () => {
      const c = sandboxCourse(t, { scores: [BILBO, BILBO] });
      // A platform that sends no launch_presentation.locale (Moodle 4.5.6 and Chamilo 1.11.28 always
      // send one, test/real-lms/drive-languages.sh; the LTI 1.3 spec makes it optional)
      Reflect.deleteProperty(t.sandbox.store.getUser(c.learnerIds[0]!)!, 'locale');
      t.sandbox.store.getUser(c.learnerIds[1]!)!.locale = 'nl-NL';
      const none = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const german = parseHtml(await (await none.browser.request(`${none.app}/learner`, { headers: { 'accept-language': 'ja,de-DE;q=0.8,en;q=0.5' } })).text());
      expect(attr(german, 'html', 'lang')).to.equal('de');
      expect(text(german, 'h1')).to.equal('Ihre Zertifikate');
      const dutch = await launchAs(t, c.course.id, c.learnerIds[1]!);
      const stillDutch = parseHtml(await (await dutch.browser.request(`${dutch.app}/learner`, { headers: { 'accept-language': 'de-DE' } })).text());
      expect(attr(stillDutch, 'html', 'lang')).to.equal('nl');
    });

    it("shows error pages in the launch's language: refused page, unknown page, ended session", async () => {
      const c = sandboxCourse(t, { scores: [BILBO] });
      t.sandbox.store.getUser(c.learnerIds[0]!)!.locale = 'nl-NL';
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const forbidden = await browser.request(`${app}/teacher`);
      expect(forbidden.status).to.equal(403);
      const f = parseHtml(await forbidden.text());
      expect(attr(f, 'html', 'lang')).to.equal('nl');
      expect(text(f, '.error-card .lead')).to.equal('Je mag dit niet doen. Denk je dat dat wel zou moeten? Vraag het je docent of beheerder.');
      const missing = await browser.request(`${app}/nothing-here`);
      expect(missing.status).to.equal(404);
      expect(text(parseHtml(await missing.text()), '.error-card .lead')).to.equal('We kunnen niet vinden wat je zoekt. Misschien is het verwijderd.');
      const ended = await browser.request(`${t.baseUrl}/app/not-a-session/learner`, { headers: { 'accept-language': 'nl-NL,nl;q=0.9' } });
      expect(ended.status).to.equal(401);
      const e = parseHtml(await ended.text());
      expect(attr(e, 'html', 'lang')).to.equal('nl');
      expect(text(e, '.error-card .lead')).to.equal('Je sessie is verlopen. Open de tool opnieuw vanuit je cursus.');
    });
  });

  describe('POST /learner/claim', () => {
    it('refuses a learner who does not qualify: 403, the page says why, nothing issued', async () => {
      const { c, course, definitionId } = await courseWithCertificate([BILBO]);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const res = await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      expect(res.status).to.equal(403);
      const doc = parseHtml(await res.text());
      expect(text(doc, '.notice[role=alert]')).to.include('You cannot get this certificate yet');
      expect(texts(cardOf(doc, definitionId), '[data-reasons] li')).to.deep.equal(['1 of 10 activities has not been graded yet']);
      expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(0);
    });

    it('refuses a claim that names no certificate, with a 400 naming the field', async () => {
      const { c, course } = await courseWithCertificate([FULL]);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const res = await browser.request(`${app}/learner/claim`, { form: {} });
      expect(res.status).to.equal(400);
      const doc = parseHtml(await res.text());
      expect(text(doc, '.error-card .lead')).to.equal('Choose the certificate you want to get.');
      expect(text(doc, '.error-card .details')).to.include('field: definitionId');
      expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(0);
    });

    it('issues one certificate when clicked twice at once, and lands both clicks on it', async () => {
      const { c, course, definitionId } = await courseWithCertificate([BILBO], { requireAllGraded: false });
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const [a, b] = await Promise.all([browser.request(`${app}/learner/claim`, { form: { definitionId } }), browser.request(`${app}/learner/claim`, { form: { definitionId } })]);
      expect([a.status, b.status]).to.deep.equal([303, 303]);
      expect(a.headers.get('location')).to.equal(b.headers.get('location'));
      expect(a.headers.get('location')).to.match(/\/app\/[^/]+\/certificates\/[0-9a-f]{24}$/);
      expect(await issueModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(1);
    });

    it('leads to the certificate, valid, with its verification link', async () => {
      const { c, definitionId } = await courseWithCertificate([FULL]);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const res = await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      const doc = parseHtml((await browser.open(new URL(res.headers.get('location')!, app).toString())).html);
      expect(maybe(doc, '[data-status="active"]')).not.to.equal(null);
      expect(all(doc, 'a').map((a) => a.getAttribute('href') ?? '').some((h) => /\/verify\/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(h))).to.equal(true);
    });

    it('then shows the certificate as held, with the link to check it and whether that link is public', async () => {
      const { c, definitionId } = await courseWithCertificate([FULL]);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      const doc = parseHtml((await browser.open(`${app}/learner`)).html);
      const card = cardOf(doc, definitionId);
      expect(card.getAttribute('data-state')).to.equal('held');
      const row = one(card, '[data-held][data-certificate-id]');
      expect(attr(row, '[data-verify-url]', 'href')).to.match(/\/verify\/[0-9A-Z-]{19}$/);
      expect(text(row, 'dd .muted')).to.include('This link shows others only whether your certificate is valid');
      // held and nothing else: no second list repeating it
      expect(maybe(doc, '#my-certificates')).to.equal(null);
    });

    it('lists each certificate once: the held one on its card with its status, earlier versions below', async () => {
      const { c, course, definitionId } = await courseWithCertificate([FULL]);
      const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      // the first one was withdrawn, the learner claimed again
      const issues = issueModel(t.db.connection);
      const first = (await issues.findOne({ courseId: course._id }).lean())!;
      await revokeCertificate(t.db.connection, { courseId: course._id, issueId: first._id, by: TEACHER, reason: 'wrong name', now: () => new Date() });
      await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      const mine = await issues.find({ courseId: course._id }).lean();
      expect(mine).to.have.length(2);
      const second = mine.find((m) => m.status === 'active')!;
      const doc = parseHtml((await browser.open(`${app}/learner`)).html);
      const shown = text(doc, 'body');
      for (const m of mine) expect(shown.split(m.code).length - 1, `times ${m.code} (${m.status}) is shown`).to.equal(1);
      const card = cardOf(doc, definitionId);
      expect(text(card, '.page-head .badge')).to.equal('Valid');
      expect(attr(card, '[data-held]', 'data-certificate-id')).to.equal(String(second._id));
      expect(text(doc, '#my-certificates h2')).to.equal('Your other certificates');
      expect(all(doc, '#my-certificates article[data-certificate-id]').map((a) => [a.getAttribute('data-certificate-id'), a.getAttribute('data-state')])).to.deep.equal([[String(first._id), 'revoked']]);
    });

  });

  describe('GET /certificates/:id of a certificate the learner holds', () => {
    let c: ReturnType<typeof sandboxCourse>;
    let app: string;
    let browser: HttpBrowser;
    let certificateUrl: string;
    let code: string;
    before(async () => {
      let definitionId: string;
      ({ c, definitionId } = await courseWithCertificate([FULL, FULL], { public: true }, 'Middle-earth Studies'));
      ({ browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!));
      const res = await browser.request(`${app}/learner/claim`, { form: { definitionId } });
      certificateUrl = new URL(res.headers.get('location')!, app).toString();
      code = (await issueModel(t.db.connection).findOne({ _id: certificateUrl.split('/').pop() }).lean())!.code;
    });

    it('.html shows it with the same rendering the PDF is printed from, under a strict CSP', async () => {
      const page = await browser.open(`${certificateUrl}.html`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-security-policy')).to.include("default-src 'none'");
      const shown = text(parseHtml(page.html), 'body');
      expect(shown).to.include(code);
      expect(shown).to.include('Middle-earth Studies');
    });

    it('.pdf renders the PDF once and serves it from storage afterwards', async () => {
      const first = await countRenders(t, async () => {
        const res = await browser.request(`${certificateUrl}.pdf`);
        return { status: res.status, source: res.headers.get('x-certificate-pdf'), type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
      });
      expect(first.value.status).to.equal(200);
      expect(first.value.type).to.equal('application/pdf');
      expect(first.renders).to.equal(1);
      expect(first.value.source).to.equal('rendered');
      const printed = pdfText(first.value.body);
      expect(printed).to.include('Middle-earth Studies');
      expect(printed).to.include(code);

      const second = await countRenders(t, async () => {
        const res = await browser.request(`${certificateUrl}.pdf`);
        return { source: res.headers.get('x-certificate-pdf'), body: Buffer.from(await res.arrayBuffer()) };
      });
      expect(second.renders).to.equal(0);
      expect(second.value.source).to.equal('stored');
      expect(second.value.body.equals(first.value.body)).to.equal(true);
      expect((await issueModel(t.db.connection).findOne({ code }).lean())?.pdfFileId).to.match(/^[0-9a-f]{24}$/);
    });

    it('is not found for another learner of the course, on the page, .html or .pdf', async () => {
      const other = await launchAs(t, c.course.id, c.learnerIds[1]!);
      const id = certificateUrl.split('/').pop()!;
      for (const suffix of ['', '.html', '.pdf']) {
        const res = await other.browser.request(`${other.app}/certificates/${id}${suffix}`);
        expect(res.status, `another learner, ${suffix || 'page'}`).to.equal(404);
      }
    });

    it('is not found for a teacher of another course, and shown to the course\'s teacher', async () => {
      const id = certificateUrl.split('/').pop()!;
      const elsewhere = sandboxCourse(t, { scores: [FULL] });
      const stranger = await launchAs(t, elsewhere.course.id, elsewhere.teacherIds[0]!);
      expect((await stranger.browser.request(`${stranger.app}/certificates/${id}`)).status, "another course's teacher").to.equal(404);
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
});

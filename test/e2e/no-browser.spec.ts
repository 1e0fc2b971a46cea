/**
 * A server with no browser to print PDFs with (CHROMIUM_PATH pointing at nothing) never fails
 * silently: the learner's claim still issues the certificate and its page says the PDF is being
 * prepared and the administrator has been told; the teacher's pages and /admin give the one
 * command that fixes it; nothing half-made is stored.
 */
import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import type { CourseDoc } from '../../src/courses/course.model';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { bucketOf } from '../../src/documents/gridfs';
import { RendererUnavailableError, SETUP_BROWSER_COMMAND, browserStatus, createPdfRenderer, type PdfRenderer } from '../../src/render';
import { sampleCertificate } from '../../bench/render-samples';
import { startTestApp, type TestApp } from '../support/app';
import { TEACHER, defineCertificate, launchAs, sandboxCourse, subjectOf, syncGrades, toolCourse, type Launched } from '../support/e2e';
import { buildIssuedCertificate } from '../support/builders';
import { HttpBrowser } from '../support/browser';
import { maybe, parseHtml } from '../support/html';

const NOWHERE = '/nonexistent/chromium-for-this-test';

describe('No browser for PDFs: said at once, never a silent failure', function () {
  this.timeout(120_000);
  let t: TestApp;
  let c: ReturnType<typeof sandboxCourse>;
  let course: CourseDoc;
  let teacher: Launched;
  let definition: DefinitionDoc;
  let real: PdfRenderer;

  before(async () => {
    t = await startTestApp();
    real = t.app.ctx.renderer;
    t.app.ctx.renderer = createPdfRenderer({ executablePath: NOWHERE });
    c = sandboxCourse(t, { scores: [[10, 10], [10, 10]], title: 'Offline Printing' });
    teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    course = await toolCourse(t, c);
    await syncGrades(t, course);
    definition = await defineCertificate(t, course._id, { title: 'No Browser Certificate', requireAllGraded: false });
  });
  after(async () => {
    await t.app.ctx.renderer.close();
    t.app.ctx.renderer = real;
  });

  it('names the path and the one command; the renderer refuses with it and starts nothing', async () => {
    const status = browserStatus(NOWHERE);
    expect(status).to.include({ ok: false, source: 'configured', command: SETUP_BROWSER_COMMAND });
    expect(status.problem).to.include(NOWHERE).and.to.include('npm run setup-browser');
    const renderer = createPdfRenderer({ executablePath: NOWHERE });
    const err = await renderer.pdf(sampleCertificate()).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(RendererUnavailableError);
    expect((err as Error).message).to.include('npm run setup-browser');
    expect(renderer.browserPid()).to.equal(undefined);
  });

  it('the learner claims and gets the certificate; its page says the PDF is being prepared and the administrator told, with no dead link', async () => {
    const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
    const res = await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(definition._id) } });
    expect(res.status).to.equal(303);
    const issued = await issueModel(t.db.connection).findOne({ courseId: course._id, userId: t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(c.learnerIds[0]!)!) }).lean();
    expect(issued?.status).to.equal('active');
    const page = parseHtml((await learner.browser.open(new URL(res.headers.get('location')!, learner.app).toString())).html);
    expect(maybe(page, '[data-status="active"]')).not.to.equal(null);
    expect(maybe(page, '[data-pdf-pending]')?.textContent).to.include('Its PDF is being prepared').and.to.include('the administrator has been told');
    expect(maybe(page, '[data-pdf-pending]')?.textContent).not.to.include('setup-browser');
    expect(maybe(page, 'a[data-pdf]')).to.equal(null);
    // The certificate itself is on the page (its HTML needs no browser).
    const html = await learner.browser.request(`${learner.app}/certificates/${issued!._id}.html`);
    expect(html.status).to.equal(200);
    // Asked for anyway, the PDF is a clear 503, and nothing is stored.
    const pdf = await learner.browser.request(`${learner.app}/certificates/${issued!._id}.pdf`);
    expect(pdf.status).to.equal(503);
    expect(await pdf.text()).to.include('cannot be made right now');
    expect(await bucketOf(t.db.connection, 'pdfs').find({ 'metadata.issueId': String(issued!._id) }).toArray()).to.have.length(0);
    expect((await issueModel(t.db.connection).findById(issued!._id).lean())?.pdfFileId ?? null).to.equal(null);

    // The learner page (where the learner lands next time) offers no PDF link either: it says the PDF is
    // being prepared, beside the certificate page they can open now.
    const overview = parseHtml((await learner.browser.open(`${learner.app}/learner`)).html);
    const held = maybe(overview, `[data-held][data-certificate-id="${issued!._id}"]`);
    expect(held, 'the held certificate on its card').not.to.equal(null);
    expect(maybe(held!, 'a[data-pdf]')).to.equal(null);
    expect(maybe(overview, 'a[href$=".pdf"]')).to.equal(null);
    expect(maybe(held!, '[data-pdf-pending]')?.textContent).to.equal('PDF being prepared: you can view the certificate now and download the PDF later.');
    expect(maybe(held!, `a[href$="/certificates/${issued!._id}"]`)?.textContent).to.equal('View certificate');

    // The teacher opening that certificate reads the command.
    const teacherPage = parseHtml((await teacher.browser.open(`${teacher.app}/certificates/${issued!._id}`)).html);
    expect(maybe(teacherPage, '[data-pdf-pending]')?.textContent).to.include('npm run setup-browser');
  });

  it('the public verification page says the PDF is being prepared instead of a link that answers 503', async () => {
    const publicDef = await defineCertificate(t, course._id, { title: 'Public No Browser Certificate', public: true, requireAllGraded: false });
    const issued = await buildIssuedCertificate(t.db.connection, { definition: publicDef, learner: { userId: subjectOf(t, c, c.learnerIds[1]!) }, issuedBy: TEACHER, now: new Date() });
    const res = await fetch(`${t.baseUrl}/verify/${issued.code}`);
    expect(res.status).to.equal(200);
    const page = parseHtml(await res.text());
    expect(maybe(page, '[data-status]')).not.to.equal(null);
    expect(maybe(page, 'a[data-pdf]')).to.equal(null);
    expect(maybe(page, '[data-pdf-pending]')?.textContent).to.equal('PDF being prepared: come back later to download it. This page confirms the certificate meanwhile.');
    // the JSON answer still names the PDF, which answers 503 until a browser is there
    const json = (await (await fetch(`${t.baseUrl}/verify/${issued.code}.json`)).json()) as { pdfUrl?: string };
    expect(json.pdfUrl).to.be.a('string');
    expect((await fetch(json.pdfUrl!)).status).to.equal(503);
  });

  it('the preview names the command instead of "prints correctly"', async () => {
    const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${definition._id}`);
    expect(page.status).to.equal(422);
    const doc = parseHtml(page.html);
    expect(maybe(doc, '[data-preview-ok]')).to.equal(null);
    expect(maybe(doc, '[data-preview-problem="renderer_unavailable"]')?.textContent).to.include('npm run setup-browser');
  });

  it('/admin says no PDF can be made and gives the command', async () => {
    const admin = new HttpBrowser();
    expect((await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    const doc = parseHtml((await admin.open(`${t.baseUrl}/admin`)).html);
    const card = maybe(doc, '[data-pdf-browser="missing"]');
    expect(card?.textContent).to.include('No PDF can be made').and.to.include(NOWHERE).and.to.include('npm run setup-browser');
    // With the browser back, /admin says which one prints.
    await t.app.ctx.renderer.close();
    t.app.ctx.renderer = real;
    const ok = parseHtml((await admin.open(`${t.baseUrl}/admin`)).html);
    expect(maybe(ok, '[data-pdf-browser="missing"]')).to.equal(null);
    expect(maybe(ok, '[data-pdf-browser="ok"]')?.textContent).to.match(/PDFs are printed with \S+/);
  });

  it('with a browser again, the learner page links the PDF in place of "being prepared"', async () => {
    if (t.app.ctx.renderer !== real) {
      await t.app.ctx.renderer.close();
      t.app.ctx.renderer = real;
    }
    const learner = await launchAs(t, c.course.id, c.learnerIds[1]!);
    expect((await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(definition._id) } })).status).to.equal(303);
    const overview = parseHtml((await learner.browser.open(`${learner.app}/learner`)).html);
    const held = maybe(overview, '[data-held]');
    expect(maybe(held!, '[data-pdf-pending]')).to.equal(null);
    expect(maybe(held!, 'a[data-pdf]')?.textContent).to.equal('Download PDF');
  });
});

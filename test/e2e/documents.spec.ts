import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { PNG } from 'pngjs';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { updateDefinition } from '../../src/certificates/definition.service';
import type { CourseDoc } from '../../src/courses/course.model';
import { EXPORT_PDF_JOB, sweepExpiredExports } from '../../src/documents';
import { bucketOf } from '../../src/documents/gridfs';
import { startTestApp, type TestApp } from '../support/app';
import { TEACHER, defineCertificate, issueFor, launchAs, pdfInfo, pdfText, sandboxCourse, syncGrades, toolCourse, type Launched } from '../support/e2e';

const FULL = [10, 10, 10];
/** The fields the teacher page's definition form always posts (flat names; a ticked box is present). */
const FORM = { itemsMode: 'all', thresholdPercent: '80', requireAllGraded: 'on', 'validity.kind': 'perpetual', 'template.showScore': 'on' };

function png(width = 40, height = 20): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(120);
  return PNG.sync.write(image);
}

async function upload(l: Launched, data: Buffer, opts: { kind?: string; name?: string; type?: string } = {}): Promise<Response> {
  const form = new FormData();
  form.set('kind', opts.kind ?? 'logo');
  form.set('file', new Blob([new Uint8Array(data)], { type: opts.type ?? 'image/png' }), opts.name ?? 'logo.png');
  return fetch(`${l.app}/teacher/templates/images`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
}

describe('Certificate documents: images, preview, export all', function () {
  this.timeout(120_000);
  let t: TestApp;
  let course: CourseDoc;
  let teacher: Launched;
  let definition: DefinitionDoc;
  let c: ReturnType<typeof sandboxCourse>;

  before(async () => {
    t = await startTestApp();
    c = sandboxCourse(t, { scores: Array.from({ length: 20 }, () => FULL), title: 'Hobbit Studies' });
    teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    course = await toolCourse(t, c);
    await syncGrades(t, course);
    definition = await defineCertificate(t, course._id, { title: 'Hobbit Certificate' });
  });

  describe('POST /teacher/templates/images', () => {
    it('stores a PNG and serves it to launches of this course only', async () => {
      const image = png();
      const res = await upload(teacher, image);
      expect(res.status).to.equal(201);
      const body = await res.json();
      expect(body).to.include({ contentType: 'image/png', bytes: image.length, kind: 'logo' });
      const served = await fetch(`${t.baseUrl}${body.url}`);
      expect(served.status).to.equal(200);
      expect(served.headers.get('content-type')).to.equal('image/png');
      expect(Buffer.from(await served.arrayBuffer()).equals(image)).to.equal(true);
      const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect((await fetch(`${learner.app}/images/${body.fileId}`)).status, 'a learner of the course').to.equal(200);
      const other = sandboxCourse(t, { scores: [FULL] });
      const stranger = await launchAs(t, other.course.id, other.teacherIds[0]!);
      expect((await fetch(`${stranger.app}/images/${body.fileId}`)).status, 'a teacher of another course').to.equal(404);
    });

    it('refuses a file that is not an image, whatever its name and declared type (415)', async () => {
      const res = await upload(teacher, Buffer.from('<html><script>alert(1)</script></html>'), { name: 'logo.png', type: 'image/png' });
      expect(res.status).to.equal(415);
      const body = await res.json();
      expect(body.error.code).to.equal('unsupported_media_type');
      expect(body.error.message).to.include('not a PNG, JPEG or WebP image');
    });

    it('refuses SVG (it can carry scripts)', async () => {
      const res = await upload(teacher, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), { name: 'logo.svg', type: 'image/svg+xml' });
      expect(res.status).to.equal(415);
      expect((await res.json()).error.message).to.equal(
        'This file is not a PNG, JPEG or WebP image. Save the logo or signature as PNG, JPEG or WebP and try again (SVG is not accepted).',
      );
    });

    it('refuses an image over the limit (413) and names the limit', async () => {
      const big = Buffer.concat([png(), Buffer.alloc(2 * 1024 * 1024 + 10, 1)]);
      const res = await upload(teacher, big);
      expect(res.status).to.equal(413);
      const body = await res.json();
      expect(body.error.code).to.equal('payload_too_large');
      expect(body.error.message).to.equal('The image is too large: the limit is 2 MB.');
      expect(body.error.details).to.include({ limitBytes: 2 * 1024 * 1024 });
    });

    it("sends a plain form upload from the preview page back to the definition's form with the new image", async () => {
      const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${definition._id}`);
      expect(page.html).to.include('enctype="multipart/form-data"');
      const form = new FormData();
      form.set('definitionId', String(definition._id));
      form.set('kind', 'signature');
      form.set('file', new Blob([new Uint8Array(png())], { type: 'image/png' }), 'signature.png');
      const res = await fetch(`${teacher.app}/teacher/templates/images`, { method: 'POST', body: form, redirect: 'manual' });
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.match(new RegExp(`/app/${teacher.session}/teacher/definitions/${definition._id}/edit\\?template\\.signatureFileId=[0-9a-f]{24}$`));
    });

    it('is for teachers only', async () => {
      const learner = await launchAs(t, c.course.id, c.learnerIds[1]!);
      expect((await upload(learner, png())).status).to.equal(403);
    });
  });

  describe('the template preview', () => {
    it('shows a definition with sample data, as HTML and as PDF', async () => {
      const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${definition._id}`);
      expect(page.status).to.equal(200);
      expect(page.html).to.include('data-preview-ok');
      const html = await teacher.browser.open(`${teacher.app}/teacher/templates/preview.html?definitionId=${definition._id}`);
      expect(html.html).to.include('Alex Example');
      const pdf = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.pdf?definitionId=${definition._id}`);
      expect(pdf.headers.get('content-type')).to.equal('application/pdf');
      const text = pdfText(Buffer.from(await pdf.arrayBuffer()));
      expect(text).to.include('Alex Example');
      expect(text).to.include('Hobbit Studies');
    });

    it('shows a chosen learner with their current score', async () => {
      const userId = t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(c.learnerIds[2]!)!);
      const name = t.sandbox.store.getUser(c.learnerIds[2]!)!.name;
      const html = await teacher.browser.open(`${teacher.app}/teacher/templates/preview.html?definitionId=${definition._id}&learner=${encodeURIComponent(userId)}`);
      expect(html.html).to.include(name);
      expect(html.html).to.include('100%');
    });

    it('previews unsaved settings from the definition form, uploaded logo included', async () => {
      const { fileId } = await (await upload(teacher, png(64, 32))).json();
      const form = { ...FORM, title: 'Unsaved Title', issuerName: 'The Shire', 'template.design': 'modern', 'template.accentColor': '#aa3300', 'template.logoFileId': fileId };
      const res = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.html`, { form });
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.include('Unsaved Title');
      expect(html).to.include('The Shire');
      expect(html).to.include('data:image/png;base64,');
      const pdf = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.pdf`, { form });
      expect(pdf.status).to.equal(200);
      expect(pdfText(Buffer.from(await pdf.arrayBuffer()))).to.include('Unsaved Title');
    });

    it('names the cause when the template cannot be drawn (a missing logo)', async () => {
      const broken = await defineCertificate(t, course._id, { title: 'Broken', template: { logoFileId: '0123456789abcdef01234567' } });
      const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${broken._id}`);
      expect(page.status).to.equal(422);
      expect(page.html).to.include('data-preview-problem="certificate_template_error"');
      expect(page.html).to.include('The logo image of this certificate template is missing');
      const pdf = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.pdf?definitionId=${broken._id}`);
      expect(pdf.status).to.equal(422);
      await updateDefinition(t.db.connection, { courseId: course._id, definitionId: broken._id, input: { title: 'Broken', issuerName: 'X' }, by: TEACHER, now: new Date(), publicAllowed: true });
    });

    it('names the cause when a text does not fit', async () => {
      const res = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.pdf`, {
        form: { ...FORM, title: 'T', issuerName: 'X', 'template.bodyText': 'x'.repeat(401) },
      });
      expect(res.status).to.equal(400);
      expect((await res.text())).to.include('template.bodyText');
    });

    it('tells a learner that a certificate cannot be printed, without a blank PDF', async () => {
      const learnerId = c.learnerIds[3]!;
      const userId = t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(learnerId)!);
      const brokenDef = await defineCertificate(t, course._id, { title: 'Broken logo', template: { logoFileId: 'fedcba9876543210fedcba98' } });
      const issue = await issueFor(t, course._id, brokenDef, { userId, name: t.sandbox.store.getUser(learnerId)!.name });
      const learner = await launchAs(t, c.course.id, learnerId);
      const res = await learner.browser.request(`${learner.app}/certificates/${issue._id}.pdf`);
      expect(res.status).to.equal(503);
      expect(res.headers.get('content-type')).to.match(/text\/html/);
      expect(await res.text()).to.include('The PDF of this certificate cannot be made right now');
    });
  });

  describe('export all', () => {
    let names: string[];
    before(async () => {
      names = [];
      for (const id of c.learnerIds) {
        const u = t.sandbox.store.getUser(id)!;
        names.push(u.name);
        await issueFor(t, course._id, definition, { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name });
      }
    });

    let pdfJobId: string;
    async function runExport(format: 'pdf' | 'zip'): Promise<{ body: Buffer; disposition: string; jobId: string }> {
      const start = await teacher.browser.request(`${teacher.app}/teacher/exports`, {
        form: { format, definitionId: String(definition._id) },
        headers: { accept: 'application/json' },
      });
      expect(start.status).to.equal(202);
      const { job, jobUrl } = await start.json();
      await t.app.ctx.jobs.drain();
      const status = await (await teacher.browser.request(`${t.baseUrl}${jobUrl}`)).json();
      expect(status.status, JSON.stringify(status.error)).to.equal('succeeded');
      expect(status.progress).to.deep.include({ done: 20, total: 20 });
      expect(status.result).to.include({ certificates: 20, format });
      const res = await teacher.browser.request(`${teacher.app}/teacher/exports/${job.id}/download`);
      expect(res.status).to.equal(200);
      return { body: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition') ?? '', jobId: job.id };
    }

    it('makes one PDF with one page per certificate, ordered by family name', async () => {
      const { body, disposition, jobId } = await runExport('pdf');
      pdfJobId = jobId;
      expect(disposition).to.match(/^attachment; filename="?Certificates_Hobbit-Studies_\d{4}-\d{2}-\d{2}\.pdf"?$/);
      expect(pdfInfo(body).pages).to.equal(20);
      const text = pdfText(body);
      for (const name of names) expect(text).to.include(name);
      const firstPage = pdfText(body, 1);
      const families = c.learnerIds.map((id) => t.sandbox.store.getUser(id)!).sort((a, b) => a.familyName.localeCompare(b.familyName) || a.givenName.localeCompare(b.givenName));
      expect(firstPage).to.include(families[0]!.name);
    });

    it('makes a ZIP of single PDFs named Lastname_Firstname_Course.pdf', async () => {
      const { body } = await runExport('zip');
      const dir = mkdtempSync(join(tmpdir(), 'export-zip-'));
      try {
        writeFileSync(join(dir, 'all.zip'), body);
        execFileSync('python3', ['-m', 'zipfile', '-e', join(dir, 'all.zip'), join(dir, 'out')]);
        const files = readdirSync(join(dir, 'out')).sort();
        expect(files).to.have.length(20);
        const u = t.sandbox.store.getUser(c.learnerIds[0]!)!;
        expect(files).to.include(`${u.familyName.replace(/\s+/g, '-')}_${u.givenName.replace(/\s+/g, '-')}_Hobbit-Studies.pdf`);
        for (const f of files) expect(f).to.match(/^[^_]+_[^_]+_Hobbit-Studies(-\d+)?\.pdf$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('starts one export however often the button is pressed while it runs', async () => {
      const start = () =>
        teacher.browser.request(`${teacher.app}/teacher/exports`, { form: { format: 'zip', definitionId: String(definition._id) }, headers: { accept: 'application/json' } });
      const [a, b] = await Promise.all([start(), start()]);
      const [ja, jb] = [(await a.json()).job, (await b.json()).job];
      expect(ja.id).to.equal(jb.id);
      await t.app.ctx.jobs.drain();
    });

    it('fails with the cause, and leaves no file behind, when one certificate cannot be drawn', async () => {
      const learnerId = c.learnerIds[5]!;
      const u = t.sandbox.store.getUser(learnerId)!;
      const broken = await defineCertificate(t, course._id, { title: 'Broken signature', template: { signatureFileId: 'aaaaaaaaaaaaaaaaaaaaaaaa' } });
      await issueFor(t, course._id, broken, { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name });
      const start = await teacher.browser.request(`${teacher.app}/teacher/exports`, { form: { format: 'pdf', definitionId: String(broken._id) }, headers: { accept: 'application/json' } });
      const { job } = await start.json();
      await t.app.ctx.jobs.drain();
      const done = await t.app.ctx.jobs.get(job.id, String(course._id));
      expect(done!.status).to.equal('failed');
      expect(done!.error!.message).to.include('signature image');
      expect(await bucketOf(t.db.connection, 'exports').find({ 'metadata.jobId': job.id }).toArray()).to.have.length(0);
    });

    it('is for teachers of the course only', async () => {
      const latest = await t.app.ctx.jobs.latest(String(course._id), EXPORT_PDF_JOB);
      const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect((await learner.browser.request(`${learner.app}/teacher/exports`, { form: { format: 'pdf' } })).status).to.equal(403);
      expect((await learner.browser.request(`${learner.app}/teacher/exports/${latest!.id}/download`)).status).to.equal(403);
      const other = sandboxCourse(t, { scores: [FULL] });
      const stranger = await launchAs(t, other.course.id, other.teacherIds[0]!);
      expect((await stranger.browser.request(`${stranger.app}/teacher/exports/${latest!.id}/download`)).status).to.equal(404);
    });

    it('is deleted a day later (410 afterwards)', async () => {
      const job = await t.app.ctx.jobs.get(pdfJobId, String(course._id));
      const fileId = (job!.result as { fileId: string }).fileId;
      const files = bucketOf(t.db.connection, 'exports');
      expect(await files.find({ _id: new Types.ObjectId(fileId) }).toArray()).to.have.length(1);
      const swept = await sweepExpiredExports(t.db.connection, new Date(Date.now() + 25 * 60 * 60 * 1000));
      expect(swept).to.be.at.least(1);
      const res = await teacher.browser.request(`${teacher.app}/teacher/exports/${pdfJobId}/download`);
      expect(res.status).to.equal(410);
      expect(await res.text()).to.include('kept for a day');
    });
  });

  describe('export of a template "in the learner\'s language"', () => {
    it("prints each learner's certificate in the language of their launch (nl-NL, fr-FR), the teacher's for one who never launched", async () => {
      const k = sandboxCourse(t, { scores: [FULL, FULL, FULL], title: 'Langues' });
      const teacherHere = await launchAs(t, k.course.id, k.teacherIds[0]!);
      const here = await toolCourse(t, k);
      const def = await defineCertificate(t, here._id, { title: 'Polyglot', template: { language: 'auto' } });
      const [nl, fr, never] = k.learnerIds.map((id) => t.sandbox.store.getUser(id)!);
      nl!.locale = 'nl-NL';
      fr!.locale = 'fr-FR';
      await launchAs(t, k.course.id, nl!.id);
      await launchAs(t, k.course.id, fr!.id);
      for (const u of [nl!, fr!, never!]) await issueFor(t, here._id, def, { userId: t.sandbox.store.subjectOf(k.course, u), name: u.name });

      const exported = async (format: 'pdf' | 'zip') => {
        const start = await teacherHere.browser.request(`${teacherHere.app}/teacher/exports`, { form: { format, definitionId: String(def._id) }, headers: { accept: 'application/json' } });
        expect(start.status).to.equal(202);
        const { job, jobUrl } = await start.json();
        await t.app.ctx.jobs.drain();
        const status = await (await teacherHere.browser.request(`${t.baseUrl}${jobUrl}`)).json();
        expect(status.status, JSON.stringify(status.error)).to.equal('succeeded');
        return Buffer.from(await (await teacherHere.browser.request(`${teacherHere.app}/teacher/exports/${job.id}/download`)).arrayBuffer());
      };
      const dir = mkdtempSync(join(tmpdir(), 'export-lang-'));
      try {
        writeFileSync(join(dir, 'all.zip'), await exported('zip'));
        execFileSync('python3', ['-m', 'zipfile', '-e', join(dir, 'all.zip'), join(dir, 'out')]);
        const files = readdirSync(join(dir, 'out'));
        expect(files).to.have.length(3);
        const printed = (u: typeof nl) => pdfText(readFileSync(join(dir, 'out', files.find((f) => f.startsWith(`${u!.familyName}_${u!.givenName}_`.replace(/\s+/g, '-')))!)));
        expect(printed(nl)).to.include('Dit certificaat wordt uitgereikt aan').and.not.include('This certificate is presented to');
        expect(printed(fr)).to.include('Ce certificat est décerné à').and.not.include('This certificate is presented to');
        expect(printed(never)).to.include('This certificate is presented to');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // one PDF, one page each, each in its learner's language
      const pdf = await exported('pdf');
      const pages = [1, 2, 3].map((n) => pdfText(pdf, n));
      const pageOf = (u: typeof nl) => pages.find((p) => p.includes(u!.name))!;
      expect(pageOf(nl)).to.include('Dit certificaat wordt uitgereikt aan');
      expect(pageOf(fr)).to.include('Ce certificat est décerné à');
      expect(pageOf(never)).to.include('This certificate is presented to');
    });
  });
});

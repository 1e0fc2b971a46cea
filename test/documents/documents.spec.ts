import mongoose from 'mongoose';
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { claimCertificate } from '../../src/certificates/issue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { issueModel, type IssueDoc } from '../../src/certificates/issue.model';
import {
  certificatePdf,
  detectImageType,
  documentFor,
  printedTitle,
  EXPORT_TTL_MS,
  ImageTooLargeError,
  ImageTypeError,
  loadCourseImage,
  storeImage,
  sweepExpiredExports,
  type PdfDeps,
} from '../../src/documents';
import { bucketOf, findFile, uploadBuffer } from '../../src/documents/gridfs';
import { NotFoundError } from '../../src/errors';
import { CertificateTemplateError, RenderTimeoutError, type CertificateDocument, type PdfRenderer } from '../../src/render';
import { T0, random, seedCourse, buildDefinition, teacher } from '../support/builders';
import { useTestDatabase } from '../support/db';

const PUBLIC_URL = 'https://certificates.example.edu';

function png(): Buffer {
  const image = new PNG({ width: 8, height: 8 });
  image.data.fill(200);
  return PNG.sync.write(image);
}

/** A renderer that counts and remembers what it was asked to draw (no browser). */
function fakeRenderer(opts: { fail?: Error; delayMs?: number } = {}): PdfRenderer & { calls: CertificateDocument[] } {
  const calls: CertificateDocument[] = [];
  return {
    calls,
    async pdf(doc) {
      calls.push(doc);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.fail) throw opts.fail;
      return Buffer.from(`%PDF-1.7 fake certificate for ${doc.learnerName} (${doc.language})\n%%EOF`);
    },
    pdfFromHtml: async () => Buffer.alloc(0),
    pdfBatch: async () => Buffer.alloc(0),
    close: async () => undefined,
    browserPid: () => undefined,
    browserStatus: () => ({ ok: true, path: '/fake', source: 'configured', problem: null, command: 'npm run setup-browser' }),
  };
}

async function read(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('certificate documents', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  async function issued(template: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<IssueDoc> {
    const course = await seedCourse(conn(), { scores: [[9, 8]], names: ['Frodo Baggins'], title: 'Middle-earth Studies' });
    const def = await buildDefinition(conn(), course.courseId, { template, ...extra });
    return (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Frodo Baggins' }, now: () => T0, random })).certificate;
  }

  describe('printedTitle', () => {
    it("prints the form's default title in the certificate's language, and a title the teacher wrote as written", () => {
      expect(printedTitle('Certificate of achievement', 'de')).to.equal('Leistungszertifikat');
      expect(printedTitle('Certificaat', 'fr')).to.equal('Certificat de réussite');
      expect(printedTitle('  certificate of ACHIEVEMENT ', 'es')).to.equal('Certificado de aprovechamiento');
      expect(printedTitle('Digital Literacy: pass', 'nl')).to.equal('Digital Literacy: pass');
    });
  });

  describe('documentFor', () => {
    it('prints what the certificate recorded, with the verification URL of its code', async () => {
      const c = await issued({ design: 'modern', paper: 'Letter', orientation: 'portrait', language: 'nl', accentColor: '#aa3300', bodyText: 'voor het afronden van', signatoryName: 'Elrond' });
      const doc = await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: T0 });
      expect(doc).to.deep.include({
        design: 'modern',
        paper: 'Letter',
        orientation: 'portrait',
        language: 'nl',
        accentColor: '#aa3300',
        bodyText: 'voor het afronden van',
        signatoryName: 'Elrond',
        // the form's default title ("Certificate of achievement"), printed in the certificate's language
        title: 'Certificaat',
        learnerName: 'Frodo Baggins',
        courseTitle: 'Middle-earth Studies',
        issuerName: 'University of Rivendell',
        verificationCode: c.code,
        verificationUrl: `${PUBLIC_URL}/verify/${c.code}`,
        logo: null,
        signature: null,
        watermark: null,
      });
      expect(doc.scorePercent).to.be.closeTo(85, 1e-9);
      expect(doc.issuedAt.toISOString()).to.equal(T0.toISOString());
    });

    it('leaves the score out when the template hides it', async () => {
      const c = await issued({ showScore: false });
      expect((await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: T0 })).scorePercent).to.equal(null);
    });

    it("prints a template set to 'auto' in the viewer's language", async () => {
      const c = await issued({ language: 'auto' });
      expect((await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: T0, language: 'nl' })).language).to.equal('nl');
      expect((await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: T0 })).language).to.equal('en');
    });

    it('marks on-screen views of certificates that are no longer valid, never the PDF', async () => {
      const c = await issued({}, { validity: { kind: 'recurring', validForMonths: 12 } });
      const later = new Date(T0.getTime() + 400 * 86_400_000);
      expect((await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: later, watermark: true })).watermark).to.equal('expired');
      expect((await documentFor(conn(), c, { publicUrl: PUBLIC_URL, now: later, watermark: false })).watermark).to.equal(null);
      const revoked = await revokeCertificate(conn(), { courseId: c.courseId, issueId: c._id, by: teacher, reason: 'test', now: () => T0 });
      expect((await documentFor(conn(), revoked, { publicUrl: PUBLIC_URL, now: T0, watermark: true })).watermark).to.equal('revoked');
    });

    it("loads the template's images from the course, and names a missing one", async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const logo = await storeImage(conn(), { courseId: course.courseId, kind: 'logo', data: png(), uploadedBy: { userId: 't' }, now: T0, uploadMaxBytes: 5e6 });
      const def = await buildDefinition(conn(), course.courseId, { template: { logoFileId: logo.fileId, signatureFileId: '0123456789abcdef01234567' } });
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const err = await documentFor(conn(), certificate, { publicUrl: PUBLIC_URL, now: T0 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CertificateTemplateError);
      expect((err as CertificateTemplateError).details).to.deep.equal({ field: 'signature' });
      const withLogoOnly = { ...certificate, template: { ...certificate.template, signatureFileId: undefined } };
      const doc = await documentFor(conn(), withLogoOnly, { publicUrl: PUBLIC_URL, now: T0 });
      expect(doc.logo?.contentType).to.equal('image/png');
      expect(doc.logo?.data.equals(png())).to.equal(true);
    });
  });

  describe('certificatePdf (the stored single PDF)', () => {
    const deps = (renderer: PdfRenderer): PdfDeps => ({ conn: conn(), renderer, publicUrl: PUBLIC_URL, now: () => T0 });

    it('renders once, stores it, and serves every later download from storage', async () => {
      const c = await issued();
      const renderer = fakeRenderer();
      const first = await certificatePdf(deps(renderer), c);
      expect(first.rendered).to.equal(true);
      const bytes = await read(first.open());
      expect(first.length).to.equal(bytes.length);
      const stored = await issueModel(conn()).findById(c._id).lean<IssueDoc>();
      expect(stored!.pdfFileId).to.equal(first.fileId);
      for (const issue of [c, stored!]) {
        const again = await certificatePdf(deps(renderer), issue);
        expect(again.rendered).to.equal(false);
        expect(again.fileId).to.equal(first.fileId);
        expect((await read(again.open())).equals(bytes)).to.equal(true);
      }
      expect(renderer.calls).to.have.length(1);
      expect(renderer.calls[0]!.watermark).to.equal(null);
    });

    it('shares one render between simultaneous requests', async () => {
      const c = await issued();
      const renderer = fakeRenderer({ delayMs: 50 });
      const results = await Promise.all([1, 2, 3].map(() => certificatePdf(deps(renderer), c)));
      expect(renderer.calls).to.have.length(1);
      expect(new Set(results.map((r) => r.fileId)).size).to.equal(1);
      expect(await bucketOf(conn(), 'pdfs').find({ 'metadata.issueId': String(c._id) }).toArray()).to.have.length(1);
    });

    it("keeps one PDF per language for templates in 'the learner's language'", async () => {
      const c = await issued({ language: 'auto' });
      const renderer = fakeRenderer();
      const en = await certificatePdf(deps(renderer), c, 'en');
      const nl = await certificatePdf(deps(renderer), c, 'nl');
      expect(en.fileId).not.to.equal(nl.fileId);
      expect((await certificatePdf(deps(renderer), c, 'nl')).rendered).to.equal(false);
      expect(renderer.calls.map((d) => d.language)).to.deep.equal(['en', 'nl']);
    });

    it('stores nothing when rendering fails, and throws the typed error', async () => {
      const c = await issued();
      const err = await certificatePdf(deps(fakeRenderer({ fail: new RenderTimeoutError('too slow') })), c).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RenderTimeoutError);
      expect(await bucketOf(conn(), 'pdfs').find({ 'metadata.issueId': String(c._id) }).toArray()).to.have.length(0);
      expect((await issueModel(conn()).findById(c._id).lean())!.pdfFileId).to.equal(undefined);
    });
  });

  describe('images', () => {
    it('knows PNG, JPEG and WebP by their first bytes, and nothing else', () => {
      expect(detectImageType(png())).to.equal('image/png');
      expect(detectImageType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).to.equal('image/jpeg');
      expect(detectImageType(Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]))).to.equal('image/webp');
      expect(detectImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).to.equal(null);
      expect(detectImageType(Buffer.from('GIF89a....'))).to.equal(null);
      expect(detectImageType(Buffer.from('%PDF-1.7'))).to.equal(null);
    });

    it('refuses a non-image (415) and an image over the limit (413, the limit in the error)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const base = { courseId: course.courseId, kind: 'logo' as const, uploadedBy: { userId: 't' }, now: T0 };
      const notImage = await storeImage(conn(), { ...base, data: Buffer.from('hello'), uploadMaxBytes: 5e6 }).catch((e: unknown) => e);
      expect(notImage).to.be.instanceOf(ImageTypeError);
      expect((notImage as ImageTypeError).status).to.equal(415);
      const big = await storeImage(conn(), { ...base, data: Buffer.concat([png(), Buffer.alloc(4000)]), uploadMaxBytes: 2048 }).catch((e: unknown) => e);
      expect(big).to.be.instanceOf(ImageTooLargeError);
      expect((big as ImageTooLargeError).status).to.equal(413);
      expect((big as ImageTooLargeError).message).to.include('the limit is 2 KB');
    });

    it("never hands out another course's image", async () => {
      const a = await seedCourse(conn(), { scores: [[10]] });
      const b = await seedCourse(conn(), { scores: [[10]] });
      const { fileId } = await storeImage(conn(), { courseId: a.courseId, kind: 'signature', data: png(), uploadedBy: { userId: 't' }, now: T0, uploadMaxBytes: 5e6 });
      expect((await loadCourseImage(conn(), a.courseId, fileId)).contentType).to.equal('image/png');
      expect(await loadCourseImage(conn(), b.courseId, fileId).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
      expect(await loadCourseImage(conn(), a.courseId, 'not-an-id').catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
    });
  });

  describe('sweepExpiredExports', () => {
    it('deletes exports older than a day and keeps the others', async () => {
      const fresh = await uploadBuffer(conn(), 'exports', 'fresh.pdf', Buffer.from('a'), { courseId: 'x', jobId: 'j1', expiresAt: new Date(T0.getTime() + EXPORT_TTL_MS) });
      const old = await uploadBuffer(conn(), 'exports', 'old.pdf', Buffer.from('b'), { courseId: 'x', jobId: 'j2', expiresAt: new Date(T0.getTime() - 1) });
      expect(await sweepExpiredExports(conn(), T0)).to.equal(1);
      expect(await findFile(conn(), 'exports', { _id: fresh })).not.to.equal(null);
      expect(await findFile(conn(), 'exports', { _id: old })).to.equal(null);
    });

    it('deletes the chunks of an export whose upload never finished (its instance was killed) once its day is over', async () => {
      const fresh = await uploadBuffer(conn(), 'exports', 'fresh.pdf', Buffer.from('a'), { courseId: 'x', jobId: 'j3', expiresAt: new Date(T0.getTime() + EXPORT_TTL_MS) });
      const chunks = conn().collection('exports.chunks');
      const abandoned = mongoose.Types.ObjectId.createFromTime(Math.floor((T0.getTime() - 2 * EXPORT_TTL_MS) / 1000));
      await chunks.insertOne({ files_id: abandoned, n: 0, data: Buffer.from('half a PDF') });
      await sweepExpiredExports(conn(), T0);
      expect(await chunks.countDocuments({ files_id: abandoned })).to.equal(0);
      expect(await chunks.countDocuments({ files_id: fresh })).to.equal(1);
    });
  });
});

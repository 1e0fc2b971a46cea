import { execFileSync } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { expect } from 'chai';
import { ValidationError } from '../../src/errors';
import {
  CertificateTemplateError,
  PdfSource,
  PdfWriter,
  certificateFileName,
  createPdfRenderer,
  exportPdf,
  exportZip,
  findChromium,
  splitPdf,
  uniqueFileName,
  type CertificateDocument,
  type PdfRenderer,
} from '../../src/render';
import { sampleCertificate } from '../../bench/render-samples';
import { pdfInfo, pdfText } from './pdf-tools';

/** The files of a ZIP whose entries are stored uncompressed (as exportZip writes them), read from its central directory. */
function readStoredZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).to.equal(0x02014b50);
    expect(zip.readUInt16LE(at + 10), 'stored, not deflated').to.equal(0);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    files.set(name, zip.subarray(dataAt, dataAt + size));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** Collects what is written to a stream. */
function sink(): { stream: PassThrough; bytes: () => Buffer; ended: () => boolean } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => (ended = true));
  return { stream, bytes: () => Buffer.concat(chunks), ended: () => ended };
}

async function* certificates(n: number, override: (i: number) => Partial<CertificateDocument> = () => ({})) {
  for (let i = 0; i < n; i++) {
    yield sampleCertificate({
      learnerName: `Learner ${String(i + 1).padStart(3, '0')}`,
      verificationCode: `CODE-${i + 1}`,
      design: i % 2 === 0 ? 'classic' : 'modern',
      ...override(i),
    });
  }
}

describe('render: exports of many certificates', function () {
  this.timeout(120_000);
  let renderer: PdfRenderer;

  before(() => {
    renderer = createPdfRenderer({ executablePath: findChromium() });
  });
  after(async () => {
    await renderer.close();
  });

  /** The renderer, with batches printed by `pdfBatch` instead. */
  const printingWith = (pdfBatch: PdfRenderer['pdfBatch']): PdfRenderer => ({
    pdf: (doc) => renderer.pdf(doc),
    pdfFromHtml: (html) => renderer.pdfFromHtml(html),
    pdfBatch,
    close: async () => undefined,
    browserPid: () => renderer.browserPid(),
    browserStatus: () => renderer.browserStatus(),
  });

  describe('exportPdf', () => {
    const broken = { contentType: 'image/png' as const, data: Buffer.from('\x89PNG\r\n\x1a\nbroken', 'latin1') };

    it('writes 300 certificates as one PDF of 300 pages, in order, reporting progress per batch', async () => {
      const out = sink();
      const progress: number[] = [];
      const result = await exportPdf(certificates(300), out.stream, {
        renderer,
        batchSize: 100,
        onProgress: (done) => void progress.push(done),
      });
      expect(result).to.deep.equal({ pages: 300 });
      expect(progress).to.deep.equal([100, 200, 300]);
      expect(out.ended()).to.equal(true);
      const pdf = out.bytes();
      const info = pdfInfo(pdf);
      expect(info.pages).to.equal(300);
      expect(info.sizes.every(([w, h]) => w === 842 && h === 595)).to.equal(true);
      expect(pdfText(pdf, 1)).to.include('Learner 001').and.include('CODE-1');
      expect(pdfText(pdf, 150)).to.include('Learner 150').and.include('CODE-150');
      expect(pdfText(pdf, 300)).to.include('Learner 300').and.include('CODE-300');
      // Assets are shared within a batch: far smaller than 300 single PDFs (~60 KB each).
      expect(pdf.length).to.be.lessThan(300 * 40_000);
    });

    it('keeps each certificate its own paper and orientation', async () => {
      const out = sink();
      const formats = [
        { paper: 'A4', orientation: 'landscape' },
        { paper: 'Letter', orientation: 'portrait' },
        { paper: 'A4', orientation: 'portrait' },
        { paper: 'Letter', orientation: 'landscape' },
      ] as const;
      await exportPdf(certificates(4, (i) => formats[i]!), out.stream, { renderer, batchSize: 3 });
      expect(pdfInfo(out.bytes()).sizes).to.deep.equal([
        [842, 595],
        [612, 792],
        [595, 842],
        [792, 612],
      ]);
    });

    it('writes nothing and leaves the output open when the first batch fails, and names the problem', async () => {
      const out = sink();
      const err = await exportPdf(certificates(12, (i) => (i === 1 ? { logo: broken } : {})), out.stream, {
        renderer,
        batchSize: 4,
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CertificateTemplateError);
      expect(out.bytes().length).to.equal(0);
      expect(out.ended()).to.equal(false);
      expect(out.stream.destroyed, 'still open for an error response').to.equal(false);
    });

    it('breaks the output, never ending it, when a later batch fails after earlier ones were written', async () => {
      const out = sink();
      const err = await exportPdf(certificates(12, (i) => (i === 9 ? { logo: broken } : {})), out.stream, {
        renderer,
        batchSize: 4,
        concurrency: 1,
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CertificateTemplateError);
      expect(out.bytes().length, 'the first batches went out as they were printed').to.be.greaterThan(0);
      expect(out.ended(), 'a reader never sees the end of a half file').to.equal(false);
      expect(out.stream.destroyed).to.equal(true);
      expect(out.stream.errored).to.equal(err);
    });

    it('stops when aborted, breaking the output', async () => {
      const out = sink();
      const controller = new AbortController();
      const err = await exportPdf(certificates(50), out.stream, {
        renderer,
        batchSize: 10,
        onProgress: (done) => {
          if (done >= 10) controller.abort();
        },
        signal: controller.signal,
      }).catch((e: unknown) => e);
      expect((err as Error).name).to.equal('AbortError');
      expect(out.ended()).to.equal(false);
      expect(out.stream.destroyed).to.equal(true);
    });

    it('writes the batches in order when a later one finishes printing first', async () => {
      // The first print is held back, so batch 2 is done before batch 1.
      let calls = 0;
      const slowFirst = printingWith(async (batch) => {
        const pdf = await renderer.pdfBatch(batch);
        if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 1500));
        return pdf;
      });
      const out = sink();
      const progress: number[] = [];
      const result = await exportPdf(certificates(9), out.stream, { renderer: slowFirst, batchSize: 3, onProgress: (done) => void progress.push(done) });
      expect(result).to.deep.equal({ pages: 9 });
      expect(progress).to.deep.equal([3, 6, 9]);
      const pdf = out.bytes();
      for (const page of [1, 4, 7, 9]) expect(pdfText(pdf, page)).to.include(`Learner ${String(page).padStart(3, '0')}`);
    });

    it('reads only a few batches ahead of what the output has taken, however long the course', async () => {
      const two = await renderer.pdfBatch([sampleCertificate(), sampleCertificate({ design: 'modern' })]);
      const fast = printingWith(async () => two);
      let read = 0;
      let ahead = 0;
      async function* counted() {
        for (let i = 0; i < 60; i++) {
          read++;
          yield sampleCertificate({ learnerName: `Learner ${i}` });
        }
      }
      // Printing takes no time here and the output takes its chunks one turn of the event loop
      // apart: the export must wait for the output, not pile up batches.
      const slow = new Writable({
        highWaterMark: 16 * 1024,
        write(_chunk, _enc, done) {
          setImmediate(done);
        },
      });
      const result = await exportPdf(counted(), slow, {
        renderer: fast,
        batchSize: 2,
        onProgress: (done) => void (ahead = Math.max(ahead, read - done)),
      });
      expect(result.pages).to.equal(60);
      // one batch being read and built, two printing, four printed and waiting, one being written
      expect(ahead).to.be.at.most(8 * 2 + 1);
    });

    it('refuses an empty export', async () => {
      const err = await exportPdf(certificates(0), sink().stream, { renderer }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ValidationError);
    });
  });

  describe('exportZip', () => {
    it('writes one PDF per certificate with sanitised, unique names', async () => {
      const out = sink();
      const people = [
        ['Baggins', 'Bilbo'],
        ['Baggins', 'Bilbo'],
        ['Gamgee', 'Sam/../../etc'],
        ['Brandybuck', 'Meriadoc'],
      ];
      const docs = people.map(([last, first], i) =>
        sampleCertificate({ learnerName: `${first} ${last}`, verificationCode: `ZIP-${i}`, courseTitle: 'Digital Literacy' }),
      );
      const result = await exportZip(docs, out.stream, {
        renderer,
        batchSize: 3,
        fileName: (doc) => {
          const [first, ...rest] = doc.learnerName.split(' ');
          return certificateFileName([rest.join(' '), first!, doc.courseTitle]);
        },
      });
      expect(result).to.deep.equal({ files: 4 });
      const files = readStoredZip(out.bytes());
      expect([...files.keys()].sort()).to.deep.equal([
        'Baggins_Bilbo_Digital-Literacy-2.pdf',
        'Baggins_Bilbo_Digital-Literacy.pdf',
        'Brandybuck_Meriadoc_Digital-Literacy.pdf',
        'Gamgee_Sam-..-..-etc_Digital-Literacy.pdf',
      ]);
      const second = files.get('Baggins_Bilbo_Digital-Literacy-2.pdf')!;
      expect(pdfInfo(second).pages).to.equal(1);
      expect(pdfInfo(second).title).to.equal('Bilbo Baggins: Digital Literacy');
      expect(pdfText(second)).to.include('ZIP-1');
    });
  });

  describe('file names', () => {
    it('joins parts with underscores and keeps letters of every language', () => {
      expect(certificateFileName(['Baggins', 'Bilbo', 'Digital Literacy'])).to.equal('Baggins_Bilbo_Digital-Literacy.pdf');
      expect(certificateFileName(['Ó Súilleabháin', 'Łucja', 'Ǳ: "a/b"'])).to.equal('Ó-Súilleabháin_Łucja_Ǳ-a-b.pdf');
      expect(certificateFileName(['', '..'])).to.equal('certificate.pdf');
    });

    it('numbers duplicates, ignoring case', () => {
      const taken = new Set<string>();
      expect(uniqueFileName('A.pdf', taken)).to.equal('A.pdf');
      expect(uniqueFileName('a', taken)).to.equal('a-2.pdf');
      expect(uniqueFileName('A', taken)).to.equal('A-3.pdf');
    });
  });

  describe('joining and splitting PDFs (pdf-assembler)', () => {
    it('joins PDFs into one whose pages, sizes and text are those of the parts, and splits them again', async () => {
      const a = await renderer.pdfBatch([
        sampleCertificate({ learnerName: 'First Person' }),
        sampleCertificate({ learnerName: 'Second Person', paper: 'Letter', orientation: 'portrait' }),
      ]);
      const b = await renderer.pdf(sampleCertificate({ learnerName: 'Third Person', design: 'modern' }));
      const chunks: Buffer[] = [];
      const writer = new PdfWriter((c) => void chunks.push(c), { title: 'Joined' });
      await writer.addPages(PdfSource.parse(a));
      await writer.addPages(PdfSource.parse(b));
      expect(await writer.finish()).to.include({ pages: 3 });
      const joined = Buffer.concat(chunks);
      const info = pdfInfo(joined);
      expect(info).to.deep.include({ pages: 3, title: 'Joined' });
      expect(info.sizes).to.deep.equal([
        [842, 595],
        [612, 792],
        [842, 595],
      ]);
      expect(pdfText(joined, 3)).to.include('Third Person');
      const parts = await splitPdf(joined);
      expect(parts.map((p) => pdfText(p).includes('Second Person'))).to.deep.equal([false, true, false]);
      // poppler reads the parts without complaint
      for (const part of parts) execFileSync('pdfinfo', ['-'], { input: part, stdio: ['pipe', 'pipe', 'pipe'] });
    });

    it('refuses a file that is not a PDF written by Chromium', () => {
      expect(() => PdfSource.parse(Buffer.from('hello'))).to.throw(/not a PDF/);
    });
  });
});

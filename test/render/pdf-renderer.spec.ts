import { expect } from 'chai';
import {
  CertificateTemplateError,
  RenderTimeoutError,
  createPdfRenderer,
  findChromium,
  renderCertificateHtml,
  type PdfRenderer,
} from '../../src/render';
import { TEXT_LIMITS } from '../../src/render/certificate-document';
import { sampleCertificate } from '../../bench/render-samples';
import { PAPER_POINTS, decodeQr, pdfInfo, pdfText } from './pdf-tools';

describe('render: PDFs printed by Chromium', function () {
  this.timeout(60_000);
  let renderer: PdfRenderer;

  before(() => {
    renderer = createPdfRenderer({ executablePath: findChromium(), maxConcurrentPages: 2 });
  });
  after(async () => {
    await renderer.close();
  });

  describe('every design in every paper and orientation', () => {
    for (const design of ['classic', 'modern'] as const) {
      for (const paper of ['A4', 'Letter'] as const) {
        for (const orientation of ['landscape', 'portrait'] as const) {
          it(`${design}, ${paper} ${orientation}: one page of the right size with the name, course, code and a working QR code`, async () => {
            const doc = sampleCertificate({
              design,
              paper,
              orientation,
              learnerName: `Frodo ${design} ${paper} ${orientation}`,
              verificationUrl: `https://school.example/verify/${design}-${paper}-${orientation}`,
            });
            const pdf = await renderer.pdf(doc);
            const info = pdfInfo(pdf);
            expect(info.pages).to.equal(1);
            const [long, short] = PAPER_POINTS[paper];
            expect(info.sizes[0]).to.deep.equal(orientation === 'landscape' ? [long, short] : [short, long]);
            const text = pdfText(pdf);
            expect(text).to.include(`Frodo ${design} ${paper} ${orientation}`);
            expect(text).to.include('Digital Literacy for the Modern Hobbit');
            expect(text).to.include('7KQ2-M9XD-4HNC-PW3T');
            expect(text).to.include('23 November 2026');
            expect(decodeQr(pdf)).to.equal(`https://school.example/verify/${design}-${paper}-${orientation}`);
          });
        }
      }
    }
  });

  it('prints HTML injected into the name and body as plain text', async () => {
    const pdf = await renderer.pdf(
      sampleCertificate({ learnerName: '<b>Eve</b> <img src=x>', bodyText: '<script>document.write("pwned")</script>' }),
    );
    const text = pdfText(pdf);
    expect(text).to.include('<b>Eve</b> <img src=x>');
    expect(text).to.include('<script>document.write("pwned")</script>');
    // Printed once, as text; had the script run, "pwned" would appear a second time.
    expect(text.split('pwned').length - 1).to.equal(1);
  });

  it('prints names in other scripts with the embedded fonts', async () => {
    const pdf = await renderer.pdf(sampleCertificate({ learnerName: 'Łucja Ωmega Żółć', design: 'modern' }));
    expect(pdfText(pdf)).to.include('Łucja Ωmega Żółć');
  });

  it('keeps every field at its longest on one page, shrinking the text instead of cutting it', async () => {
    for (const design of ['classic', 'modern'] as const) {
      const doc = sampleCertificate({
        design,
        orientation: 'portrait',
        paper: 'Letter',
        title: 'T'.repeat(TEXT_LIMITS.title),
        learnerName: 'Wilhelmina '.repeat(11).slice(0, TEXT_LIMITS.learnerName),
        courseTitle: 'Course words '.repeat(13).slice(0, TEXT_LIMITS.courseTitle),
        bodyText: 'body text here '.repeat(27).slice(0, TEXT_LIMITS.bodyText),
        issuerName: 'Issuer '.repeat(18).slice(0, TEXT_LIMITS.issuerName),
        signatoryName: 'Signatory '.repeat(8).slice(0, TEXT_LIMITS.signatoryName),
      });
      const pdf = await renderer.pdf(doc);
      expect(pdfInfo(pdf).pages, design).to.equal(1);
      expect(pdfText(pdf), design).to.include('7KQ2-M9XD-4HNC-PW3T');
    }
  });

  it('prints the HTML of renderCertificateHtml as the same certificate (preview = PDF)', async () => {
    const doc = sampleCertificate({ learnerName: 'Samwise Gamgee' });
    const fromHtml = await renderer.pdfFromHtml(await renderCertificateHtml(doc));
    expect(pdfText(fromHtml)).to.equal(pdfText(await renderer.pdf(doc)));
    expect(pdfInfo(fromHtml).title).to.equal('Certificate of Completion: Samwise Gamgee, Digital Literacy for the Modern Hobbit');
  });

  it('gives a template error naming the image when its data is damaged', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]);
    const err = await renderer.pdf(sampleCertificate({ logo: { contentType: 'image/png', data: png } })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CertificateTemplateError);
    expect((err as CertificateTemplateError).details).to.deep.equal({ field: 'logo' });
    expect((err as Error).message).to.match(/logo image/);
    // The page that reported it is still usable.
    expect(pdfInfo(await renderer.pdf(sampleCertificate())).pages).to.equal(1);
  });

  it('still names a damaged image after printing whole ones (images decoded before are not decoded again, others are)', async () => {
    const good = sampleCertificate();
    expect(pdfInfo(await renderer.pdfBatch([good, good])).pages).to.equal(2); // its logo and signature decoded once
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('truncated')]);
    const err = await renderer
      .pdfBatch([good, sampleCertificate({ learnerName: 'Frodo Baggins', signature: { contentType: 'image/png', data: png } })])
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CertificateTemplateError);
    expect((err as CertificateTemplateError).details).to.deep.equal({ field: 'signature' });
    expect(pdfInfo(await renderer.pdfBatch([good])).pages).to.equal(1);
  });

  it('starts a new browser on the next call after the browser was killed', async () => {
    await renderer.pdf(sampleCertificate());
    const pid = renderer.browserPid();
    expect(pid).to.be.a('number');
    process.kill(pid!, 'SIGKILL');
    // Give puppeteer a moment to notice; the next call must work either way.
    await new Promise((r) => setTimeout(r, 200));
    const pdf = await renderer.pdf(sampleCertificate({ learnerName: 'After The Crash' }));
    expect(pdfText(pdf)).to.include('After The Crash');
    expect(renderer.browserPid()).to.be.a('number').and.not.equal(pid);
  });

  it('renders several certificates at once on the page pool', async () => {
    const names = ['Merry', 'Pippin', 'Sam', 'Frodo', 'Bilbo'];
    const pdfs = await Promise.all(names.map((n) => renderer.pdf(sampleCertificate({ learnerName: `${n} Brandybuck` }))));
    pdfs.forEach((pdf, i) => expect(pdfText(pdf)).to.include(`${names[i]} Brandybuck`));
  });

  it('rejects with RenderTimeoutError past the deadline instead of returning a partial PDF', async () => {
    const slow = createPdfRenderer({ executablePath: findChromium(), renderTimeoutMs: 1 });
    try {
      const err = await slow.pdf(sampleCertificate()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RenderTimeoutError);
    } finally {
      await slow.close();
    }
  });

  it('reports a missing Chromium as unavailable, naming the path', async () => {
    const broken = createPdfRenderer({ executablePath: '/nonexistent/chromium' });
    const err = await broken.pdf(sampleCertificate()).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('renderer_unavailable');
    expect((err as Error).message).to.include('/nonexistent/chromium');
    await broken.close();
  });
});

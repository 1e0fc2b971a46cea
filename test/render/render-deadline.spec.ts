import { expect } from 'chai';
import { createPdfRenderer, findChromium, type PdfRenderer } from '../../src/render/pdf-renderer';
import { RenderTimeoutError } from '../../src/render/render-errors';
import { renderCertificateHtml } from '../../src/render/certificate-html';
import { sampleCertificate } from '../../bench/render-samples';
import { pdfText } from './pdf-tools';

describe('render: a stalled preview has its own deadline and does not hold the renderer', function () {
  this.timeout(60_000);
  let stalledHtml: string;
  let renderer: PdfRenderer;

  before(() => {
    // a page that never finishes loading: its renderer is busy for good (like a picture that takes forever to decode)
    stalledHtml = '<!doctype html><html data-fitted><body><script>for (;;) {}</script></body></html>';
  });

  // a renderer of each test's own, with fresh pages (the browser start counts toward the deadline)
  beforeEach(() => {
    renderer = createPdfRenderer({ executablePath: findChromium(), maxConcurrentPages: 2, singleTimeoutMs: 8000 });
  });
  afterEach(async () => {
    await renderer.close();
  });


  it('answers another preview while one stalls, and gives the stalled one RenderTimeoutError at its deadline', async () => {
    const order: string[] = [];
    const started = Date.now();
    const stalled = renderer.pdfFromHtml(stalledHtml).then(
      () => order.push('stalled printed'),
      (e: unknown) => order.push(e instanceof RenderTimeoutError ? 'stalled timed out' : `stalled failed: ${String(e)}`),
    );
    const other = renderer.pdfFromHtml(await renderCertificateHtml(sampleCertificate({ learnerName: 'Rosie Cotton' }))).then((pdf) => {
      order.push('other printed');
      return pdf;
    });
    const pdf = await other;
    await stalled;
    expect(order).to.deep.equal(['other printed', 'stalled timed out']);
    expect(pdfText(pdf)).to.include('Rosie Cotton');
    expect(Date.now() - started).to.be.below(20_000);
  });

  it('frees the stalled page after the deadline: with every page stalled, a later render still gets printed', async () => {
    const started = Date.now();
    const stalls = [renderer.pdfFromHtml(stalledHtml).catch((e: unknown) => e), renderer.pdfFromHtml(stalledHtml).catch((e: unknown) => e)];
    await new Promise((r) => setTimeout(r, 3000));
    const later = await renderer.pdf(sampleCertificate({ learnerName: 'Lobelia Sackville' }));
    expect(pdfText(later)).to.include('Lobelia Sackville');
    for (const e of await Promise.all(stalls)) expect(e).to.be.instanceOf(RenderTimeoutError);
    // the preview deadline (8 s here, 15 s by default), not the 30 s of a batch
    expect(Date.now() - started).to.be.below(20_000);
  });
});

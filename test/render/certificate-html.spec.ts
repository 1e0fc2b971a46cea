import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { ValidationError } from '../../src/errors';
import {
  DESIGNS,
  certificateHtmlCsp,
  renderBatchHtml,
  renderCertificateHtml,
  validateDocument,
  type CertificateDocument,
} from '../../src/render';
import { TEMPLATE_DIR } from '../../src/render/certificate-html';
import { SAMPLE_LOGO, sampleCertificate } from '../../bench/render-samples';

function validationField(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return String((err as ValidationError).details?.field);
  }
  throw new Error('expected a ValidationError');
}

describe('render: certificate documents and their HTML', () => {
  describe('validateDocument', () => {
    it('accepts a complete certificate and trims its text', () => {
      const doc = validateDocument(sampleCertificate({ learnerName: '  Bilbo Baggins ' }));
      expect(doc.learnerName).to.equal('Bilbo Baggins');
    });

    it('names the field of a bad accent colour', () => {
      expect(validationField(() => validateDocument(sampleCertificate({ accentColor: 'red' })))).to.equal('accentColor');
      expect(validationField(() => validateDocument(sampleCertificate({ accentColor: '#12345' })))).to.equal('accentColor');
    });

    it('refuses an unsupported image type and bytes that are not the declared type', () => {
      const gif = { contentType: 'image/gif', data: Buffer.from('GIF89a....') } as unknown as CertificateDocument['logo'];
      expect(validationField(() => validateDocument(sampleCertificate({ logo: gif })))).to.equal('logo.contentType');
      const fakePng = { contentType: 'image/png' as const, data: Buffer.from('<svg></svg>') };
      expect(validationField(() => validateDocument(sampleCertificate({ signature: fakePng })))).to.equal('signature.data');
    });

    it('refuses text longer than its limit and a missing learner name', () => {
      expect(validationField(() => validateDocument(sampleCertificate({ bodyText: 'x'.repeat(401) })))).to.equal('bodyText');
      expect(validationField(() => validateDocument(sampleCertificate({ learnerName: '   ' })))).to.equal('learnerName');
      const noName = { ...sampleCertificate() } as Partial<CertificateDocument>;
      delete noName.learnerName;
      expect(validationField(() => validateDocument(noName))).to.equal('learnerName');
    });

    it('refuses a verification URL that is not http(s), so no script can hide behind the QR code', () => {
      expect(validationField(() => validateDocument(sampleCertificate({ verificationUrl: 'javascript:alert(1)' })))).to.equal(
        'verificationUrl',
      );
    });

    it('refuses an invalid date and an unknown time zone', () => {
      expect(validationField(() => validateDocument(sampleCertificate({ issuedAt: new Date('nope') })))).to.equal('issuedAt');
      expect(validationField(() => validateDocument(sampleCertificate({ timeZone: 'Mars/Olympus' })))).to.equal('timeZone');
    });
  });

  describe('renderCertificateHtml', () => {
    it('escapes HTML in every text a teacher or learner provides', async () => {
      const html = await renderCertificateHtml(
        sampleCertificate({
          learnerName: '<img src=x onerror="alert(1)">Eve',
          bodyText: '<script>alert("body")</script>',
          courseTitle: 'Course & <b>bold</b>',
          issuerName: '"><svg onload=alert(2)>',
          signatoryName: "O'Brien <i>",
          title: '<h1>Fake</h1>',
        }),
      );
      expect(html).not.to.include('<img src=x');
      expect(html).not.to.include('<script>alert');
      expect(html).not.to.include('<svg onload');
      expect(html).not.to.include('<b>bold</b>');
      expect(html).to.include('&lt;img src&#x3D;x onerror&#x3D;&quot;alert(1)&quot;&gt;Eve');
      expect(html).to.include('&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;');
      expect(html).to.include('Course &amp; &lt;b&gt;bold&lt;/b&gt;');
    });

    it('uses no triple-stash (unescaped output) anywhere in the templates', () => {
      for (const file of readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith('.hbs'))) {
        expect(readFileSync(join(TEMPLATE_DIR, file), 'utf8'), file).not.to.include('{{{');
      }
    });

    it('is a standalone page: fonts and images inline, no request to any server', async () => {
      const html = await renderCertificateHtml(sampleCertificate());
      expect(html).to.match(/^<!DOCTYPE html>/);
      expect(html).to.include("font-family:'EB Garamond'");
      expect(html).to.include('data:font/woff2;base64,');
      expect(html).to.include('data:image/svg+xml;base64,');
      expect(html).not.to.match(/(src|href)="(?!https:\/\/certificates\.rivendell\.example\/verify|#)[^"]*"/);
      expect(html).to.include(`content="${certificateHtmlCsp()}"`);
    });

    it('writes labels and dates in the certificate language', async () => {
      const en = await renderCertificateHtml(sampleCertificate({ language: 'en' }));
      expect(en).to.include('Issued on').and.include('23 November 2026').and.include('Valid until').and.include('Verification code');
      const nl = await renderCertificateHtml(sampleCertificate({ language: 'nl', scorePercent: 85.5 }));
      expect(nl).to.include('Uitgereikt op').and.include('23 november 2026').and.include('Geldig tot').and.include('Verificatiecode');
      expect(nl).to.include('85,5%');
    });

    it('takes the calendar day in the given time zone', async () => {
      const late = new Date('2026-11-23T23:30:00Z');
      expect(await renderCertificateHtml(sampleCertificate({ issuedAt: late }))).to.include('23 November 2026');
      expect(await renderCertificateHtml(sampleCertificate({ issuedAt: late, timeZone: 'Europe/Amsterdam' }))).to.include(
        '24 November 2026',
      );
    });

    it('shows expiry and score only when there are some', async () => {
      const html = await renderCertificateHtml(sampleCertificate({ expiresAt: null, scorePercent: null }));
      expect(html).not.to.include('Valid until');
      expect(html).not.to.include('>Score<');
      const withScore = await renderCertificateHtml(sampleCertificate({ scorePercent: 0 }));
      expect(withScore).to.include('0%');
    });

    it('uses the language default title when the title is empty', async () => {
      expect(await renderCertificateHtml(sampleCertificate({ title: '', language: 'nl' }))).to.include('Certificaat van verdienste');
    });

    it('marks a certificate that is no longer valid', async () => {
      expect(await renderCertificateHtml(sampleCertificate({ watermark: 'revoked', language: 'nl' }))).to.include(
        'class="watermark">Ingetrokken<',
      );
    });

    it('sizes a long name down by its length, for hosts that block the fitting script', async () => {
      const fitOf = (html: string) => Number(/class="name fit-(\d+)"/.exec(html)![1]);
      expect(fitOf(await renderCertificateHtml(sampleCertificate({ learnerName: 'Bilbo Baggins' })))).to.equal(100);
      const long = fitOf(await renderCertificateHtml(sampleCertificate({ learnerName: 'Maximiliaan Johannes Theodorus van der Westhuizen' })));
      expect(long).to.be.within(40, 70);
    });

    it('embeds the extra font subset only when a name needs it', async () => {
      const plain = await renderCertificateHtml(sampleCertificate({ learnerName: 'Anna Smit' }));
      const polish = await renderCertificateHtml(sampleCertificate({ learnerName: 'Łucja Wąsowska' }));
      expect(polish.length).to.be.greaterThan(plain.length + 20_000);
    });
  });

  describe('renderBatchHtml', () => {
    it('includes fonts and a shared logo once for many certificates', async () => {
      const docs = Array.from({ length: 20 }, (_, i) => sampleCertificate({ learnerName: `Learner ${i}`, logo: SAMPLE_LOGO }));
      const html = await renderBatchHtml(docs);
      const logoBase64 = SAMPLE_LOGO.data.toString('base64');
      expect(html.split(logoBase64).length - 1).to.equal(1);
      expect(html.split('<article class="sheet').length - 1).to.equal(20);
      const oneFont = /src:url\((data:font\/woff2;base64,[A-Za-z0-9+/]{40})/.exec(html)![1]!;
      expect(html.split(oneFont).length - 1).to.equal(1);
    });

    it('tells which certificate of the batch is invalid', async () => {
      const docs = [sampleCertificate(), sampleCertificate({ accentColor: 'blue' })];
      const err = await renderBatchHtml(docs).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ValidationError);
      expect((err as ValidationError).details).to.include({ field: 'accentColor', index: 1 });
    });
  });

  it('lists each design with a name in English and Dutch', () => {
    expect(DESIGNS.map((d) => d.id)).to.deep.equal(['classic', 'modern']);
    for (const d of DESIGNS) expect(d.name.en).to.be.a('string').and.not.empty;
    for (const d of DESIGNS) expect(d.name.nl).to.be.a('string').and.not.empty;
  });

});

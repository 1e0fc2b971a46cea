/**
 * Renders a picture of each certificate design for the README: A4 landscape, printed to PDF by
 * the real renderer and rasterised with poppler's pdftoppm (so the picture is the PDF, not a
 * screenshot of something else).
 *
 *   npx tsx bench/render-previews.ts          -> templates/certificates/previews/<design>.png
 *   npx tsx bench/render-previews.ts --all D  -> every design x paper x orientation (+ edge cases) into folder D
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DESIGNS, type CertificateDocument } from '../src/render/certificate-document';
import { TEMPLATE_DIR } from '../src/render/certificate-html';
import { createPdfRenderer, findChromium } from '../src/render/pdf-renderer';
import { sampleCertificate } from './render-samples';

async function main(): Promise<void> {
  const all = process.argv[2] === '--all';
  const outDir = all ? process.argv[3] ?? join(tmpdir(), 'certificate-previews') : join(TEMPLATE_DIR, 'previews');
  mkdirSync(outDir, { recursive: true });
  const renderer = createPdfRenderer({ executablePath: findChromium() });
  const work = mkdtempSync(join(tmpdir(), 'previews-'));
  const jobs: Array<[string, CertificateDocument]> = [];
  for (const { id } of DESIGNS) {
    const accent = id === 'classic' ? '#7a1f2b' : '#1d4ed8';
    jobs.push([id, sampleCertificate({ design: id, accentColor: accent })]);
    if (!all) continue;
    for (const paper of ['A4', 'Letter'] as const) {
      for (const orientation of ['landscape', 'portrait'] as const) {
        jobs.push([`${id}-${paper}-${orientation}`, sampleCertificate({ design: id, paper, orientation, accentColor: accent })]);
        jobs.push([
          `${id}-${paper}-${orientation}-long`,
          sampleCertificate({
            design: id,
            paper,
            orientation,
            language: 'nl',
            accentColor: id === 'classic' ? '#c9a227' : '#fde047',
            title: 'Certificaat van deelname aan het volledige programma',
            learnerName: 'Maximiliaan Johannes Theodorus van der Westhuizen-Ó Súilleabháin',
            courseTitle: 'Inleiding in de geschiedenis, filosofie en praktijk van het ontwerpen van duurzame, toegankelijke digitale leeromgevingen',
            bodyText: 'heeft alle modules, opdrachten en het afsluitende project van dit programma met goed gevolg afgerond, inclusief de praktijkstage van twaalf weken bij een erkende partnerorganisatie en de mondelinge verdediging',
            signatoryName: 'Prof. dr. Anna Catharina de Vries-Bakker',
            issuerName: 'Hogeschool voor Digitale Vaardigheden en Levenslang Leren Amsterdam',
            watermark: 'revoked',
          }),
        ]);
        jobs.push([
          `${id}-${paper}-${orientation}-minimal`,
          sampleCertificate({ design: id, paper, orientation, logo: null, signature: null, signatoryName: '', scorePercent: null, expiresAt: null, title: '', learnerName: 'Sam Gamgee' }),
        ]);
      }
    }
  }
  let failed = 0;
  for (const [name, doc] of jobs) {
    let pdf: Buffer;
    try {
      pdf = await renderer.pdf(doc);
    } catch (err) {
      failed++;
      console.error(`${name}: ${(err as Error).message}`, (err as { details?: unknown }).details ?? '');
      continue;
    }
    const pdfFile = join(work, `${name}.pdf`);
    writeFileSync(pdfFile, pdf);
    execFileSync('pdftoppm', ['-png', '-r', all ? '60' : '110', '-singlefile', pdfFile, join(outDir, name)]);
    console.log(join(outDir, `${name}.png`));
  }
  await renderer.close();
  rmSync(work, { recursive: true, force: true });
  if (failed > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

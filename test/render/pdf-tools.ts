/**
 * Reading PDFs in tests the way a person would: the text (poppler's pdftotext), the page
 * count and sizes (pdfinfo), and the QR code as a phone would see it (pdftoppm at 150 dpi,
 * decoded with jsQR).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

function withPdfFile<T>(pdf: Buffer, fn: (file: string, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'render-test-'));
  try {
    const file = join(dir, 'doc.pdf');
    writeFileSync(file, pdf);
    return fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The text of the PDF (or of one page), with runs of white space made single spaces. */
export function pdfText(pdf: Buffer, page?: number): string {
  return withPdfFile(pdf, (file) => {
    const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
    return execFileSync('pdftotext', [...range, file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  });
}

export interface PdfInfo {
  pages: number;
  /** Width and height of each page in points, rounded. */
  sizes: Array<[number, number]>;
  title?: string;
}

export function pdfInfo(pdf: Buffer): PdfInfo {
  return withPdfFile(pdf, (file) => {
    const out = execFileSync('pdfinfo', ['-f', '1', '-l', '100000', file], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(out)?.[1]);
    const sizes = [...out.matchAll(/^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/gm)].map(
      (m) => [Math.round(Number(m[1])), Math.round(Number(m[2]))] as [number, number],
    );
    return { pages, sizes, title: /^Title:\s+(.*)$/m.exec(out)?.[1] };
  });
}

/** The text of the first QR code found on a page, or null. */
export function decodeQr(pdf: Buffer, page = 1): string | null {
  return withPdfFile(pdf, (file, dir) => {
    execFileSync('pdftoppm', ['-r', '150', '-png', '-f', String(page), '-l', String(page), '-singlefile', file, join(dir, 'page')]);
    const png = PNG.sync.read(readFileSync(join(dir, 'page.png')));
    const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
    return code?.data ?? null;
  });
}

/** Points of each paper in landscape; portrait swaps them. */
export const PAPER_POINTS = { A4: [842, 595], Letter: [792, 612] } as const;

/**
 * Exports of many certificates: one PDF with a page per certificate, or a ZIP of single PDFs.
 *
 * Both render in batches (one HTML document per ~100 certificates, research/infra.md §3), keep
 * each finished batch in a temporary file, and only when every batch has rendered write the
 * result to `out`: a failure in certificate 731 of 1,000 leaves no half file behind, and this
 * process holds one batch at a time whatever the size of the course.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipArchive } from 'archiver';
import { ValidationError } from '../errors';
import type { CertificateDocument } from './certificate-document';
import { PdfSource, PdfWriter, splitPdf, streamSink } from './pdf-assembler';
import type { PdfRenderer } from './pdf-renderer';

export interface ExportOptions {
  renderer: PdfRenderer;
  /** Certificates per HTML document (default 100). */
  batchSize?: number;
  /**
   * Batches printing at the same time (default 2: 40% faster than 1 on two idle cores, see
   * bench/README.md; the renderer's third page stays free for single downloads meanwhile).
   */
  concurrency?: number;
  /** Called with the number of certificates rendered so far; awaited, in order. */
  onProgress?: (done: number) => void | Promise<void>;
  signal?: AbortSignal;
  /** Folder for the temporary batch files (default: the OS temp folder). */
  tmpDir?: string;
}

export interface ZipExportOptions extends ExportOptions {
  /** File name of a certificate inside the ZIP, e.g. `certificateFileName([last, first, course])`; sanitised and made unique. */
  fileName: (doc: CertificateDocument) => string;
}

interface StagedBatches {
  files: string[];
  pages: number;
}

/** Renders all documents in batches to PDF files in `dir`, in order. */
async function renderBatches(
  docs: AsyncIterable<CertificateDocument> | Iterable<CertificateDocument>,
  dir: string,
  opts: ExportOptions,
  onDoc?: (doc: CertificateDocument) => void,
): Promise<StagedBatches> {
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const files: string[] = [];
  const running = new Set<Promise<void>>();
  let done = 0;
  let pages = 0;
  let progress = Promise.resolve();
  let failure: unknown;

  const start = (batch: CertificateDocument[], index: number) => {
    const file = join(dir, `batch-${String(index).padStart(6, '0')}.pdf`);
    files[index] = file;
    const task = (async () => {
      const pdf = await opts.renderer.pdfBatch(batch);
      await writeFile(file, pdf);
      done += batch.length;
      pages += batch.length;
      const reached = done;
      if (opts.onProgress) progress = progress.then(() => opts.onProgress!(reached));
      await progress;
    })();
    const tracked = task.then(
      () => void running.delete(tracked),
      (err) => {
        running.delete(tracked);
        failure ??= err;
      },
    );
    running.add(tracked);
  };

  let batch: CertificateDocument[] = [];
  let index = 0;
  try {
    for await (const doc of docs) {
      opts.signal?.throwIfAborted();
      if (failure) break;
      onDoc?.(doc);
      batch.push(doc);
      if (batch.length === batchSize) {
        start(batch, index++);
        batch = [];
        while (running.size >= concurrency && !failure) await Promise.race(running);
      }
    }
    if (!failure && batch.length > 0) start(batch, index++);
  } finally {
    // Never return (or delete the temp folder) while a batch is still printing.
    await Promise.all(running);
  }
  if (failure) throw failure;
  opts.signal?.throwIfAborted();
  return { files, pages };
}

async function withTempDir<T>(opts: ExportOptions, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'certificate-export-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function finished(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
    out.end();
  });
}

/** Once bytes have gone out, a failure must break the stream so no reader takes a half file for a whole one. */
function breakStream(out: NodeJS.WritableStream, err: unknown): void {
  const destroyable = out as NodeJS.WritableStream & { destroy?: (e?: Error) => void };
  destroyable.destroy?.(err instanceof Error ? err : new Error(String(err)));
}

/**
 * Writes one PDF with every certificate, one page each, in the order given, and ends `out`.
 * If rendering fails nothing is written to `out` (it is left open for an error response); if
 * writing fails half-way, `out` is destroyed. Throws ValidationError when there is nothing to export.
 */
export async function exportPdf(
  docs: AsyncIterable<CertificateDocument> | Iterable<CertificateDocument>,
  out: NodeJS.WritableStream,
  opts: ExportOptions,
): Promise<{ pages: number }> {
  return withTempDir(opts, async (dir) => {
    const staged = await renderBatches(docs, dir, opts);
    if (staged.pages === 0) throw new ValidationError('There are no certificates to export');
    const writer = new PdfWriter(streamSink(out), { title: `Certificates (${staged.pages})` });
    try {
      for (const file of staged.files) {
        opts.signal?.throwIfAborted();
        await writer.addPages(PdfSource.parse(await readFile(file)));
        await rm(file, { force: true });
      }
      const result = await writer.finish();
      await finished(out);
      return { pages: result.pages };
    } catch (err) {
      breakStream(out, err);
      throw err;
    }
  });
}

/** A safe file name part: no path or control characters, spaces as dashes, at most 80 characters. */
function sanitizePart(part: string): string {
  return part
    .normalize('NFC')
    .replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .replace(/\s+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 80);
}

/**
 * A file name from parts, e.g. `certificateFileName(['Baggins', 'Bilbo', 'Digital Literacy'])`
 * gives `Baggins_Bilbo_Digital-Literacy.pdf`.
 */
export function certificateFileName(parts: string[]): string {
  const name = parts.map(sanitizePart).filter(Boolean).join('_');
  return `${name || 'certificate'}.pdf`;
}

/** Sanitises a proposed name and makes it unique among `taken` (case-insensitively): `Name.pdf`, `Name-2.pdf`, ... */
export function uniqueFileName(proposed: string, taken: Set<string>): string {
  const base = sanitizePart(proposed.replace(/\.pdf$/i, '')) || 'certificate';
  let name = `${base}.pdf`;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base}-${n}.pdf`;
  taken.add(name.toLowerCase());
  return name;
}

/**
 * Writes a ZIP with one PDF per certificate, named by `opts.fileName` (sanitised, made unique),
 * and ends `out`. Rendering is batched like exportPdf and each batch is split into single
 * PDFs, which is ~30x faster than printing certificates one by one.
 */
export async function exportZip(
  docs: AsyncIterable<CertificateDocument> | Iterable<CertificateDocument>,
  out: NodeJS.WritableStream,
  opts: ZipExportOptions,
): Promise<{ files: number }> {
  return withTempDir(opts, async (dir) => {
    const names: string[] = [];
    const titles: string[] = [];
    const taken = new Set<string>();
    const staged = await renderBatches(docs, dir, opts, (doc) => {
      names.push(uniqueFileName(opts.fileName(doc), taken));
      titles.push(`${doc.learnerName}: ${doc.courseTitle}`);
    });
    if (staged.pages === 0) throw new ValidationError('There are no certificates to export');
    // PDFs are compressed already; storing them keeps the ZIP fast to write and to open.
    const zip = new ZipArchive({ store: true });
    const zipError = new Promise<never>((_, reject) => zip.once('error', reject));
    zipError.catch(() => undefined);
    zip.pipe(out as NodeJS.WritableStream);
    let entries = 0;
    let appended = 0;
    const waiters: Array<() => void> = [];
    zip.on('entry', () => {
      entries++;
      waiters.splice(0).forEach((w) => w());
    });
    const drained = () =>
      new Promise<void>((resolve) => {
        const check = () => (entries >= appended ? resolve() : waiters.push(check));
        check();
      });
    try {
      let i = 0;
      for (const file of staged.files) {
        opts.signal?.throwIfAborted();
        const pdfs = await splitPdf(await readFile(file), (k) => titles[i + k]);
        for (const pdf of pdfs) {
          zip.append(pdf, { name: names[i++]! });
          appended++;
        }
        await rm(file, { force: true });
        await Promise.race([drained(), zipError]);
      }
      const done = new Promise<void>((resolve, reject) => {
        out.once('finish', resolve);
        out.once('close', resolve);
        out.once('error', reject);
      });
      await Promise.race([zip.finalize(), zipError]);
      await done;
      return { files: appended };
    } catch (err) {
      zip.abort();
      breakStream(out, err);
      throw err;
    }
  });
}

/**
 * Exports of many certificates: one PDF with a page per certificate, or a ZIP of single PDFs.
 *
 * A pipeline whose three stages run at the same time, so that Chromium's pages never wait for
 * Node (bench/README.md, #13):
 *  1. building: the certificates are read and laid out as batch HTML, one document per ~100
 *     (research/infra.md §3), the next batch while the pages print the current ones;
 *  2. printing: `concurrency` pages (default 2), opened before the first batch is ready and kept
 *     for the whole export, each taking the next built batch as soon as it has printed its last;
 *  3. writing: each printed batch goes to `out` as soon as the batches before it have (joined by
 *     pdf-assembler into one PDF, or split into ZIP entries), at the pace `out` accepts.
 * This process holds a few batches at a time (one being built, those printing, a printed one
 * waiting for its turn) whatever the size of the course, and nothing waits on disk.
 *
 * A failure before the first batch is written leaves `out` untouched (open, for an error
 * response); after it, `out` is destroyed with the error and never ended, so no reader takes a
 * half file for a whole one (the export job then aborts its upload and deletes what it holds).
 */
import { ZipArchive } from 'archiver';
import { ValidationError } from '../errors';
import { inEnglish } from '../i18n/english';
import type { CertificateDocument } from './certificate-document';
import { PdfSource, PdfWriter, splitPdf, streamSink } from './pdf-assembler';
import { prepareBatch, type PdfRenderer } from './pdf-renderer';

/** An export with no certificate in it (all were filtered out): said in the teacher's language. */
function nothingToExport(): ValidationError {
  const ref = { key: 'documents.export.nothing' };
  return new ValidationError(inEnglish(ref), undefined, ref);
}

export interface ExportOptions {
  renderer: PdfRenderer;
  /** Certificates per HTML document (default 100). */
  batchSize?: number;
  /**
   * Batches printing at the same time (default 2: one page per core, see bench/README.md; the
   * renderer's third page stays free for single downloads meanwhile).
   */
  concurrency?: number;
  /** Called with the number of certificates written so far, after each batch; awaited, in order. */
  onProgress?: (done: number) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface ZipExportOptions extends ExportOptions {
  /** File name of a certificate inside the ZIP, e.g. `certificateFileName([last, first, course])`; sanitised and made unique. */
  fileName: (doc: CertificateDocument) => string;
}

interface PipelineStages {
  /** Sees each document as it is read, in order. */
  onDoc?: (doc: CertificateDocument) => void;
  /** Writes one printed batch; called in the documents' order, one at a time. */
  write: (pdf: Buffer) => Promise<void>;
}

/** Builds, prints and writes all documents in batches (see the top of this file); returns how many were written. */
async function runPipeline(
  docs: AsyncIterable<CertificateDocument> | Iterable<CertificateDocument>,
  opts: ExportOptions,
  stages: PipelineStages,
): Promise<number> {
  const batchSize = Math.max(1, opts.batchSize ?? 100);
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  // Both pages open while the first batch is built, not one after the other on the first prints.
  opts.renderer.warm?.(concurrency).catch(() => undefined);

  const printing = new Set<Promise<void>>();
  const printed = new Map<number, Buffer>(); // printed, waiting for the batches before them
  const sizes: number[] = [];
  let nextToWrite = 0;
  let written = 0;
  let writing: Promise<void> = Promise.resolve();
  let failed = false;
  let failure: unknown;
  // Wakes the reader when a print or a write has finished (or failed): there may be room now.
  const sleepers: Array<() => void> = [];
  const wake = () => sleepers.splice(0).forEach((w) => w());
  const changed = () => new Promise<void>((resolve) => sleepers.push(resolve));
  const fail = (err: unknown) => {
    if (!failed) {
      failed = true;
      failure = err;
    }
    wake();
  };

  const flush = () => {
    writing = writing
      // A turn of the event loop first: a page that has just finished gets its next batch before
      // Node parses and copies this one.
      .then(() => new Promise((resolve) => setImmediate(resolve)))
      .then(async () => {
        while (!failed && printed.has(nextToWrite)) {
          const pdf = printed.get(nextToWrite)!;
          printed.delete(nextToWrite);
          opts.signal?.throwIfAborted();
          await stages.write(pdf);
          written += sizes[nextToWrite++]!;
          wake();
          await opts.onProgress?.(written);
        }
      })
      .catch(fail);
  };

  const print = (batch: Awaited<ReturnType<typeof prepareBatch>>, index: number) => {
    const task: Promise<void> = opts.renderer.pdfBatch(batch).then(
      (pdf) => {
        printed.set(index, pdf);
        flush();
      },
      fail,
    );
    printing.add(task);
    void task.finally(() => {
      printing.delete(task);
      wake();
    });
  };

  // A page is free and the writer is not far behind: the next built batch may print. The writer
  // may lag a few batches (a slow page holds the ones after it; Node may get little CPU while the
  // pages print) before the pages wait for it.
  const room = () => printing.size < concurrency && printed.size < 2 * concurrency;

  let batch: CertificateDocument[] = [];
  let index = 0;
  const ship = async () => {
    const prepared = await prepareBatch(batch);
    sizes[index] = batch.length;
    batch = [];
    while (!failed && !room()) await changed();
    if (!failed) print(prepared, index++);
  };
  try {
    for await (const doc of docs) {
      opts.signal?.throwIfAborted();
      if (failed) break;
      stages.onDoc?.(doc);
      batch.push(doc);
      if (batch.length === batchSize) await ship();
    }
    if (!failed && batch.length > 0) await ship();
  } catch (err) {
    fail(err);
  } finally {
    // Never return while a batch is still printing or being written.
    while (printing.size > 0) await Promise.allSettled([...printing]);
    await writing;
  }
  if (failed) throw failure;
  opts.signal?.throwIfAborted();
  return written;
}

function finished(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
    out.end();
  });
}

/**
 * Once bytes have gone out, a failure must break the stream so no reader takes a half file for
 * a whole one. Writes already handed to `out` finish first (a zero-length write calls back after
 * them), so that a GridFS upload's abort, which deletes its chunks, does not race a chunk still
 * being stored. The error goes to our caller, so the stream's own 'error' event is not re-thrown.
 */
async function breakStream(out: NodeJS.WritableStream, err: unknown): Promise<void> {
  const stream = out as NodeJS.WritableStream & { destroy?: (e?: Error) => void; destroyed?: boolean };
  stream.on('error', () => undefined);
  if (!stream.destroyed) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => stream.write(Buffer.alloc(0), () => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000))),
    ]);
    clearTimeout(timer);
  }
  stream.destroy?.(err instanceof Error ? err : new Error(String(err)));
}

/**
 * Writes one PDF with every certificate, one page each, in the order given, and ends `out`.
 * On a failure `out` is left untouched if nothing was written yet, else destroyed (see above).
 * Throws ValidationError when there is nothing to export.
 */
export async function exportPdf(
  docs: AsyncIterable<CertificateDocument> | Iterable<CertificateDocument>,
  out: NodeJS.WritableStream,
  opts: ExportOptions,
): Promise<{ pages: number }> {
  let writer: PdfWriter | undefined;
  try {
    const count = await runPipeline(docs, opts, {
      write: async (pdf) => {
        // The title is written at the end, in the document information: the count is known by then.
        writer ??= new PdfWriter(streamSink(out), { title: () => `Certificates (${writer!.pageCount})` });
        await writer.addPages(PdfSource.parse(pdf));
      },
    });
    if (!writer || count === 0) throw nothingToExport();
    const result = await writer.finish();
    await finished(out);
    return { pages: result.pages };
  } catch (err) {
    if (writer) await breakStream(out, err);
    throw err;
  }
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
  const names: string[] = [];
  const titles: string[] = [];
  const taken = new Set<string>();
  // PDFs are compressed already; storing them keeps the ZIP fast to write and to open.
  const zip = new ZipArchive({ store: true });
  const zipError = new Promise<never>((_, reject) => zip.once('error', reject));
  zipError.catch(() => undefined);
  let piped = false;
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
    await runPipeline(docs, opts, {
      onDoc: (doc) => {
        names.push(uniqueFileName(opts.fileName(doc), taken));
        titles.push(`${doc.learnerName}: ${doc.courseTitle}`);
      },
      write: async (pdf) => {
        if (!piped) {
          zip.pipe(out as NodeJS.WritableStream);
          piped = true;
        }
        const first = appended;
        for (const single of await splitPdf(pdf, (k) => titles[first + k])) {
          zip.append(single, { name: names[appended]! });
          titles[appended] = names[appended] = '';
          appended++;
        }
        await Promise.race([drained(), zipError]);
      },
    });
    if (appended === 0) throw nothingToExport();
    const done = new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      out.once('close', resolve);
      out.once('error', reject);
    });
    await Promise.race([zip.finalize(), zipError]);
    await done;
    return { files: appended };
  } catch (err) {
    if (piped) {
      // Detached first: the aborted archive ends its side, and `out` must not take that for a whole ZIP.
      zip.unpipe(out as NodeJS.WritableStream);
      await breakStream(out, err);
    }
    zip.abort();
    throw err;
  }
}

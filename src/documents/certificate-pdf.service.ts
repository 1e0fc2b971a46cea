/**
 * The single PDF of an issued certificate. An issued certificate never changes, so its PDF is
 * rendered once, stored in GridFS (bucket `pdfs`) under the issue's id and version, recorded on
 * the issue (`attachPdf`), and every later download streams the stored file: no browser, no
 * waiting, and the learner gets byte for byte the same document each time.
 *
 * The key also holds the language, for templates set to "the learner's language": a Dutch
 * learner and an English teacher each get the certificate in their language, each rendered once.
 *
 * A render that fails stores nothing and throws the renderer's typed error; nothing partial is
 * ever stored or sent (the renderer returns a whole PDF or throws).
 */
import { Readable } from 'node:stream';
import type { Connection, Types } from 'mongoose';
import { attachPdf } from '../certificates/issue.service';
import type { IssueDoc } from '../certificates/issue.model';
import type { Language } from '../i18n';
import { certificateFileName, type PdfRenderer } from '../render';
import { documentFor, documentLanguage, type ImageLoad } from './certificate-document.service';
import { fileObjectId, findFile, openKnownFile, uploadBuffer } from './gridfs';

export interface PdfDeps {
  conn: Connection;
  renderer: PdfRenderer;
  /** Config.publicUrl (the verification URL in the PDF). */
  publicUrl: string;
  now: () => Date;
}

export interface PdfMetadata {
  courseId: string;
  issueId: string;
  version: number;
  language: Language;
  code: string;
}

export interface CertificatePdf {
  fileId: string;
  /** Bytes; sent as Content-Length so a cut-off download is recognisable as such. */
  length: number;
  /** True when this call rendered it; false when it came from storage. */
  rendered: boolean;
  /** The PDF's bytes as a stream. */
  open(): Readable;
  /** The bytes themselves, when this process holds them (sent in one write, no stream). */
  readonly bytes?: Buffer;
}

/** The GridFS file name of a certificate's PDF: unique per issue, version and language. */
export function pdfKey(issue: Pick<IssueDoc, '_id' | 'version'>, language: Language): string {
  return `certificate-${String(issue._id)}-v${issue.version}-${language}.pdf`;
}

/** The name a downloaded certificate gets, e.g. `Bilbo-Baggins_Digital-Literacy.pdf`. */
export function downloadName(issue: Pick<IssueDoc, 'learnerName' | 'courseTitle'>): string {
  return certificateFileName([issue.learnerName, issue.courseTitle]);
}

// Two requests for the same new PDF (a double click, the learner and the teacher) share one render.
const inFlight = new WeakMap<Connection, Map<string, Promise<CertificatePdf>>>();

/**
 * Stored PDFs this process has found or written, by key (issue, version, language): a stored PDF
 * never changes, so its id and length are looked up once, and its bytes are kept in memory
 * (BYTES_CACHE_LIMIT in all, the least recently used go first): a download then costs the viewer's
 * permission check only. A file gone meanwhile (erased) fails its stream and is forgotten.
 */
interface KnownFile {
  id: Types.ObjectId;
  length: number;
  bytes?: Buffer;
}
const knownFiles = new WeakMap<Connection, Map<string, KnownFile>>();
const MAX_KNOWN = 50_000;
/** Bytes of stored PDFs kept in memory per connection (a certificate is typically 50–200 KB). */
export const BYTES_CACHE_LIMIT = 64 * 1024 * 1024;
const MAX_CACHED_FILE = 2 * 1024 * 1024;
const cachedBytes = new WeakMap<Connection, { total: number }>();

function knownIn(conn: Connection): Map<string, KnownFile> {
  let known = knownFiles.get(conn);
  if (!known) knownFiles.set(conn, (known = new Map()));
  return known;
}

function remember(conn: Connection, key: string, id: Types.ObjectId, length: number, bytes?: Buffer): void {
  const known = knownIn(conn);
  if (known.size >= MAX_KNOWN) {
    known.clear();
    cachedBytes.delete(conn);
  }
  known.set(key, { id, length });
  if (bytes) keepBytes(conn, key, bytes);
}

function keepBytes(conn: Connection, key: string, bytes: Buffer): void {
  const known = knownIn(conn);
  const entry = known.get(key);
  if (!entry || entry.bytes || bytes.length !== entry.length || bytes.length > MAX_CACHED_FILE) return;
  let usage = cachedBytes.get(conn);
  if (!usage) cachedBytes.set(conn, (usage = { total: 0 }));
  // least recently used first: Map order, refreshed on every hit (touch)
  for (const [k, e] of known) {
    if (usage.total + bytes.length <= BYTES_CACHE_LIMIT) break;
    if (e.bytes) {
      usage.total -= e.bytes.length;
      known.set(k, { id: e.id, length: e.length });
    }
  }
  entry.bytes = bytes;
  usage.total += bytes.length;
}

function touch(conn: Connection, key: string, entry: KnownFile): void {
  const known = knownIn(conn);
  known.delete(key);
  known.set(key, entry);
}

function storedFile(conn: Connection, key: string, entry: KnownFile): CertificatePdf {
  return {
    fileId: entry.id.toHexString(),
    length: entry.length,
    rendered: false,
    get bytes() {
      return entry.bytes;
    },
    open: () => {
      if (entry.bytes) return Readable.from([entry.bytes]);
      const parts: Buffer[] = [];
      return openKnownFile(conn, 'pdfs', entry.id, entry.length)
        .on('data', (b: Buffer) => parts.push(b))
        .once('end', () => keepBytes(conn, key, Buffer.concat(parts)))
        .once('error', () => knownIn(conn).delete(key));
    },
  };
}

async function storedPdf(conn: Connection, issue: IssueDoc, key: string, language: Language): Promise<CertificatePdf | null> {
  // An erased learner's certificate had its PDFs (with the name) deleted: what this process
  // remembers of them must not be served; the file rendered since, if any, is looked up.
  const known = issue.erasedAt ? undefined : knownIn(conn).get(key);
  if (known) {
    touch(conn, key, known);
    return storedFile(conn, key, known);
  }
  const attached = fileObjectId(issue.pdfFileId);
  const file =
    (attached ? await findFile<PdfMetadata>(conn, 'pdfs', { _id: attached, 'metadata.issueId': String(issue._id), 'metadata.language': language }) : null) ??
    (await findFile<PdfMetadata>(conn, 'pdfs', { filename: key }, { uploadDate: 1 }));
  if (!file) return null;
  remember(conn, key, file._id, file.length);
  return storedFile(conn, key, knownIn(conn).get(key)!);
}

async function renderAndStore(deps: PdfDeps, issue: IssueDoc, key: string, language: Language, loadImage?: ImageLoad): Promise<CertificatePdf> {
  const doc = await documentFor(deps.conn, issue, { publicUrl: deps.publicUrl, now: deps.now(), language, watermark: false, loadImage });
  const pdf = await deps.renderer.pdf(doc);
  const metadata: PdfMetadata = { courseId: String(issue.courseId), issueId: String(issue._id), version: issue.version, language, code: issue.code };
  const id = await uploadBuffer(deps.conn, 'pdfs', key, pdf, { ...metadata });
  await attachPdf(deps.conn, { courseId: issue.courseId, issueId: issue._id, pdfFileId: id.toHexString() });
  remember(deps.conn, key, id, pdf.length, pdf);
  return { fileId: id.toHexString(), length: pdf.length, rendered: true, bytes: pdf, open: () => Readable.from([pdf]) };
}

/**
 * The certificate's PDF in `viewerLanguage` (used only when the template says "the learner's
 * language"): from storage when it was made before, else rendered now and stored.
 * Throws the renderer's typed errors (CertificateTemplateError, RenderTimeoutError, ...).
 */
export async function certificatePdf(deps: PdfDeps, issue: IssueDoc, viewerLanguage?: Language): Promise<CertificatePdf> {
  const language = documentLanguage(issue.template, viewerLanguage);
  const key = pdfKey(issue, language);
  const stored = await storedPdf(deps.conn, issue, key, language);
  if (stored) return stored;
  let running = inFlight.get(deps.conn);
  if (!running) inFlight.set(deps.conn, (running = new Map()));
  const pending = running.get(key);
  if (pending) return pending;
  const job = renderAndStore(deps, issue, key, language).finally(() => running.delete(key));
  running.set(key, job);
  return job;
}

/**
 * "Export all" (R4) as background jobs: every valid certificate of a course (or of one
 * definition, or of some learners) as ONE PDF with a page per certificate, or as a ZIP of single
 * PDFs named `Lastname_Firstname_Course.pdf`. The file goes to GridFS (bucket `exports`) and is
 * kept for a day; a sweep deletes older ones (at start and every hour).
 *
 * Memory stays flat whatever the course size: the list to export is ids and names only, the
 * certificates are read 100 at a time, and the renderer holds one batch of pages at a time
 * (src/render/pdf-export.ts). Images are read once per export, not once per certificate.
 */
import mongoose, { type Connection, type Types } from 'mongoose';
import { issueModel, type IssueDoc } from '../certificates/issue.model';
import { toObjectId } from '../certificates/ids';
import { ValidationError } from '../errors';
import { courseModel } from '../courses/course.model';
import { memberModel } from '../grades/member.model';
import { recipientModel } from '../mail/recipients';
import type { JobContext, JobQueue } from '../jobs';
import { createLogger } from '../logger';
import { createTranslator, pickLanguage, type Language } from '../i18n';
import { inEnglish } from '../i18n/english';
import { certificateFileName, exportPdf, exportZip, type CertificateDocument, type PdfRenderer } from '../render';
import { documentFor } from './certificate-document.service';
import { bucketOf, deleteFile, findFile, fileObjectId, type StoredFile } from './gridfs';
import { imageLoader } from './images.service';

const log = createLogger('documents:export');

export const EXPORT_PDF_JOB = 'documents.export-pdf';
export const EXPORT_ZIP_JOB = 'documents.export-zip';
export const EXPORT_JOB_KINDS = [EXPORT_PDF_JOB, EXPORT_ZIP_JOB] as const;
export type ExportJobKind = (typeof EXPORT_JOB_KINDS)[number];

/** How long a finished export can be downloaded. */
export const EXPORT_TTL_MS = 24 * 60 * 60 * 1000;
const SWEEP_EVERY_MS = 60 * 60 * 1000;
/** Certificates read from the database at once. */
const READ_BATCH = 100;
/** Most learners a filter may name (the teacher page's selection). */
const MAX_FILTER_USERS = 10_000;

/** What the teacher asked to export (the job's payload). */
export interface ExportRequest {
  definitionId?: string;
  /** Only these learners (the teacher page's current filter). */
  userIds?: string[];
  /** The teacher's language: for messages, and for templates printed "in the learner's language" when a learner never launched with a locale. */
  language?: Language;
}

/** What a finished export job stores as its result (job-progress.js and the download route read it). */
export interface ExportResult {
  fileId: string;
  fileName: string;
  format: 'pdf' | 'zip';
  certificates: number;
  bytes: number;
  expiresAt: string;
}

export interface ExportMetadata {
  courseId: string;
  jobId: string;
  format: 'pdf' | 'zip';
  expiresAt: Date;
  certificates: number;
}

export interface ExportJobDeps {
  conn: Connection;
  now: () => Date;
  renderer: PdfRenderer;
  /** Config.publicUrl (verification URLs printed on the certificates). */
  publicUrl: string;
  /** Certificates per rendered HTML document (default 100). */
  batchSize?: number;
}

export interface ExportJobs {
  /** Deletes exports past their expiry; returns how many. */
  sweep(): Promise<number>;
  /** Stops the hourly sweep (call at shutdown). */
  stop(): void;
}

/** Validates a job payload (it comes from a form, through the queue). */
export function parseExportRequest(payload: unknown): ExportRequest {
  const p = (payload ?? {}) as Record<string, unknown>;
  const out: ExportRequest = { language: pickLanguage(typeof p.language === 'string' ? p.language : undefined) };
  if (typeof p.definitionId === 'string' && p.definitionId !== '') out.definitionId = String(toObjectId(p.definitionId, 'certificate definition'));
  if (Array.isArray(p.userIds)) {
    if (p.userIds.length > MAX_FILTER_USERS) {
      const ref = { key: 'certificates.error.tooManyLearners', params: { max: MAX_FILTER_USERS } };
      throw new ValidationError(inEnglish(ref), { field: 'userIds' }, ref);
    }
    out.userIds = p.userIds.map(String);
  }
  return out;
}

interface ListedIssue {
  id: Types.ObjectId;
  family: string;
  given: string;
}

/** Splits a full name when the roster has no parts: the last word is taken as the family name. */
function nameParts(full: string): { given: string; family: string } {
  const words = full.trim().split(/\s+/);
  if (words.length < 2) return { given: '', family: words[0] ?? '' };
  return { given: words.slice(0, -1).join(' '), family: words[words.length - 1]! };
}

/** The certificates to export, ordered by family name, then given name (ids and names only). */
async function listForExport(conn: Connection, courseId: string, req: ExportRequest): Promise<ListedIssue[]> {
  const filter: Record<string, unknown> = { courseId: toObjectId(courseId, 'course'), status: 'active' };
  if (req.definitionId) filter.definitionId = toObjectId(req.definitionId, 'certificate definition');
  if (req.userIds) filter.userId = { $in: req.userIds };
  const issues = await issueModel(conn).find(filter, { _id: 1, userId: 1, learnerName: 1 }).lean<Pick<IssueDoc, '_id' | 'userId' | 'learnerName'>[]>();
  const members = await memberModel(conn)
    .find({ courseId: filter.courseId, userId: { $in: [...new Set(issues.map((i) => i.userId))] } }, { userId: 1, givenName: 1, familyName: 1 })
    .lean();
  const byUser = new Map(members.map((m) => [m.userId, m]));
  const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
  return issues
    .map((i) => {
      const m = byUser.get(i.userId);
      // The printed name is the issue's; the roster only tells which part is the family name.
      const parts = m?.familyName?.trim() ? { family: m.familyName.trim(), given: m.givenName?.trim() ?? '' } : nameParts(i.learnerName);
      return { id: i._id, ...parts };
    })
    .sort((a, b) => collator.compare(a.family, b.family) || collator.compare(a.given, b.given) || String(a.id).localeCompare(String(b.id)));
}

/** The certificates as documents, read a batch at a time, in the listed order. */
async function* documentsOf(
  deps: ExportJobDeps,
  courseId: string,
  listed: ListedIssue[],
  language: Language,
  names: WeakMap<CertificateDocument, string>,
  signal: AbortSignal,
): AsyncGenerator<CertificateDocument> {
  const loadImage = imageLoader(deps.conn, courseId);
  const now = deps.now();
  // A template "in the learner's language" prints each certificate in the language of that learner's
  // last launch (stored per platform user with their mail address); without one, in the teacher's.
  const issuer = (await courseModel(deps.conn).findById(toObjectId(courseId, 'course'), { issuer: 1 }).lean())?.issuer;
  for (let i = 0; i < listed.length; i += READ_BATCH) {
    signal.throwIfAborted();
    const slice = listed.slice(i, i + READ_BATCH);
    const docs = await issueModel(deps.conn).find({ _id: { $in: slice.map((s) => s.id) } }).lean<IssueDoc[]>();
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    const auto = docs.filter((d) => !d.template.language || d.template.language === 'auto').map((d) => d.userId);
    const locales = new Map<string, string>();
    if (issuer && auto.length > 0) {
      const recipients = await recipientModel(deps.conn).find({ issuer, userId: { $in: [...new Set(auto)] } }, { userId: 1, locale: 1 }).lean();
      for (const r of recipients) if (r.locale) locales.set(r.userId, r.locale);
    }
    for (const entry of slice) {
      const issue = byId.get(String(entry.id));
      if (!issue) continue; // revoked and purged in the meantime: nothing to print
      const learnerLanguage = pickLanguage(locales.get(issue.userId), language);
      const doc = await documentFor(deps.conn, issue, { publicUrl: deps.publicUrl, now, language: learnerLanguage, watermark: false, loadImage });
      names.set(doc, certificateFileName([entry.family, entry.given, issue.courseTitle]));
      yield doc;
    }
  }
}

function exportFileName(format: 'pdf' | 'zip', courseTitle: string, at: Date): string {
  const base = certificateFileName(['Certificates', courseTitle, at.toISOString().slice(0, 10)]).replace(/\.pdf$/, '');
  return `${base}.${format}`;
}

async function runExport(deps: ExportJobDeps, ctx: JobContext, format: 'pdf' | 'zip'): Promise<ExportResult> {
  const req = parseExportRequest(ctx.payload);
  const t = createTranslator(req.language ?? 'en');
  const listed = await listForExport(deps.conn, ctx.courseId, req);
  if (listed.length === 0) throw new ValidationError(t('documents.export.nothing'), undefined, { key: 'documents.export.nothing' });
  await ctx.progress({ done: 0, total: listed.length });

  const first = await issueModel(deps.conn).findById(listed[0]!.id, { courseTitle: 1 }).lean();
  const startedAt = deps.now();
  const expiresAt = new Date(startedAt.getTime() + EXPORT_TTL_MS);
  const fileName = exportFileName(format, first?.courseTitle ?? 'course', startedAt);
  const metadata: ExportMetadata = { courseId: ctx.courseId, jobId: ctx.jobId, format, expiresAt, certificates: listed.length };
  const upload = bucketOf(deps.conn, 'exports').openUploadStream(fileName, { metadata: { ...metadata } });
  const names = new WeakMap<CertificateDocument, string>();
  const docs = documentsOf(deps, ctx.courseId, listed, req.language ?? 'en', names, ctx.signal);
  const options = {
    renderer: deps.renderer,
    batchSize: deps.batchSize,
    signal: ctx.signal,
    onProgress: (done: number) => ctx.progress({ done, total: listed.length }),
  };
  let count: number;
  try {
    if (format === 'pdf') count = (await exportPdf(docs, upload, options)).pages;
    else count = (await exportZip(docs, upload, { ...options, fileName: (doc) => names.get(doc) ?? 'certificate.pdf' })).files;
  } catch (err) {
    // Nothing half-written may stay behind for a download.
    await upload.abort().catch(() => undefined);
    await deleteFile(deps.conn, 'exports', upload.id as Types.ObjectId).catch(() => undefined);
    throw err;
  }
  const stored = await findFile(deps.conn, 'exports', { _id: upload.id });
  return {
    fileId: (upload.id as Types.ObjectId).toHexString(),
    fileName,
    format,
    certificates: count,
    bytes: stored?.length ?? 0,
    expiresAt: expiresAt.toISOString(),
  };
}

/**
 * Deletes exports whose day is over, and the chunks of uploads that never finished (an instance
 * killed while it streamed an export leaves chunks without a file): an upload started over a day
 * and an hour ago belongs to an export that has expired by now either way.
 */
export async function sweepExpiredExports(conn: Connection, now: Date): Promise<number> {
  const expired = await bucketOf(conn, 'exports').find({ 'metadata.expiresAt': { $lte: now } }, { projection: { _id: 1 } }).toArray();
  for (const f of expired) await deleteFile(conn, 'exports', f._id as Types.ObjectId);
  const startedBefore = mongoose.Types.ObjectId.createFromTime(Math.floor((now.getTime() - EXPORT_TTL_MS - 60 * 60 * 1000) / 1000));
  await conn.collection('exports.chunks').deleteMany({ files_id: { $lt: startedBefore } });
  return expired.length;
}

/**
 * The finished export of `jobId` in `courseId`, or null when it does not exist or its day is
 * over (the caller says "export again").
 */
export async function findExport(conn: Connection, opts: { courseId: string; jobId: string; fileId: unknown; now: Date }): Promise<StoredFile<ExportMetadata> | null> {
  const id = fileObjectId(opts.fileId);
  if (!id) return null;
  const file = await findFile<ExportMetadata>(conn, 'exports', { _id: id, 'metadata.courseId': opts.courseId, 'metadata.jobId': opts.jobId });
  if (!file?.metadata || new Date(file.metadata.expiresAt).getTime() <= opts.now.getTime()) return null;
  return file;
}

/** Registers both export jobs on the queue, sweeps old exports now and every hour. */
export function registerExportJobs(queue: JobQueue, deps: ExportJobDeps): ExportJobs {
  queue.register(EXPORT_PDF_JOB, (ctx) => runExport(deps, ctx, 'pdf'));
  queue.register(EXPORT_ZIP_JOB, (ctx) => runExport(deps, ctx, 'zip'));
  const sweep = async () => {
    try {
      return await sweepExpiredExports(deps.conn, deps.now());
    } catch (err) {
      log.warn('sweeping expired exports failed', err);
      return 0;
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), SWEEP_EVERY_MS);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}

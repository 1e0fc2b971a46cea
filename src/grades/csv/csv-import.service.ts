/**
 * Gradebook CSV import in two steps. `previewCsvImport` matches the file's rows to the course
 * roster and computes every score change against what is stored, writing no grade; it keeps the
 * preview (and the parsed file) on the server (id + TTL). The teacher may answer what the file
 * cannot say — a column's maximum (Moodle's "Real" export), whether Chamilo's 0 is a real zero —
 * with `reviseCsvPreview`, which recomputes the same preview. `applyCsvImport` applies exactly the
 * stored plan, once, only when every column has a maximum, and refuses if the stored grades
 * changed in between. Imported columns become line items of source 'csv', written with the same
 * grade writes (and history) as a sync; the caller then runs the same stale check and re-issue.
 */
import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { inEnglish } from '../../i18n/english';
import { STORED_RESULT_PROJECTION, type IncomingScore, type StoredLineItem, type StoredResult } from '../grade-writes';
import { lineItemModel } from '../line-item.model';
import { resultModel } from '../result.model';
import type { GradeSource } from '../sources/grade-source';
import { syncRunModel } from '../sync-run.model';
import { syncCourse, type SyncSummary } from '../sync.service';
import { csvPreviewModel, csvPreviewPartModel, type CsvPreviewDoc, type PreviewOptions, type StoredChange } from './csv-preview.model';
import type { ParsedGradebook, ParsedRow } from './gradebook-csv';
import { MaximaMissingError, PreviewAlreadyAppliedError, PreviewNotFoundError, StalePreviewError } from './import.errors';
import { planFields, planImport, resultKey, toPreview } from './csv-import.plan';
import { readParts, writeParts } from './csv-preview-parts';
import type { CsvImportPreview, PreviewCreateOptions } from './csv-import.types';

export type { CsvPreviewDoc, StoredPreviewItem, StoredPreviewItem as CsvPreviewItem } from './csv-preview.model';
export type { CsvImportPreview, CsvScoreChange, MatchedBy, PreviewCreateOptions, ProposedGrades } from './csv-import.types';

const DEFAULT_TTL_MS = 30 * 60 * 1000;

/** One page of a preview's planned changes, in order. */
export async function readCsvPreviewChanges(conn: Connection, doc: Pick<CsvPreviewDoc, '_id' | 'planVersion'>, from: number, to: number): Promise<StoredChange[]> {
  const { data, offset } = await readParts<StoredChange>(conn, doc._id, 'changes', doc.planVersion, { from, to });
  return data.slice(from - offset, to - offset);
}

const toId = (courseId: Types.ObjectId | string) => (typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId);

/**
 * Matches rows to members and computes the changes, without writing any grade. The preview is
 * stored (id + TTL) so that `applyCsvImport` applies what was shown.
 */
export async function previewCsvImport(conn: Connection, courseId: Types.ObjectId | string, parsed: ParsedGradebook, opts: PreviewCreateOptions = {}): Promise<CsvImportPreview> {
  const cid = toId(courseId);
  const now = (opts.now ?? (() => new Date()))();
  const options: PreviewOptions = { maxima: opts.maxima ?? {}, zeroIsReal: opts.zeroIsReal ?? false };
  const kept = { format: parsed.format, encoding: parsed.encoding, delimiter: parsed.delimiter, items: parsed.items, skipped: parsed.skipped, warnings: parsed.warnings };
  const plan = await planImport(conn, cid, kept, parsed.rows, options);
  const id = (opts.newId ?? (() => randomBytes(16).toString('hex')))();
  const expiresAt = new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_TTL_MS));
  const doc = {
    _id: id,
    courseId: cid,
    format: parsed.format,
    parsed: kept,
    fileName: opts.fileName,
    uploadedBy: opts.uploadedBy ?? { userId: '' },
    options,
    planVersion: 1,
    ...planFields(plan),
    createdAt: now,
    expiresAt,
    appliedAt: null,
  };
  // The parts first: a preview document is never without its rows and changes.
  await writeParts(conn, id, 'rows', 0, parsed.rows, expiresAt);
  await writeParts(conn, id, 'changes', 1, plan.stored, expiresAt, plan.comments);
  await csvPreviewModel(conn).collection.insertOne(doc as never, { ignoreUndefined: true });
  return toPreview(doc, plan);
}

/** The preview of this course with this id, applied or not; null when unknown or expired unapplied. */
export async function findCsvPreview(conn: Connection, courseId: Types.ObjectId | string, previewId: string, now: Date): Promise<CsvPreviewDoc | null> {
  const doc = await csvPreviewModel(conn).collection.findOne<CsvPreviewDoc>({ _id: previewId as never, courseId: toId(courseId) });
  if (!doc) return null;
  if (!doc.appliedAt && new Date(doc.expiresAt).getTime() <= now.getTime()) return null;
  return doc;
}

/** The preview whose apply recorded this sync run (for the history's "imported" notice). */
export async function findCsvPreviewByRun(conn: Connection, courseId: Types.ObjectId | string, runId: string): Promise<CsvPreviewDoc | null> {
  return csvPreviewModel(conn).collection.findOne<CsvPreviewDoc>({ courseId: toId(courseId), runId });
}

/**
 * Recomputes a preview with the teacher's answers (maxima, whether 0 is a real zero), keeping
 * its id and expiry. Refuses an applied, expired or unknown preview.
 */
export async function reviseCsvPreview(
  conn: Connection,
  courseId: Types.ObjectId | string,
  previewId: string,
  options: PreviewOptions,
  opts: { now: () => Date },
): Promise<CsvImportPreview> {
  const cid = toId(courseId);
  const now = opts.now();
  const doc = await findCsvPreview(conn, cid, previewId, now);
  if (!doc) throw new PreviewNotFoundError();
  if (doc.appliedAt) throw new PreviewAlreadyAppliedError();
  const { data: rows } = await readParts<ParsedRow>(conn, previewId, 'rows', 0);
  const plan = await planImport(conn, cid, doc.parsed, rows, options);
  const version = doc.planVersion + 1;
  await writeParts(conn, previewId, 'changes', version, plan.stored, new Date(doc.expiresAt), plan.comments);
  const r = await csvPreviewModel(conn).collection.updateOne(
    { _id: previewId as never, courseId: cid, appliedAt: null, planVersion: doc.planVersion },
    { $set: { options, ...planFields(plan), planVersion: version, revisedAt: now }, $unset: { impact: '' } },
  );
  const Parts = csvPreviewPartModel(conn).collection;
  if (r.matchedCount === 0) {
    // Applied (or revised by another tab) meanwhile: this plan was never shown.
    await Parts.deleteMany({ previewId, kind: 'changes', version });
    throw new PreviewAlreadyAppliedError();
  }
  await Parts.deleteMany({ previewId, kind: 'changes', version: doc.planVersion });
  return toPreview({ ...doc, options }, plan);
}

/** Stores what the import changes for certificates, computed by the caller from `proposal`. */
export async function saveCsvPreviewImpact(conn: Connection, courseId: Types.ObjectId | string, previewId: string, impact: unknown): Promise<void> {
  await csvPreviewModel(conn).collection.updateOne({ _id: previewId as never, courseId: toId(courseId), appliedAt: null }, { $set: { impact } });
}

/** Stores what the stale check and re-issue after the import did, for the history page. */
export async function saveCsvAfterImport(conn: Connection, courseId: Types.ObjectId | string, previewId: string, afterImport: unknown): Promise<void> {
  await csvPreviewModel(conn).collection.updateOne({ _id: previewId as never, courseId: toId(courseId) }, { $set: { afterImport } });
}

/**
 * Applies a stored preview, exactly, once. Refuses (MaximaMissingError) while a column has no
 * maximum, (StalePreviewError) when a grade it would change is no longer what the preview showed,
 * (PreviewAlreadyAppliedError) a second time, and (PreviewNotFoundError) when the preview expired
 * or is unknown. Records a sync run of source 'csv'.
 */
export async function applyCsvImport(
  conn: Connection,
  courseId: Types.ObjectId | string,
  preview: string | { id: string },
  opts: { startedBy: { userId: string; name?: string }; now: () => Date },
): Promise<SyncSummary> {
  const cid = toId(courseId);
  const id = typeof preview === 'string' ? preview : preview.id;
  const startedAt = opts.now();
  const Previews = csvPreviewModel(conn).collection;
  // Claiming the preview is one atomic update: a double click applies it once.
  // (mongoose 7's driver answers findOneAndUpdate with { value }.)
  const claimed = await Previews.findOneAndUpdate(
    { _id: id as never, courseId: cid, appliedAt: null, ready: true, expiresAt: { $gt: startedAt } },
    { $set: { appliedAt: startedAt } },
    { returnDocument: 'after' },
  );
  const doc = (claimed && 'value' in claimed ? claimed.value : claimed) as unknown as CsvPreviewDoc | null;
  if (!doc) {
    const existing = await Previews.findOne<CsvPreviewDoc>({ _id: id as never, courseId: cid }, { projection: { appliedAt: 1, expiresAt: 1, items: 1 } });
    if (existing?.appliedAt) throw new PreviewAlreadyAppliedError();
    if (existing && new Date(existing.expiresAt).getTime() > startedAt.getTime()) {
      throw new MaximaMissingError(existing.items.filter((i) => i.status !== 'ags' && (i.scoreMaximum === null || i.aboveMaximum)).map((i) => i.label));
    }
    throw new PreviewNotFoundError();
  }

  const LineItems = lineItemModel(conn);
  const Results = resultModel(conn);
  const { data: changes, comments } = await readParts<StoredChange>(conn, id, 'changes', doc.planVersion);
  const importItems = doc.items.filter((i) => i.status !== 'ags');
  const keys = importItems.map((i) => i.key);
  const before = await LineItems.find({ courseId: cid, source: 'csv', externalId: { $in: keys } }, { externalId: 1, label: 1, scoreMaximum: 1, removedAt: 1 }).lean<StoredLineItem[]>();
  const beforeByKey = new Map(before.map((s) => [s.externalId, s]));
  const storedNow = new Map<string, StoredResult>();
  if (before.length) {
    const users = [...new Set(changes.map((c) => c[0]))];
    const found = await Results.find({ courseId: cid, lineItemId: { $in: before.map((b) => b._id) }, userId: { $in: users } }, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
    for (const r of found) storedNow.set(resultKey(r.lineItemId, r.userId), r);
  }
  let conflicts = 0;
  for (const [userId, i, oldScore, oldMax] of changes) {
    const li = beforeByKey.get(doc.items[i]!.key);
    const cur = li ? storedNow.get(resultKey(li._id, userId)) : undefined;
    const same = oldMax === null ? cur === undefined : cur !== undefined && cur.scoreGiven === oldScore && cur.scoreMaximum === oldMax;
    if (!same) conflicts++;
  }
  if (conflicts > 0) {
    await Previews.updateOne({ _id: id as never }, { $set: { appliedAt: null } });
    throw new StalePreviewError(conflicts);
  }

  // From here the import is the `csv` grade source, stored by the same sync as every other source:
  // the same writes (and score history), the same run record; the caller then runs the same stale
  // check and re-issue. Listings are never complete: a file leaves what it does not name alone.
  const perItem = new Map<string, IncomingScore[]>();
  changes.forEach(([userId, i, , , score, max], n) => {
    const key = doc.items[i]!.key;
    const list = perItem.get(key) ?? [];
    list.push({ userId, scoreGiven: score, scoreMaximum: max, comment: comments[String(n)] });
    perItem.set(key, list);
  });
  const source: GradeSource = {
    kind: 'csv',
    async lineItems(ctx) {
      for (const u of doc.unmatched) {
        // the sync history shows it in the teacher's language (grades.syncError.csv.unmatched.*)
        const reason = u.reason === 'duplicate' && !u.earlierRow ? 'duplicateUnknown' : u.reason;
        const ref = { key: `grades.syncError.csv.unmatched.${reason}`, params: { row: u.row, ...(u.name ? { name: u.name } : {}), ...(u.earlierRow ? { earlierRow: u.earlierRow } : {}) } };
        ctx.error('unmatched_row', inEnglish(ref), undefined, ref);
      }
      return { items: importItems.map((i) => ({ externalId: i.key, label: i.label, scoreMaximum: i.scoreMaximum! })), complete: false };
    },
    async results(_ctx, req, sink) {
      for (const item of req.items) {
        const results = perItem.get(item.externalId);
        if (results) await sink({ externalId: item.externalId, results, complete: false });
      }
    },
  };
  const summary = await syncCourse({ conn, source, course: { _id: cid }, startedBy: opts.startedBy, now: opts.now });
  // A file has no roster step: the run's people are the learners its rows matched.
  await syncRunModel(conn).updateOne({ _id: new Types.ObjectId(summary.runId) }, { $set: { 'counts.members': doc.counts.matched } });
  await Previews.updateOne({ _id: id as never }, { $set: { runId: summary.runId } });
  return { ...summary, counts: { ...summary.counts, members: doc.counts.matched } };
}

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
import { ValidationError } from '../../errors';
import { STORED_RESULT_PROJECTION, type IncomingScore, type StoredLineItem, type StoredResult } from '../grade-writes';
import { lineItemModel } from '../line-item.model';
import { memberModel, type Member } from '../member.model';
import { resultModel } from '../result.model';
import type { GradeSource } from '../sources/grade-source';
import { syncRunModel } from '../sync-run.model';
import { syncCourse, type SyncSummary } from '../sync.service';
import {
  csvPreviewModel,
  csvPreviewPartModel,
  type CsvPreviewDoc,
  type MatchedRowView,
  type PreviewCounts,
  type PreviewOptions,
  type StoredChange,
  type StoredPreviewItem,
  type UnmatchedRowView,
} from './csv-preview.model';
import type { GradebookFormat, ParsedGradebook, ParsedRow } from './gradebook-csv';
import { MaximaMissingError, PreviewAlreadyAppliedError, PreviewNotFoundError, StalePreviewError } from './import.errors';

export type { StoredPreviewItem as CsvPreviewItem } from './csv-preview.model';
export type MatchedBy = MatchedRowView['by'];

export interface CsvScoreChange {
  row: number;
  userId: string;
  name?: string;
  key: string;
  label: string;
  old: { scoreGiven: number | null; scoreMaximum: number } | null;
  new: { scoreGiven: number; scoreMaximum: number };
}

/**
 * What applying the preview would write, in the shape the certificates' impact preview reads:
 * existing line items by id, new ones by a provisional id `new:<key>`.
 */
export interface ProposedGrades {
  newLineItems: Array<{ id: string; label: string; scoreMaximum: number }>;
  results: Array<{ userId: string; lineItemId: string; scoreGiven: number; scoreMaximum: number }>;
}

export interface CsvImportPreview {
  /** Give this back to `reviseCsvPreview` / `applyCsvImport`. */
  id: string;
  courseId: string;
  format: GradebookFormat;
  expiresAt: Date;
  items: StoredPreviewItem[];
  matched: MatchedRowView[];
  unmatched: UnmatchedRowView[];
  changes: CsvScoreChange[];
  counts: PreviewCounts;
  skipped: ParsedGradebook['skipped'];
  warnings: string[];
  options: PreviewOptions;
  /** Every column has a maximum: Apply is possible. */
  ready: boolean;
  /** Labels of the columns whose maximum the teacher still has to enter. */
  missingMaxima: string[];
  /** No member of the roster has a known username yet (Chamilo's file names learners by it). */
  noUsernames: boolean;
  proposal: ProposedGrades;
}

export interface PreviewCreateOptions {
  /** Maxima the teacher typed for columns whose maximum the file does not give, by item key. */
  maxima?: Record<string, number>;
  zeroIsReal?: boolean;
  fileName?: string;
  uploadedBy?: { userId: string; name?: string };
  now?: () => Date;
  /** How long the preview can be confirmed (default 30 minutes). */
  ttlMs?: number;
  newId?: () => string;
}

const DEFAULT_TTL_MS = 30 * 60 * 1000;
/** Rows listed per group in a stored preview (the counts are always complete). */
const LISTED_ROWS = 1000;

/** The English sentence of an unmatched row, for the sync run's error list. */
const UNMATCHED_TEXT: Record<UnmatchedRowView['reason'], string> = {
  no_member: 'no course member with these identifiers',
  ambiguous: 'several course members share these identifiers',
  duplicate: 'the same course member as an earlier row',
};

type RosterEntry = Pick<Member, 'userId' | 'name' | 'email' | 'sisId' | 'lisPersonSourcedId' | 'username' | 'status'>;
type Index = Map<string, RosterEntry[]>;

function indexRoster(members: RosterEntry[]) {
  const add = (map: Index, key: string | undefined | null, m: RosterEntry) => {
    const k = key?.trim().toLowerCase();
    if (!k) return;
    const list = map.get(k);
    if (list) {
      if (!list.includes(m)) list.push(m);
    } else map.set(k, [m]);
  };
  const byUserId: Index = new Map();
  const bySis: Index = new Map();
  const byEmail: Index = new Map();
  const byUsername: Index = new Map();
  for (const m of members) {
    add(byUserId, m.userId, m);
    add(bySis, m.sisId, m);
    add(bySis, m.lisPersonSourcedId, m);
    add(byEmail, m.email, m);
    add(byUsername, m.username, m);
  }
  return { byUserId, bySis, byEmail, byUsername };
}

/**
 * Finds the one member a row names, trying LMS id, SIS id, email, then the file's login: as a
 * username learned at launch (Chamilo), else as an email, SIS id or user id (Canvas's login is
 * often one of those).
 */
function matchRow(row: ParsedRow, idx: ReturnType<typeof indexRoster>): { member?: RosterEntry; by?: MatchedBy; ambiguous: boolean } {
  const attempts: Array<[string | undefined | null, Array<[MatchedBy, Index]>]> = [
    [row.userId, [['userId', idx.byUserId]]],
    [row.sisId, [['sisId', idx.bySis]]],
    [row.email, [['email', idx.byEmail]]],
    [
      row.login,
      [
        ['username', idx.byUsername],
        ['login', idx.byEmail],
        ['login', idx.bySis],
        ['login', idx.byUserId],
      ],
    ],
  ];
  let ambiguous = false;
  for (const [value, maps] of attempts) {
    if (!value) continue;
    for (const [by, map] of maps) {
      const found = map.get(value.trim().toLowerCase());
      if (!found) continue;
      if (found.length === 1) return { member: found[0], by, ambiguous: false };
      ambiguous = true;
    }
  }
  return { ambiguous };
}

const resultKey = (lineItemId: unknown, userId: string) => `${String(lineItemId)}|${userId}`;
const sameLabel = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

interface Plan {
  items: StoredPreviewItem[];
  matched: MatchedRowView[];
  unmatched: UnmatchedRowView[];
  changes: CsvScoreChange[];
  stored: StoredChange[];
  comments: Record<string, string>;
  unchanged: number;
  counts: PreviewCounts;
  ready: boolean;
  noUsernames: boolean;
}

/** Decides each column's maximum and status; matches rows; computes the changes. Reads, never writes. */
async function planImport(conn: Connection, cid: Types.ObjectId, parsed: CsvPreviewDoc['parsed'], rows: ParsedRow[], options: PreviewOptions): Promise<Plan> {
  const [stored, ags] = await Promise.all([
    lineItemModel(conn)
      .find({ courseId: cid, source: 'csv', externalId: { $in: parsed.items.map((i) => i.key) } }, { externalId: 1, scoreMaximum: 1, label: 1 })
      .lean<StoredLineItem[]>(),
    parsed.format !== 'moodle' || parsed.items.some((i) => i.externalTool)
      ? lineItemModel(conn).find({ courseId: cid, source: 'ags', removedAt: null }, { label: 1 }).lean<Array<{ _id: Types.ObjectId; label: string }>>()
      : Promise.resolve([]),
  ]);
  const storedByKey = new Map(stored.map((s) => [s.externalId, s]));
  const agsByLabel = new Map<string, { _id: Types.ObjectId; label: string }>();
  for (const a of ags) if (!agsByLabel.has(sameLabel(a.label))) agsByLabel.set(sameLabel(a.label), a);

  const items: StoredPreviewItem[] = parsed.items.map((it) => {
    const existing = storedByKey.get(it.key);
    const base = { key: it.key, label: it.label, column: it.column };
    // Moodle's "External tool: X" is this tool's own activity X, which the tool reads over AGS:
    // the same activity under another name, never a second column beside it. In Chamilo an AGS
    // line item is a gradebook evaluation (the "Certificates" one Chamilo creates when the tool is
    // added, plugin/ims_lti/configure.php), exported under its own name. In Canvas every AGS line
    // item is an assignment named by its label (app/controllers/lti/ims/line_items_controller.rb:
    // the label "will also be used as the name of the placeholder assignment", update_assignment).
    const twinName = it.externalTool ?? (parsed.format === 'chamilo' || parsed.format === 'canvas' ? it.label : undefined);
    const twin = twinName ? agsByLabel.get(sameLabel(twinName)) : undefined;
    if (twin) return { ...base, scoreMaximum: it.scoreMaximum, maximumFrom: it.scoreMaximum === null ? 'unknown' : it.maximumFrom, status: 'ags', sameAs: { lineItemId: String(twin._id), label: twin.label } };
    const status = existing ? ('existing' as const) : ('new' as const);
    const lineItemId = existing ? String(existing._id) : undefined;
    if (it.scoreMaximum !== null) return { ...base, scoreMaximum: it.scoreMaximum, maximumFrom: it.maximumFrom, status, lineItemId };
    const asked = options.maxima[it.key];
    if (asked !== undefined) {
      if (!(Number.isFinite(asked) && asked > 0)) throw new ValidationError(`The maximum for "${it.label}" must be a number greater than 0.`, { field: it.key });
      return { ...base, scoreMaximum: asked, maximumFrom: 'asked', status, lineItemId };
    }
    if (existing) return { ...base, scoreMaximum: existing.scoreMaximum, maximumFrom: 'stored', status, lineItemId };
    return { ...base, scoreMaximum: null, maximumFrom: 'unknown', status, lineItemId };
  });
  // A maximum the teacher gave (or an earlier import's) must hold every score of the file.
  for (const row of rows) {
    row.scores.forEach((s, i) => {
      const item = items[i]!;
      if (s === null || item.status === 'ags' || item.scoreMaximum === null || item.aboveMaximum) return;
      if (s > item.scoreMaximum + 1e-9) item.aboveMaximum = { row: row.row, score: s };
    });
  }
  const importable = (item: StoredPreviewItem) => item.status !== 'ags' && item.scoreMaximum !== null && !item.aboveMaximum;
  const ready = items.every((i) => i.status === 'ags' || importable(i));

  const roster = await memberModel(conn)
    .find({ courseId: cid }, { userId: 1, name: 1, email: 1, sisId: 1, lisPersonSourcedId: 1, username: 1, status: 1 })
    .lean<RosterEntry[]>();
  const idx = indexRoster(roster);
  const matched: MatchedRowView[] = [];
  const unmatched: UnmatchedRowView[] = [];
  const rowOf = new Map<string, number>();
  const matchedRows: Array<{ row: ParsedRow; userId: string; name?: string }> = [];
  for (const row of rows) {
    const identifiers = { userId: row.userId ?? undefined, sisId: row.sisId ?? undefined, email: row.email ?? undefined, login: row.login ?? undefined };
    const name = row.name ?? undefined;
    const m = matchRow(row, idx);
    if (!m.member) {
      unmatched.push({ row: row.row, name, identifiers, reason: m.ambiguous ? 'ambiguous' : 'no_member' });
      continue;
    }
    const earlier = rowOf.get(m.member.userId);
    if (earlier !== undefined) {
      unmatched.push({ row: row.row, name, identifiers, reason: 'duplicate', earlierRow: earlier });
      continue;
    }
    rowOf.set(m.member.userId, row.row);
    matched.push({ row: row.row, userId: m.member.userId, name: m.member.name ?? name, by: m.by! });
    matchedRows.push({ row, userId: m.member.userId, name: m.member.name ?? name });
  }

  const existingIds = items.filter((i) => i.lineItemId && i.status !== 'ags').map((i) => new Types.ObjectId(i.lineItemId));
  const current = new Map<string, StoredResult>();
  if (existingIds.length && matchedRows.length) {
    const results = await resultModel(conn).find({ courseId: cid, lineItemId: { $in: existingIds } }, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
    for (const r of results) current.set(resultKey(r.lineItemId, r.userId), r);
  }
  const changes: CsvScoreChange[] = [];
  const storedChanges: StoredChange[] = [];
  const comments: Record<string, string> = {};
  let unchanged = 0;
  let zeros = 0;
  for (const { row, userId, name } of matchedRows) {
    row.scores.forEach((score, i) => {
      const item = items[i]!;
      if (score === null || item.status === 'ags') return;
      // A Chamilo 0 may be "not graded": its "only numbers" export writes a missing result as 0 %,
      // and its grading forms pre-fill every box with 0 (test/fixtures/csv/real/README.md). Unless
      // the teacher says otherwise such a 0 is no score, so the all-graded guard never counts it.
      if (row.zeros?.[i]) {
        zeros++;
        if (!options.zeroIsReal) return;
      }
      if (!importable(item)) return;
      const max = item.scoreMaximum!;
      const old = item.lineItemId ? current.get(resultKey(item.lineItemId, userId)) : undefined;
      if (old && old.scoreGiven === score && old.scoreMaximum === max) {
        unchanged++;
        return;
      }
      changes.push({
        row: row.row,
        userId,
        name,
        key: item.key,
        label: item.label,
        old: old ? { scoreGiven: old.scoreGiven, scoreMaximum: old.scoreMaximum } : null,
        new: { scoreGiven: score, scoreMaximum: max },
      });
      const comment = row.comments?.[i];
      if (comment) comments[String(storedChanges.length)] = comment;
      storedChanges.push([userId, i, old ? old.scoreGiven : null, old ? old.scoreMaximum : null, score, max]);
    });
  }
  return {
    items,
    matched,
    unmatched,
    changes,
    stored: storedChanges,
    comments,
    unchanged,
    ready,
    noUsernames: !roster.some((m) => m.username),
    counts: {
      rows: rows.length,
      matched: matched.length,
      unmatched: unmatched.length,
      changes: changes.length,
      unchanged,
      newItems: items.filter((i) => i.status === 'new').length,
      zeros,
    },
  };
}

function proposalOf(items: StoredPreviewItem[], changes: StoredChange[]): ProposedGrades {
  const idOf = (item: StoredPreviewItem) => item.lineItemId ?? `new:${item.key}`;
  return {
    newLineItems: items.filter((i) => i.status === 'new' && i.scoreMaximum !== null).map((i) => ({ id: idOf(i), label: i.label, scoreMaximum: i.scoreMaximum! })),
    results: changes.map(([userId, i, , , scoreGiven, scoreMaximum]) => ({ userId, lineItemId: idOf(items[i]!), scoreGiven, scoreMaximum })),
  };
}

function toPreview(doc: Pick<CsvPreviewDoc, '_id' | 'courseId' | 'format' | 'expiresAt' | 'parsed' | 'options'>, plan: Plan): CsvImportPreview {
  return {
    id: doc._id,
    courseId: String(doc.courseId),
    format: doc.format,
    expiresAt: doc.expiresAt,
    items: plan.items,
    matched: plan.matched,
    unmatched: plan.unmatched,
    changes: plan.changes,
    counts: plan.counts,
    skipped: doc.parsed.skipped,
    warnings: doc.parsed.warnings,
    options: doc.options,
    ready: plan.ready,
    missingMaxima: plan.items.filter((i) => i.status !== 'ags' && (i.scoreMaximum === null || i.aboveMaximum)).map((i) => i.label),
    noUsernames: plan.noUsernames,
    proposal: proposalOf(plan.items, plan.stored),
  };
}

/** What a plan stores in the preview document. */
function planFields(plan: Plan) {
  return {
    items: plan.items,
    unchanged: plan.unchanged,
    matched: plan.matched.slice(0, LISTED_ROWS),
    unmatched: plan.unmatched.slice(0, LISTED_ROWS),
    counts: plan.counts,
    ready: plan.ready,
    noUsernames: plan.noUsernames,
  };
}

const ROWS_PER_PART = 2000;
const CHANGES_PER_PART = 5000;

/** Stores rows or changes in chunks of their own documents (see CsvPreviewPartDoc). */
async function writeParts(
  conn: Connection,
  previewId: string,
  kind: 'rows' | 'changes',
  version: number,
  data: unknown[],
  expiresAt: Date,
  comments: Record<string, string> = {},
): Promise<void> {
  const size = kind === 'rows' ? ROWS_PER_PART : CHANGES_PER_PART;
  const docs = [];
  for (let n = 0; n * size < data.length; n++) {
    const local: Record<string, string> = {};
    for (let i = n * size; i < Math.min(data.length, (n + 1) * size); i++) if (comments[String(i)]) local[String(i - n * size)] = comments[String(i)]!;
    docs.push({ previewId, kind, version, n, data: data.slice(n * size, (n + 1) * size), comments: local, expiresAt });
  }
  // ignoreUndefined: the rows' absent identifiers stay absent instead of becoming null.
  if (docs.length) await csvPreviewPartModel(conn).collection.insertMany(docs, { ignoreUndefined: true });
}

/** Reads back stored rows or changes (all, or the chunks holding indices from..to). */
async function readParts<T>(conn: Connection, previewId: string, kind: 'rows' | 'changes', version: number, range?: { from: number; to: number }): Promise<{ data: T[]; comments: Record<string, string>; offset: number }> {
  const size = kind === 'rows' ? ROWS_PER_PART : CHANGES_PER_PART;
  const filter: Record<string, unknown> = { previewId, kind, version };
  if (range) filter.n = { $gte: Math.floor(range.from / size), $lte: Math.floor(Math.max(range.from, range.to - 1) / size) };
  const parts = await csvPreviewPartModel(conn).collection.find(filter).sort({ n: 1 }).toArray();
  const data: T[] = [];
  const comments: Record<string, string> = {};
  const offset = parts[0] ? (parts[0].n as number) * size : 0;
  for (const part of parts) {
    for (const [k, v] of Object.entries((part.comments ?? {}) as Record<string, string>)) comments[String((part.n as number) * size + Number(k) - offset)] = v;
    data.push(...(part.data as T[]));
  }
  return { data, comments, offset };
}

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
        const why = u.reason === 'duplicate' && u.earlierRow ? `the same course member as row ${u.earlierRow}` : UNMATCHED_TEXT[u.reason];
        ctx.error('unmatched_row', `Row ${u.row}${u.name ? ` (${u.name})` : ''}: ${why}; not imported.`);
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

/**
 * Gradebook CSV import in two steps. `previewCsvImport` matches the file's rows to the course
 * roster and computes every score change against what is stored, writing no grade; it keeps the
 * preview on the server (id + TTL). `applyCsvImport` applies exactly that stored preview, once,
 * and refuses if the stored grades changed in between. Imported columns become line items of
 * source 'csv', which the certificate rules treat like any other.
 */
import { randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { ConflictError, NotFoundError, ValidationError } from '../../errors';
import {
  executeWrites,
  planLineItemWrites,
  planResultWrites,
  STORED_RESULT_PROJECTION,
  type IncomingScore,
  type StoredLineItem,
  type StoredResult,
} from '../grade-writes';
import { lineItemModel } from '../line-item.model';
import { memberModel, type Member } from '../member.model';
import { resultModel } from '../result.model';
import { syncRunModel, type SyncRunError } from '../sync-run.model';
import type { SyncSummary } from '../sync.service';
import { csvPreviewModel, type StoredChange } from './csv-preview.model';
import type { GradebookFormat, ParsedGradebook, ParsedItem, ParsedRow } from './gradebook-csv';

/** What a column becomes. `maximumFrom: 'asked'` = the teacher's value or the default (100). */
export interface CsvPreviewItem {
  key: string;
  label: string;
  column: string;
  scoreMaximum: number;
  maximumFrom: ParsedItem['maximumFrom'] | 'asked' | 'default';
  status: 'new' | 'existing';
  lineItemId?: string;
}

export type MatchedBy = 'userId' | 'sisId' | 'email' | 'login';

export interface CsvMatchedRow {
  row: number;
  userId: string;
  name?: string;
  by: MatchedBy;
}

export interface CsvUnmatchedRow {
  row: number;
  name?: string;
  identifiers: Pick<ParsedRow, 'userId' | 'sisId' | 'email' | 'login'>;
  reason: string;
}

export interface CsvScoreChange {
  row: number;
  userId: string;
  name?: string;
  key: string;
  label: string;
  old: { scoreGiven: number | null; scoreMaximum: number } | null;
  new: { scoreGiven: number; scoreMaximum: number };
}

export interface CsvImportPreview {
  /** Give this back to `applyCsvImport`. */
  id: string;
  courseId: string;
  format: GradebookFormat;
  expiresAt: Date;
  items: CsvPreviewItem[];
  matched: CsvMatchedRow[];
  unmatched: CsvUnmatchedRow[];
  changes: CsvScoreChange[];
  counts: { rows: number; matched: number; unmatched: number; changes: number; unchanged: number; newItems: number };
  skipped: ParsedGradebook['skipped'];
  warnings: string[];
}

export interface PreviewOptions {
  /** Maxima the teacher typed for columns whose maximum the file does not give, by item key. */
  maxima?: Record<string, number>;
  now?: () => Date;
  /** How long the preview can be confirmed (default 30 minutes). */
  ttlMs?: number;
  newId?: () => string;
}

/** A maximum the file does not give: the teacher's, else the stored column's, else 100. */
const DEFAULT_MAXIMUM = 100;
const DEFAULT_TTL_MS = 30 * 60 * 1000;

type RosterEntry = Pick<Member, 'userId' | 'name' | 'email' | 'sisId' | 'lisPersonSourcedId' | 'status'>;

function indexRoster(members: RosterEntry[]) {
  const add = (map: Map<string, RosterEntry[]>, key: string | undefined, m: RosterEntry) => {
    if (!key) return;
    const k = key.trim().toLowerCase();
    if (!k) return;
    const list = map.get(k);
    if (list) {
      if (!list.includes(m)) list.push(m);
    } else map.set(k, [m]);
  };
  const byUserId = new Map<string, RosterEntry[]>();
  const bySis = new Map<string, RosterEntry[]>();
  const byEmail = new Map<string, RosterEntry[]>();
  for (const m of members) {
    add(byUserId, m.userId, m);
    add(bySis, m.sisId, m);
    add(bySis, m.lisPersonSourcedId, m);
    add(byEmail, m.email, m);
  }
  return { byUserId, bySis, byEmail };
}

/** Finds the one member a row names, trying LMS id, SIS id, email, then login (often an email or SIS id). */
function matchRow(row: ParsedRow, idx: ReturnType<typeof indexRoster>): { member?: RosterEntry; by?: MatchedBy; ambiguous: boolean } {
  const attempts: Array<[MatchedBy, string | undefined, Map<string, RosterEntry[]>[]]> = [
    ['userId', row.userId, [idx.byUserId]],
    ['sisId', row.sisId, [idx.bySis]],
    ['email', row.email, [idx.byEmail]],
    ['login', row.login, [idx.byEmail, idx.bySis, idx.byUserId]],
  ];
  let ambiguous = false;
  for (const [by, value, maps] of attempts) {
    if (!value) continue;
    for (const map of maps) {
      const found = map.get(value.trim().toLowerCase());
      if (!found) continue;
      if (found.length === 1) return { member: found[0], by, ambiguous: false };
      ambiguous = true;
    }
  }
  return { ambiguous };
}

const resultKey = (lineItemId: unknown, userId: string) => `${String(lineItemId)}|${userId}`;

/**
 * Matches rows to members and computes the changes, without writing any grade. The preview is
 * stored (id + TTL) so that `applyCsvImport` applies what was shown. Throws ValidationError when a
 * score is above a maximum the teacher gave (or the default).
 */
export async function previewCsvImport(conn: Connection, courseId: Types.ObjectId | string, parsed: ParsedGradebook, opts: PreviewOptions = {}): Promise<CsvImportPreview> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const now = (opts.now ?? (() => new Date()))();
  const stored = await lineItemModel(conn)
    .find({ courseId: cid, source: 'csv', externalId: { $in: parsed.items.map((i) => i.key) } }, { externalId: 1, scoreMaximum: 1, label: 1 })
    .lean<StoredLineItem[]>();
  const storedByKey = new Map(stored.map((s) => [s.externalId, s]));

  const items: CsvPreviewItem[] = parsed.items.map((it) => {
    const existing = storedByKey.get(it.key);
    const base = { key: it.key, label: it.label, column: it.column, status: existing ? ('existing' as const) : ('new' as const), lineItemId: existing ? String(existing._id) : undefined };
    if (it.scoreMaximum !== null) return { ...base, scoreMaximum: it.scoreMaximum, maximumFrom: it.maximumFrom };
    const asked = opts.maxima?.[it.key];
    if (asked !== undefined) {
      if (!(Number.isFinite(asked) && asked > 0)) throw new ValidationError(`The maximum for "${it.label}" must be a number greater than 0.`, { column: it.column, reason: 'bad_maximum' });
      return { ...base, scoreMaximum: asked, maximumFrom: 'asked' as const };
    }
    return { ...base, scoreMaximum: existing?.scoreMaximum ?? DEFAULT_MAXIMUM, maximumFrom: 'default' as const };
  });
  // Scores against maxima that were not in the file are checked now.
  for (const row of parsed.rows) {
    row.scores.forEach((s, i) => {
      if (s !== null && s > items[i]!.scoreMaximum + 1e-9) {
        throw new ValidationError(`Row ${row.row}, column "${items[i]!.column}": ${s} is above the maximum ${items[i]!.scoreMaximum}; give this column its real maximum.`, {
          row: row.row,
          column: items[i]!.column,
          reason: 'out_of_range',
        });
      }
    });
  }

  const roster = await memberModel(conn).find({ courseId: cid }, { userId: 1, name: 1, email: 1, sisId: 1, lisPersonSourcedId: 1, status: 1 }).lean<RosterEntry[]>();
  const idx = indexRoster(roster);
  const matched: CsvMatchedRow[] = [];
  const unmatched: CsvUnmatchedRow[] = [];
  const rowOf = new Map<string, number>();
  const matchedRows: Array<{ row: ParsedRow; userId: string; name?: string }> = [];
  for (const row of parsed.rows) {
    const identifiers = { userId: row.userId, sisId: row.sisId, email: row.email, login: row.login };
    const m = matchRow(row, idx);
    if (!m.member) {
      unmatched.push({ row: row.row, name: row.name, identifiers, reason: m.ambiguous ? 'several course members share these identifiers' : 'no course member with these identifiers' });
      continue;
    }
    const earlier = rowOf.get(m.member.userId);
    if (earlier !== undefined) {
      unmatched.push({ row: row.row, name: row.name, identifiers, reason: `the same course member as row ${earlier}` });
      continue;
    }
    rowOf.set(m.member.userId, row.row);
    matched.push({ row: row.row, userId: m.member.userId, name: m.member.name ?? row.name, by: m.by! });
    matchedRows.push({ row, userId: m.member.userId, name: m.member.name ?? row.name });
  }

  const existingIds = stored.map((s) => s._id);
  const current = new Map<string, StoredResult>();
  if (existingIds.length && matchedRows.length) {
    const results = await resultModel(conn).find({ courseId: cid, lineItemId: { $in: existingIds } }, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
    for (const r of results) current.set(resultKey(r.lineItemId, r.userId), r);
  }
  const changes: CsvScoreChange[] = [];
  const storedChanges: StoredChange[] = [];
  const comments: Record<string, string> = {};
  let unchanged = 0;
  for (const { row, userId, name } of matchedRows) {
    row.scores.forEach((score, i) => {
      if (score === null) return;
      const item = items[i]!;
      const old = item.lineItemId ? current.get(resultKey(item.lineItemId, userId)) : undefined;
      if (old && old.scoreGiven === score && old.scoreMaximum === item.scoreMaximum) {
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
        new: { scoreGiven: score, scoreMaximum: item.scoreMaximum },
      });
      const comment = row.comments?.[i];
      if (comment) comments[String(storedChanges.length)] = comment;
      storedChanges.push([userId, i, old ? old.scoreGiven : null, old ? old.scoreMaximum : null, score, item.scoreMaximum]);
    });
  }

  const id = (opts.newId ?? (() => randomBytes(16).toString('hex')))();
  const expiresAt = new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_TTL_MS));
  await csvPreviewModel(conn).collection.insertOne({
    _id: id as never,
    courseId: cid,
    format: parsed.format,
    items: items.map((i) => ({ key: i.key, label: i.label, scoreMaximum: i.scoreMaximum })),
    changes: storedChanges,
    comments,
    unchanged,
    matched: matched.length,
    unmatched: unmatched.map((u) => ({ row: u.row, name: u.name, reason: u.reason })),
    createdAt: now,
    expiresAt,
    appliedAt: null,
  });
  return {
    id,
    courseId: String(cid),
    format: parsed.format,
    expiresAt,
    items,
    matched,
    unmatched,
    changes,
    counts: {
      rows: parsed.rows.length,
      matched: matched.length,
      unmatched: unmatched.length,
      changes: changes.length,
      unchanged,
      newItems: items.filter((i) => i.status === 'new').length,
    },
    skipped: parsed.skipped,
    warnings: parsed.warnings,
  };
}

/**
 * Applies a stored preview, exactly, once. Refuses (ConflictError) when a grade it would change
 * is no longer what the preview showed, and (NotFoundError) when the preview expired or is unknown.
 * Records a sync run of source 'csv'.
 */
export async function applyCsvImport(
  conn: Connection,
  courseId: Types.ObjectId | string,
  preview: string | { id: string },
  opts: { startedBy: { userId: string; name?: string }; now: () => Date },
): Promise<SyncSummary> {
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const id = typeof preview === 'string' ? preview : preview.id;
  const startedAt = opts.now();
  const Previews = csvPreviewModel(conn);
  // Claiming the preview is one atomic update: a double click applies it once.
  const doc = await Previews.findOneAndUpdate(
    { _id: id, courseId: cid, appliedAt: null, expiresAt: { $gt: startedAt } },
    { $set: { appliedAt: startedAt } },
    { new: true },
  ).lean();
  if (!doc) {
    const existing = await Previews.findOne({ _id: id, courseId: cid }, { appliedAt: 1 }).lean();
    if (existing?.appliedAt) throw new ConflictError('This import was already applied.', { reason: 'already_applied' });
    throw new NotFoundError('This import preview has expired or does not exist: upload the file again.', { reason: 'preview_expired' });
  }

  const LineItems = lineItemModel(conn);
  const Results = resultModel(conn);
  const keys = doc.items.map((i) => i.key);
  const before = await LineItems.find({ courseId: cid, source: 'csv', externalId: { $in: keys } }, { externalId: 1, label: 1, scoreMaximum: 1, removedAt: 1 }).lean<StoredLineItem[]>();
  const beforeByKey = new Map(before.map((s) => [s.externalId, s]));
  const storedNow = new Map<string, StoredResult>();
  if (before.length) {
    const users = [...new Set(doc.changes.map((c) => c[0]))];
    const found = await Results.find({ courseId: cid, lineItemId: { $in: before.map((b) => b._id) }, userId: { $in: users } }, STORED_RESULT_PROJECTION).lean<StoredResult[]>();
    for (const r of found) storedNow.set(resultKey(r.lineItemId, r.userId), r);
  }
  let conflicts = 0;
  for (const [userId, i, oldScore, oldMax] of doc.changes) {
    const li = beforeByKey.get(doc.items[i]!.key);
    const cur = li ? storedNow.get(resultKey(li._id, userId)) : undefined;
    const same = oldMax === null ? cur === undefined : cur !== undefined && cur.scoreGiven === oldScore && cur.scoreMaximum === oldMax;
    if (!same) conflicts++;
  }
  if (conflicts > 0) {
    await Previews.updateOne({ _id: id }, { $set: { appliedAt: null } });
    throw new ConflictError(`${conflicts} of the grades this import would change were changed since the preview: upload the file again to see a fresh preview.`, {
      reason: 'stale_preview',
      conflicts,
    });
  }

  const now = opts.now();
  const itemPlan = planLineItemWrites({
    courseId: cid,
    source: 'csv',
    incoming: doc.items.map((i) => ({ externalId: i.key, label: i.label, scoreMaximum: i.scoreMaximum })),
    stored: beforeByKey,
    now,
    complete: false,
  });
  if (itemPlan.ops.length) await executeWrites(LineItems.collection, itemPlan.ops);
  const after = await LineItems.find({ courseId: cid, source: 'csv', externalId: { $in: keys } }, { externalId: 1 }).lean<StoredLineItem[]>();
  const idByKey = new Map(after.map((a) => [a.externalId, a._id]));

  const perItem = new Map<number, IncomingScore[]>();
  doc.changes.forEach(([userId, i, , , score, max], n) => {
    const list = perItem.get(i) ?? [];
    list.push({ userId, scoreGiven: score, scoreMaximum: max, comment: doc.comments?.[String(n)] });
    perItem.set(i, list);
  });
  let changed = itemPlan.changed;
  for (const [i, incoming] of perItem) {
    const lineItemId = idByKey.get(doc.items[i]!.key)!;
    const stored = new Map<string, StoredResult>();
    for (const s of incoming) {
      const cur = storedNow.get(resultKey(lineItemId, s.userId));
      if (cur) stored.set(s.userId, cur);
    }
    const plan = planResultWrites({ courseId: cid, lineItemId, source: 'csv', incoming, stored, now });
    if (plan.ops.length) await executeWrites(Results.collection, plan.ops);
    changed += plan.changed;
  }

  const errors: SyncRunError[] = doc.unmatched.map((u) => ({
    kind: 'unmatched_row',
    message: `Row ${u.row}${u.name ? ` (${u.name})` : ''}: ${u.reason}; not imported.`,
  }));
  const finishedAt = opts.now();
  const counts = {
    items: doc.items.length,
    results: doc.changes.length + doc.unchanged,
    members: doc.matched,
    changed,
    unchanged: doc.unchanged + itemPlan.unchanged,
    errors: errors.length,
  };
  const status = errors.length ? 'partial' : 'succeeded';
  const durationMs = finishedAt.getTime() - startedAt.getTime();
  const run = await syncRunModel(conn).create({
    courseId: cid,
    source: 'csv',
    scope: 'course',
    startedBy: opts.startedBy,
    startedAt,
    finishedAt,
    status,
    counts,
    durationMs,
    errors: errors.slice(0, 200),
  });
  return { runId: String(run._id), status, counts, durationMs, errors, startedAt, finishedAt };
}

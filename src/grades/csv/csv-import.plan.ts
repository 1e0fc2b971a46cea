/**
 * The plan of a gradebook CSV import: each column's maximum and status, the rows matched to
 * members, and the score changes against what is stored. Reads, never writes.
 */
import { Types, type Connection } from 'mongoose';
import { ValidationError } from '../../errors';
import { inEnglish } from '../../i18n/english';
import { STORED_RESULT_PROJECTION, type StoredLineItem, type StoredResult } from '../grade-writes';
import { lineItemModel } from '../line-item.model';
import { memberModel } from '../member.model';
import { resultModel } from '../result.model';
import type { CsvPreviewDoc, MatchedRowView, PreviewCounts, PreviewOptions, StoredChange, StoredPreviewItem, UnmatchedRowView } from './csv-preview.model';
import type { ParsedRow } from './gradebook-csv';
import type { CsvImportPreview, CsvScoreChange, ProposedGrades } from './csv-import.types';
import { indexRoster, matchRow, type RosterEntry } from './csv-matching';

/** Rows listed per group in a stored preview (the counts are always complete). */
const LISTED_ROWS = 1000;

export const resultKey = (lineItemId: unknown, userId: string) => `${String(lineItemId)}|${userId}`;
const sameLabel = (s: string) => s.trim().replace(/\s+/g, ' ').toLowerCase();

export interface Plan {
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
export async function planImport(conn: Connection, cid: Types.ObjectId, parsed: CsvPreviewDoc['parsed'], rows: ParsedRow[], options: PreviewOptions): Promise<Plan> {
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
    const asked = options.maxima[it.key];
    if (asked !== undefined && !(Number.isFinite(asked) && asked > 0)) {
      const ref = { key: 'grades.import.maximumInvalid', params: { label: it.label } };
      throw new ValidationError(inEnglish(ref), { field: it.key }, ref);
    }
    if (it.scoreMaximum !== null) {
      // The file's own maximum can be wrong (a Canvas "Points Possible" left from an earlier version
      // of the assignment, a hand-made "out of" row): the teacher corrects it on the preview. A
      // percentage column stays out of 100: its cells are percentages.
      const correctable = it.maximumFrom === 'file' || it.maximumFrom === 'derived';
      if (correctable && asked !== undefined && asked !== it.scoreMaximum) return { ...base, scoreMaximum: asked, maximumFrom: 'corrected', fileMaximum: it.scoreMaximum, status, lineItemId };
      return { ...base, scoreMaximum: it.scoreMaximum, maximumFrom: it.maximumFrom, status, lineItemId };
    }
    if (asked !== undefined) return { ...base, scoreMaximum: asked, maximumFrom: 'asked', status, lineItemId };
    if (existing) return { ...base, scoreMaximum: existing.scoreMaximum, maximumFrom: 'stored', status, lineItemId };
    return { ...base, scoreMaximum: null, maximumFrom: 'unknown', status, lineItemId };
  });
  // A percentage cell the parser converted with the file's maximum is converted with the corrected one.
  const scoreOf = (row: ParsedRow, i: number): number | null => {
    const s = row.scores[i] ?? null;
    const item = items[i]!;
    return s !== null && row.percents?.[i] && item.maximumFrom === 'corrected' && item.fileMaximum ? (s * item.scoreMaximum!) / item.fileMaximum : s;
  };
  // A maximum the teacher gave (or an earlier import's) must hold every score of the file.
  for (const row of rows) {
    row.scores.forEach((_, i) => {
      const s = scoreOf(row, i);
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
    row.scores.forEach((_, i) => {
      const score = scoreOf(row, i);
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

export function toPreview(doc: Pick<CsvPreviewDoc, '_id' | 'courseId' | 'format' | 'expiresAt' | 'parsed' | 'options'>, plan: Plan): CsvImportPreview {
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
export function planFields(plan: Plan) {
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

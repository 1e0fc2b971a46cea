/**
 * Reading gradebook exports of Moodle, Canvas and Chamilo into one shape: the grade columns (with
 * their maximum when the file tells it), and one row per student with the identifiers the file
 * has (LMS id, SIS id, email, login) and a score per column.
 *
 * Formats (sources and decisions in src/grades/csv/README.md; research/platforms.md §4):
 * - Canvas (lib/gradebook_exporter.rb): `Student, ID, SIS User ID, SIS Login ID, [Integration ID],
 *   Section`, then `"<Assignment> (<id>)"`, then group and course totals (not items). Row 2 is
 *   "Points Possible" (the maxima); a "Manual Posting" row may come before it; "Student, Test" is
 *   Canvas's test student and is skipped. "EX" (excused) and empty cells are "no score".
 * - Moodle (grade/export/txt): profile fields (First name, Last name, ID number, Institution,
 *   Department, Email address), then `"<Module>: <Item> (Real)"` per item and display type
 *   (Real, Percentage, Letter, Feedback), `Course total (Real)` and category totals (not items),
 *   `Last downloaded from this course`. The file has no maxima: with a Percentage column beside
 *   the Real one the maximum is derived (real / percentage); with Percentage alone the score is the
 *   percentage out of 100; with Real alone the maximum is asked in the preview (no default: Apply waits for the answer).
 * - Chamilo 1.11 (gradebook flat view, "Export to CSV"): `;`-separated, no quotes, a trailing `;`
 *   on every line; `First name; Last name; Username; [extra fields]`, then `"<Item> <weight> %"`
 *   per item (a weight, not a maximum), then `TOTAL`. Cells are the raw score by default
 *   (`12.00`), or `x / y`, `p % (x / y)`, `p %` with other score display settings; a custom
 *   label (` - Good`) may follow. Maxima are read from `x / y` cells when present, otherwise asked.
 */
import { parse } from 'csv-parse/sync';
import { GradebookFileError } from './import.errors';
import { decodeText, detectDelimiter } from './decode';
import { cellError, checkRange, clean, findColumn, plainScore, toNumber, type Rec, type ParsedItem, type ParsedRow, type ParsedGradebook } from './gradebook-cells';
import { tryChamilo } from './gradebook-chamilo';

export type { GradebookFormat, ParsedItem, ParsedRow, ParsedGradebook } from './gradebook-cells';

// ---------------------------------------------------------------- Canvas

function tryCanvas(records: Rec[]): Omit<ParsedGradebook, 'encoding' | 'delimiter'> | null {
  const header = records[0]!.cells.map(clean);
  // "Student" (sortable name), or "LastName, FirstName" with the "show first and last names" option.
  const split = header[0] === 'LastName' && header[1] === 'FirstName';
  if ((header[0] !== 'Student' && !split) || !header.includes('ID') || !header.includes('SIS Login ID')) return null;
  const idCol = header.indexOf('ID');
  const sisCol = header.indexOf('SIS User ID');
  const loginCol = header.indexOf('SIS Login ID');
  const assignment = /^(.*\S)\s*\((\d+)\)$/;
  const itemCols: Array<{ col: number; key: string; label: string }> = [];
  header.forEach((h, col) => {
    const m = assignment.exec(h);
    if (m && col > loginCol) itemCols.push({ col, key: `canvas:${m[2]}`, label: m[1]! });
  });
  const warnings: string[] = [];
  const skipped: ParsedGradebook['skipped'] = [];
  let maxima: Array<number | null> = itemCols.map(() => null);
  let pointsRow: number | null = null;
  const students: Rec[] = [];
  for (const rec of records.slice(1)) {
    const first = clean(rec.cells[0]);
    if (first === 'Points Possible') {
      pointsRow = rec.row;
      maxima = itemCols.map(({ col }) => {
        const v = toNumber(clean(rec.cells[col]));
        if (v === null || v < 0) throw cellError(rec.row, header[col]!, `the points possible "${clean(rec.cells[col])}" is not a positive number.`, 'bad_maximum');
        return v;
      });
      continue;
    }
    if (first === '' && rec.cells.some((c) => /^(Manual Posting|Muted)$/i.test(clean(c)))) continue;
    if (first === 'Student, Test' || first === 'Test Student' || (split && first === 'Student' && clean(rec.cells[1]) === 'Test')) {
      skipped.push({ row: rec.row, reason: "Canvas's test student" });
      continue;
    }
    students.push(rec);
  }
  if (pointsRow === null) warnings.push('The file has no "Points Possible" row: the maximum of each column is asked in the preview.');
  const keep = itemCols.map((c, i) => {
    if (maxima[i] === 0) {
      warnings.push(`"${c.label}" has 0 points possible (extra credit or ungraded) and is left out.`);
      return false;
    }
    return true;
  });
  const items: ParsedItem[] = [];
  itemCols.forEach((c, i) => {
    if (keep[i]) items.push({ key: c.key, label: c.label, scoreMaximum: maxima[i]!, maximumFrom: maxima[i] === null ? 'unknown' : 'file', column: header[c.col]! });
  });
  const kept = itemCols.filter((_, i) => keep[i]);
  const rows: ParsedRow[] = students.map((rec) => {
    const scores = kept.map(({ col }, i) => {
      const s = plainScore(rec.cells[col] ?? '', rec.row, header[col]!);
      checkRange(s, items[i]!.scoreMaximum, rec.row, header[col]!);
      return s;
    });
    const name = split ? [clean(rec.cells[1]), clean(rec.cells[0])].filter(Boolean).join(' ') : clean(rec.cells[0]);
    return {
      row: rec.row,
      name: name || undefined,
      userId: clean(rec.cells[idCol]) || undefined,
      sisId: sisCol >= 0 ? clean(rec.cells[sisCol]) || undefined : undefined,
      login: clean(rec.cells[loginCol]) || undefined,
      scores,
    };
  });
  return { format: 'canvas', items, rows, skipped, warnings };
}

// ---------------------------------------------------------------- Moodle

const MOODLE_ITEM = /^(.*\S)\s*\((Real|Percentage|Letter|Feedback)\)$/;
/** `<module name>: <activity>`; mod_lti's module name is "External tool" (mod/lti/lang/en/lti.php `modulename`). */
const MOODLE_EXTERNAL_TOOL = /^External tool:\s*(.+)$/i;

function tryMoodle(records: Rec[]): Omit<ParsedGradebook, 'encoding' | 'delimiter'> | null {
  const header = records[0]!.cells.map(clean);
  const emailCol = findColumn(header, /^Email address$/i);
  const idNumberCol = findColumn(header, /^ID number$/i);
  const usernameCol = findColumn(header, /^Username$/i);
  const firstCol = findColumn(header, /^First name$/i);
  const lastCol = findColumn(header, /^(Last name|Surname)$/i);
  const hasItems = header.some((h) => MOODLE_ITEM.test(h));
  if (!hasItems || (emailCol < 0 && idNumberCol < 0 && usernameCol < 0)) return null;

  const groups = new Map<string, { real?: number; percentage?: number; feedback?: number }>();
  header.forEach((h, col) => {
    const m = MOODLE_ITEM.exec(h);
    if (!m) return;
    const name = m[1]!;
    // The course total and category totals are computed by Moodle, not grade items.
    if (/^Course total$/i.test(name) || /\stotal$/i.test(name)) return;
    const g = groups.get(name) ?? {};
    if (m[2] === 'Real') g.real = col;
    if (m[2] === 'Percentage') g.percentage = col;
    if (m[2] === 'Feedback') g.feedback = col;
    groups.set(name, g);
  });
  const warnings: string[] = [];
  const defs = [...groups.entries()].filter(([name, g]) => {
    if (g.real === undefined && g.percentage === undefined) {
      warnings.push(`"${name}" is exported as letters only and is left out: export it as Real or Percentage.`);
      return false;
    }
    return true;
  });
  const students = records.slice(1);
  const items: ParsedItem[] = defs.map(([name, g]) => {
    const tool = MOODLE_EXTERNAL_TOOL.exec(name)?.[1]?.trim();
    const base = { key: `moodle:${name}`, label: name, ...(tool ? { externalTool: tool } : {}) };
    if (g.real !== undefined && g.percentage !== undefined) {
      // maximum = real / (percentage / 100), the same for every graded row; take the most common.
      const votes = new Map<number, number>();
      for (const rec of students) {
        const real = toNumber(clean(rec.cells[g.real]));
        const pct = toNumber(clean(rec.cells[g.percentage]).replace(/%$/, '').trim());
        if (real === null || pct === null || pct <= 0) continue;
        const max = Math.round(((real * 100) / pct) * 100) / 100;
        votes.set(max, (votes.get(max) ?? 0) + 1);
      }
      const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0];
      if (best) return { ...base, scoreMaximum: best[0], maximumFrom: 'derived' as const, column: header[g.real]! };
      return { ...base, scoreMaximum: null, maximumFrom: 'unknown' as const, column: header[g.real]! };
    }
    // Real alone (Moodle's default export): the file has no maximum; the preview asks for it.
    if (g.real !== undefined) return { ...base, scoreMaximum: null, maximumFrom: 'unknown' as const, column: header[g.real]! };
    return { ...base, scoreMaximum: 100, maximumFrom: 'percentage' as const, column: header[g.percentage!]! };
  });
  const rows: ParsedRow[] = students.map((rec) => {
    const scores = defs.map(([, g], i) => {
      const item = items[i]!;
      const col = g.real ?? g.percentage!;
      const raw = g.real !== undefined ? rec.cells[col] ?? '' : clean(rec.cells[col]).replace(/%$/, '');
      const s = plainScore(raw, rec.row, header[col]!);
      checkRange(s, item.scoreMaximum, rec.row, header[col]!);
      return s;
    });
    const comments = defs.map(([, g]) => (g.feedback !== undefined ? clean(rec.cells[g.feedback]) || null : null));
    const name = [firstCol >= 0 ? clean(rec.cells[firstCol]) : '', lastCol >= 0 ? clean(rec.cells[lastCol]) : ''].filter(Boolean).join(' ');
    return {
      row: rec.row,
      name: name || undefined,
      sisId: idNumberCol >= 0 ? clean(rec.cells[idNumberCol]) || undefined : undefined,
      email: emailCol >= 0 ? clean(rec.cells[emailCol]) || undefined : undefined,
      login: usernameCol >= 0 ? clean(rec.cells[usernameCol]) || undefined : undefined,
      scores,
      comments: comments.some((c) => c !== null) ? comments : undefined,
    };
  });
  return { format: 'moodle', items, rows, skipped: [], warnings };
}

// ---------------------------------------------------------------- Chamilo
// ---------------------------------------------------------------- entry point

const IDENTIFIERS: Array<{ field: 'userId' | 'sisId' | 'email' | 'login'; label: string }> = [
  { field: 'userId', label: 'user id' },
  { field: 'sisId', label: 'SIS id' },
  { field: 'email', label: 'email' },
  { field: 'login', label: 'login' },
];

function checkDuplicates(rows: ParsedRow[]): void {
  for (const { field, label } of IDENTIFIERS) {
    const seen = new Map<string, number>();
    for (const r of rows) {
      const v = r[field]?.toLowerCase();
      if (!v) continue;
      const before = seen.get(v);
      if (before !== undefined) {
        throw new GradebookFileError(`Rows ${before} and ${r.row} are the same student (${label} "${r[field]}"): remove one of them and upload again.`, {
          row: r.row,
          column: label,
          reason: 'duplicate_student',
        });
      }
      seen.set(v, r.row);
    }
  }
}

/**
 * Parses a gradebook export. Throws GradebookFileError naming the row and column at fault for a file
 * that is too large, binary, not a gradebook, or holds a score that is not a number or is outside
 * 0..maximum, or the same student twice.
 */
export function parseGradebookCsv(buffer: Buffer, opts: { maxBytes: number }): ParsedGradebook {
  if (buffer.length > opts.maxBytes) {
    throw new GradebookFileError(`The file is ${(buffer.length / 1048576).toFixed(1)} MB; the limit is ${(opts.maxBytes / 1048576).toFixed(1)} MB.`, {
      reason: 'too_large',
      maxBytes: opts.maxBytes,
    });
  }
  const { text, encoding } = decodeText(buffer);
  const delimiter = detectDelimiter(text);
  let parsed: Array<{ record: string[]; info: { lines: number } }>;
  try {
    parsed = parse(text, { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true }) as unknown as typeof parsed;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new GradebookFileError(`Row ${line ?? '?'}: the file is not valid CSV (${(err as Error).message.replace(/^Invalid [^:]*: /, '')}).`, { row: line, reason: 'bad_csv' });
  }
  const records: Rec[] = parsed.map((p) => ({ row: p.info.lines, cells: p.record }));
  if (records.length === 0) throw new GradebookFileError('Row 1: the file has no header row.', { row: 1, reason: 'not_a_gradebook' });
  const result = tryCanvas(records) ?? tryMoodle(records) ?? tryChamilo(records);
  if (!result) {
    const shown = records[0]!.cells.slice(0, 6).map(clean).join(', ');
    throw new GradebookFileError(
      `Row 1: this is not a gradebook export from Moodle, Canvas or Chamilo (no known header; found "${shown.slice(0, 120)}"). Export the gradebook again: Canvas "Export Entire Gradebook", Moodle "Export > Plain text file", Chamilo "Flat view > Export CSV".`,
      { row: 1, reason: 'not_a_gradebook' },
    );
  }
  if (result.items.length === 0) {
    throw new GradebookFileError('Row 1: the gradebook has no grade column the tool can import.', { row: 1, reason: 'no_items' });
  }
  checkDuplicates(result.rows);
  return { ...result, encoding, delimiter };
}

/**
 * Chamilo 1.11's gradebook flat view, "Export to CSV" (see gradebook-csv.ts for the format):
 * `;`-separated, a weight per item rather than a maximum, cells in several score display styles.
 */
import { cellError, checkRange, clean, findColumn, NO_SCORE, plainScore, toNumber, type ParsedGradebook, type ParsedItem, type ParsedRow, type Rec } from './gradebook-cells';

const CHAMILO_USERNAME = /^(Username|Login|User name|Nombre de usuario|Usuario|Identifiant|Nom d'utilisateur|Login utilisateur|Gebruikersnaam)$/i;
const CHAMILO_FIRST = /^(First name|Firstname|Prénom|Nombre|Nombres|Voornaam)$/i;
const CHAMILO_LAST = /^(Last name|Lastname|Surname|Nom|Apellidos?|Achternaam)$/i;
const CHAMILO_CODE = /^(Official code|Code officiel|Código oficial|Código|Code)$/i;
const CHAMILO_TOTAL = /^(total|gradebook total|total général|total general|totaal|qualification totale|calificación total)$/i;
const CHAMILO_WEIGHTED = /^(.*\S)\s+(\d+(?:[.,]\d+)?)\s*%$/;

/** A Chamilo score cell: `12.00`, `12 / 20`, `60 % (12 / 20)`, `60 %`, each maybe followed by ` - Label`. */
function chamiloCell(raw: string, row: number, column: string): { score: number | null; max: number | null; percent: boolean } {
  let s = clean(raw);
  if (NO_SCORE.has(s.toLowerCase())) return { score: null, max: null, percent: false };
  const div = /(-?[\d.,]+)\s*\/\s*([\d.,]+)/.exec(s);
  if (div) {
    const score = toNumber(div[1]!);
    const max = toNumber(div[2]!);
    if (score === null || max === null) throw cellError(row, column, `"${s.slice(0, 40)}" is not a score.`);
    return { score, max, percent: false };
  }
  s = s.replace(/\s+-\s+.*$/, '');
  const pct = /^(-?[\d.,]+)\s*%$/.exec(s);
  if (pct) {
    const score = toNumber(pct[1]!);
    if (score === null) throw cellError(row, column, `"${s.slice(0, 40)}" is not a score.`);
    return { score, max: 100, percent: true };
  }
  return { score: plainScore(s, row, column), max: null, percent: false };
}

export function tryChamilo(records: Rec[]): Omit<ParsedGradebook, 'encoding' | 'delimiter'> | null {
  const header = records[0]!.cells.map(clean);
  // Every Chamilo line ends with ';', which reads as one empty last column.
  while (header.length && header[header.length - 1] === '') header.pop();
  const userCol = findColumn(header, CHAMILO_USERNAME);
  const firstCol = findColumn(header, CHAMILO_FIRST);
  const lastCol = findColumn(header, CHAMILO_LAST);
  const totalCol = header.length - 1 >= 0 && CHAMILO_TOTAL.test(header[header.length - 1]!) ? header.length - 1 : -1;
  if (userCol < 0 || (firstCol < 0 && lastCol < 0) || totalCol < 0) return null;
  const codeCol = findColumn(header, CHAMILO_CODE);
  const students = records.slice(1).filter((r) => r.cells.some((c) => clean(c) !== ''));
  const start = Math.max(userCol, firstCol, lastCol, codeCol) + 1;
  const warnings: string[] = [];
  const defs: Array<{ col: number; label: string }> = [];
  for (let col = start; col < totalCol; col++) {
    const h = header[col]!;
    const weighted = CHAMILO_WEIGHTED.exec(h);
    if (weighted) {
      defs.push({ col, label: weighted[1]! });
      continue;
    }
    // Without a weight suffix (course score model) a column is an item only if every cell is a score;
    // otherwise it is an extra profile field.
    const scoreLike = students.every((r) => {
      try {
        chamiloCell(r.cells[col] ?? '', r.row, h);
        return true;
      } catch {
        return false;
      }
    });
    if (scoreLike && h) defs.push({ col, label: h });
  }
  const cells = students.map((r) => defs.map(({ col }) => chamiloCell(r.cells[col] ?? '', r.row, header[col]!)));
  const items: ParsedItem[] = defs.map(({ col, label }, i) => {
    const maxima = new Set(cells.map((c) => c[i]!).filter((c) => c.max !== null && !c.percent).map((c) => c.max));
    const allPercent = cells.every((c) => c[i]!.score === null || c[i]!.percent);
    const anyScore = cells.some((c) => c[i]!.score !== null);
    if (maxima.size > 1) warnings.push(`"${label}" shows different maxima (${[...maxima].join(', ')}); the largest is used.`);
    if (maxima.size >= 1) return { key: `chamilo:${label}`, label, scoreMaximum: Math.max(...(maxima as Set<number>)), maximumFrom: 'file' as const, column: header[col]! };
    if (allPercent && anyScore) return { key: `chamilo:${label}`, label, scoreMaximum: 100, maximumFrom: 'percentage' as const, column: header[col]! };
    return { key: `chamilo:${label}`, label, scoreMaximum: null, maximumFrom: 'unknown' as const, column: header[col]! };
  });
  const rows: ParsedRow[] = students.map((rec, r) => {
    const scores = defs.map(({ col }, i) => {
      const c = cells[r]![i]!;
      // A percentage cell in a column whose maximum is known from other cells: convert.
      const score = c.percent && items[i]!.maximumFrom === 'file' && c.score !== null ? (c.score * items[i]!.scoreMaximum!) / 100 : c.score;
      checkRange(score, items[i]!.scoreMaximum, rec.row, header[col]!);
      return score;
    });
    const name = [firstCol >= 0 ? clean(rec.cells[firstCol]) : '', lastCol >= 0 ? clean(rec.cells[lastCol]) : ''].filter(Boolean).join(' ');
    const zeros = scores.map((s) => s === 0);
    const percents = defs.map((_, i) => cells[r]![i]!.percent && items[i]!.maximumFrom === 'file' && cells[r]![i]!.score !== null);
    return {
      row: rec.row,
      name: name || undefined,
      login: clean(rec.cells[userCol]) || undefined,
      sisId: codeCol >= 0 ? clean(rec.cells[codeCol]) || undefined : undefined,
      scores,
      ...(zeros.some(Boolean) ? { zeros } : {}),
      ...(percents.some(Boolean) ? { percents } : {}),
    };
  });
  return { format: 'chamilo', items, rows, skipped: [], warnings };
}

/** The parsed shape of a gradebook export, and the cell readers the three formats share. */
import { GradebookFileError, type GradebookFileReason } from './import.errors';
import type { Delimiter, TextEncoding } from './decode';

export type GradebookFormat = 'canvas' | 'moodle' | 'chamilo';

export interface ParsedItem {
  /** Stable key of the column (becomes the CSV line item's externalId), e.g. `canvas:1234`. */
  key: string;
  label: string;
  /** null: the file does not say; the preview asks, with no default (nothing applies until answered). */
  scoreMaximum: number | null;
  /** Where the maximum comes from: the file, derived from a percentage column, 100 for percentages, or unknown. */
  maximumFrom: 'file' | 'derived' | 'percentage' | 'unknown';
  /** The header of the column the scores come from, for messages. */
  column: string;
  /**
   * Moodle only: the column is `External tool: <name> (Real)`, the grade item of one of this
   * tool's own activities, which the tool also reads over AGS as line item `<name>`.
   */
  externalTool?: string;
}

export interface ParsedRow {
  /** Line number in the file (1 = header). */
  row: number;
  name?: string;
  /** The LMS's own user id when the file has one (Canvas "ID"). */
  userId?: string;
  sisId?: string;
  email?: string;
  /** Login or username (Canvas "SIS Login ID", Chamilo "Username"), often an email. */
  login?: string;
  /** One entry per item, in `items` order; null = no score in the file. */
  scores: Array<number | null>;
  comments?: Array<string | null>;
  /**
   * Chamilo only: which cells hold a 0. Its "only numbers" export writes a missing result as 0 %,
   * and its grading forms pre-fill every box with 0, so such a 0 is either a real zero or "not
   * graded"; only the teacher can say which (see the preview).
   */
  zeros?: boolean[];
  /**
   * Chamilo only: which cells were a percentage ("60 %") in a column whose maximum the file gives
   * by its other cells ("12 / 20"), and so were converted with that maximum: a maximum the teacher
   * corrects on the preview converts them again (60 % stays 60 %).
   */
  percents?: boolean[];
}

export interface ParsedGradebook {
  format: GradebookFormat;
  encoding: TextEncoding;
  delimiter: Delimiter;
  items: ParsedItem[];
  rows: ParsedRow[];
  /** Rows deliberately left out (Canvas's test student, empty lines of names). */
  skipped: Array<{ row: number; reason: string }>;
  warnings: string[];
}

export type Cells = string[];
export interface Rec {
  row: number;
  cells: Cells;
}

export const clean = (s: string | undefined) => (s ?? '').replace(/^\ufeff/, '').replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim();

export function cellError(row: number, column: string, message: string, reason: GradebookFileReason = 'bad_score'): GradebookFileError {
  return new GradebookFileError(`Row ${row}, column "${column}": ${message}`, { row, column, reason });
}

export const NO_SCORE = new Set(['', '-', '–', '—', 'ex', 'excused', 'n/a', 'na']);

/** A decimal number with `.` or `,` as decimal separator; null when it is not one. */
export function toNumber(raw: string): number | null {
  const s = raw.replace(/\s/g, '');
  if (!/^[+-]?(\d+([.,]\d+)?|[.,]\d+)$/.test(s)) return null;
  return Number(s.replace(',', '.'));
}

/** Reads a plain score cell: a number, or "no score" (empty, "-", Canvas "EX"). */
export function plainScore(raw: string, row: number, column: string): number | null {
  const s = clean(raw);
  if (NO_SCORE.has(s.toLowerCase())) return null;
  const n = toNumber(s);
  if (n === null) throw cellError(row, column, `"${s.slice(0, 40)}" is not a number.`);
  return n;
}

export function checkRange(score: number | null, max: number | null, row: number, column: string): void {
  if (score === null) return;
  if (score < 0) throw cellError(row, column, `${score} is below 0.`, 'out_of_range');
  if (max !== null && score > max + 1e-9) throw cellError(row, column, `${score} is above the maximum ${max}.`, 'out_of_range');
}

export function findColumn(header: Cells, ...patterns: RegExp[]): number {
  return header.findIndex((h) => patterns.some((p) => p.test(h)));
}

/**
 * The course gradebook as each platform's own export writes it, byte for byte in shape (compared
 * with files downloaded from a real Moodle 4.5.6 and Chamilo 1.11.28 under
 * test/fixtures/csv/real/, and with Canvas's lib/gradebook_exporter.rb):
 *
 * - Moodle, grade/export/txt (Grades › Export › Plain text file, defaults: comma, 2 decimals, Real,
 *   suspended users left out): `"First name","Last name","ID number",Institution,Department,
 *   "Email address"`, one `<Module>: <item> (Real)` column per item (`Quiz:`, `Assignment:`,
 *   `External tool:`; manual items without prefix), `Course total (Real)`, `Last downloaded from
 *   this course` (Unix time); `-` for ungraded; no maximum anywhere (with "Real" and "Percentage"
 *   ticked, `withPercentage`, each `(Real)` column is followed by its `(Percentage)` one, `"80.00 %"`); a cell is quoted only when it
 *   holds a space (or a comma or quote); LF line ends; rows by last name.
 * - Canvas, lib/gradebook_exporter.rb: UTF-8 BOM, `Student,ID,SIS User ID,SIS Login ID,Section`,
 *   `<assignment> (<id>)` per assignment, the assignment group's and the course's Current/Final
 *   Points and Scores, a second row `    Points Possible` with each maximum and `(read only)` under
 *   the computed columns; ungraded = empty; CRLF.
 * - Chamilo, main/gradebook/gradebook_flatview.php CSV export: `Code;First name;Last name;Username;
 *   <item> <weight> % ;…;TOTAL;` with the raw score in each cell, the weight (not the maximum) in
 *   the header, an empty cell for a missing result, TOTAL = Σ score/max × weight over the
 *   category's 100, rounded to an integer, semicolons, a trailing `;`, CRLF, teachers left out; `onlyScore` = the "Only numbers"
 *   variant, every cell a percentage and a missing result written `0 %`.
 */
import { principalRole } from './lti-vocabulary';
import type { GradeItemModule, SandboxCourse, SandboxLineItem, SandboxMember, SandboxStore } from './sandbox.store';

export type ExportFormat = 'moodle' | 'canvas' | 'chamilo';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['moodle', 'canvas', 'chamilo'];

export interface GradebookExport {
  filename: string;
  contentType: string;
  body: Buffer;
}

const MOODLE_PREFIX: Record<GradeItemModule, string> = { quiz: 'Quiz: ', assign: 'Assignment: ', lti: 'External tool: ', manual: '' };

const fixed2 = (n: number) => n.toFixed(2);
const pad = (n: number) => String(n).padStart(2, '0');

/** The export format a course's platform writes (the standard mode writes Moodle's). */
export function exportFormatOf(course: SandboxCourse): ExportFormat {
  return course.quirks === 'canvas' || course.quirks === 'chamilo' ? course.quirks : 'moodle';
}

/** Learners listed in an export: active learners, by last name then first name. */
function learnersOf(store: SandboxStore, course: SandboxCourse): SandboxMember[] {
  return store
    .listMembers(course.id)
    .filter((m) => m.status === 'Active' && m.roles.some((r) => principalRole(r) === 'Learner'))
    .sort((a, b) => a.familyName.localeCompare(b.familyName, 'en') || a.givenName.localeCompare(b.givenName, 'en'));
}

/** A learner's score on the item's own scale, or null when not graded. */
function scoreOf(store: SandboxStore, course: SandboxCourse, item: SandboxLineItem, userId: string): number | null {
  const r = store.getResult(course.id, item.id, userId);
  if (!r) return null;
  return r.scoreMaximum === item.scoreMaximum ? r.scoreGiven : (r.scoreGiven / r.scoreMaximum) * item.scoreMaximum;
}

/** Moodle's txt export quoting: a cell is quoted when it holds a space, the separator or a quote. */
function moodleCell(value: string): string {
  return /[ ,"]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Canvas (Ruby CSV): quoted only when it holds the separator, a quote or a line break. */
function rfcCell(value: string): string {
  return /[,"\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Moodle's percentage cell: `"80.00 %"` (quoted: it holds a space), `-` when ungraded. */
const moodlePercent = (score: number | null, max: number) => (score === null || max <= 0 ? '-' : `${fixed2((score / max) * 100)} %`);

function moodleExport(store: SandboxStore, course: SandboxCourse, items: SandboxLineItem[], now: Date, withPercentage: boolean): GradebookExport {
  const columns = (name: string) => (withPercentage ? [`${name} (Real)`, `${name} (Percentage)`] : [`${name} (Real)`]);
  const header = ['First name', 'Last name', 'ID number', 'Institution', 'Department', 'Email address', ...items.flatMap((i) => columns(`${MOODLE_PREFIX[i.module]}${i.label}`)), ...columns('Course total'), 'Last downloaded from this course'];
  const stamp = String(Math.floor(now.getTime() / 1000));
  const lines = [header.map(moodleCell).join(',')];
  for (const m of learnersOf(store, course)) {
    let total = 0;
    let totalMax = 0;
    let graded = false;
    const cells = items.flatMap((item) => {
      const s = scoreOf(store, course, item, m.id);
      if (s !== null) {
        total += s;
        totalMax += item.scoreMaximum;
        graded = true;
      }
      const real = s === null ? '-' : fixed2(s);
      return withPercentage ? [real, moodlePercent(s, item.scoreMaximum)] : [real];
    });
    // "Natural" aggregation with "Exclude empty grades": the sum of the graded items, out of their maxima.
    const totalCells = withPercentage ? [graded ? fixed2(total) : '-', moodlePercent(graded ? total : null, totalMax)] : [graded ? fixed2(total) : '-'];
    lines.push([m.givenName, m.familyName, m.sourcedId, '', '', m.email, ...cells, ...totalCells, stamp].map(moodleCell).join(','));
  }
  const d = now;
  const filename = `${course.label} Grades-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}_${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}-comma_separated.csv`;
  return { filename, contentType: 'text/csv; charset=UTF-8', body: Buffer.from(lines.join('\n') + '\n', 'utf8') };
}

function canvasExport(store: SandboxStore, course: SandboxCourse, items: SandboxLineItem[], now: Date): GradebookExport {
  const totals = ['Current Points', 'Final Points', 'Current Score', 'Unposted Current Score', 'Final Score', 'Unposted Final Score'];
  const header = ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section', ...items.map((i) => `${i.label} (${i.id})`), ...totals.map((t) => `Assignments ${t}`), ...totals];
  const possibleRow = ['    Points Possible', '', '', '', '', ...items.map((i) => fixed2(i.scoreMaximum)), ...[...totals, ...totals].map(() => '(read only)')];
  const lines = [header.map(rfcCell).join(','), possibleRow.map(rfcCell).join(',')];
  const allPossible = items.reduce((sum, i) => sum + i.scoreMaximum, 0);
  for (const m of learnersOf(store, course)) {
    let points = 0;
    let gradedPossible = 0;
    const cells = items.map((item) => {
      const s = scoreOf(store, course, item, m.id);
      if (s === null) return '';
      points += s;
      gradedPossible += item.scoreMaximum;
      return fixed2(s);
    });
    const current = gradedPossible > 0 ? fixed2((points / gradedPossible) * 100) : '';
    const final = allPossible > 0 ? fixed2((points / allPossible) * 100) : '';
    const group = [fixed2(points), fixed2(points), current, current, final, final];
    lines.push([`${m.familyName}, ${m.givenName}`, m.id, m.sourcedId, m.email, course.title, ...cells, ...group, ...group].map(rfcCell).join(','));
  }
  const d = now;
  const filename = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}_Grades-${course.label}.csv`;
  return { filename, contentType: 'text/csv; charset=utf-8', body: Buffer.from('\uFEFF' + lines.join('\r\n') + '\r\n', 'utf8') };
}

/** Chamilo's weights: the item's own when set, else equal shares of 100 among the unweighted ones. */
function chamiloWeights(items: SandboxLineItem[]): number[] {
  const unweighted = items.filter((i) => i.weight === undefined).length;
  const share = unweighted ? Math.round((100 / unweighted) * 100) / 100 : 0;
  return items.map((i) => i.weight ?? share);
}

/** Chamilo prints numbers without trailing zeros (`16`, `24.5`). */
function chamiloNumber(n: number): string {
  return String(Math.round(n * 100) / 100);
}

function chamiloExport(store: SandboxStore, course: SandboxCourse, items: SandboxLineItem[], now: Date, onlyScore: boolean): GradebookExport {
  const weights = chamiloWeights(items);
  const header = ['Code', 'First name', 'Last name', 'Username', ...items.map((i, k) => `${i.label} ${chamiloNumber(weights[k]!)} % `), 'TOTAL'];
  const lines = [header.join(';') + ';'];
  for (const m of learnersOf(store, course)) {
    let total = 0;
    const cells = items.map((item, k) => {
      const s = scoreOf(store, course, item, m.id);
      if (s !== null) total += (s / item.scoreMaximum) * weights[k]!;
      if (onlyScore) return `${s === null ? 0 : Math.round((s / item.scoreMaximum) * 100)} %`;
      return s === null ? '' : chamiloNumber(s);
    });
    // Σ score/max × weight over the category's weight (100): the tool's own "Certificates"
    // evaluation (weight 100) does not lower it while empty (real export, fixtures/csv/real/README.md).
    const percent = Math.round(total);
    lines.push([m.sourcedId, m.givenName, m.familyName, m.username, ...cells, onlyScore ? `${percent} %` : String(percent)].join(';') + ';');
  }
  const d = now;
  const filename = `gradebook_results_${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.csv`;
  return { filename, contentType: 'application/force-download', body: Buffer.from(lines.join('\r\n') + '\r\n', 'utf8') };
}

/** The course gradebook as `format` exports it (hidden columns included, as the teacher's export does). */
export function exportGradebook(store: SandboxStore, courseId: string, format: ExportFormat, now: Date, opts: { onlyScore?: boolean; withPercentage?: boolean } = {}): GradebookExport {
  const course = store.requireCourse(courseId);
  const items = store.listLineItems(course.id);
  if (format === 'canvas') return canvasExport(store, course, items, now);
  if (format === 'chamilo') return chamiloExport(store, course, items, now, opts.onlyScore === true);
  return moodleExport(store, course, items, now, opts.withPercentage === true);
}

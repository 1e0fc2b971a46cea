/**
 * The typed errors of a gradebook import. Pages choose their message by class (and by `reason`
 * for a refused file), never by reading a message or a details string; each preview error also
 * carries its message key, so wherever else it surfaces (the error page, JSON) it reads the same.
 */
import { ConflictError, NotFoundError, ValidationError } from '../../errors';
import { inEnglish } from '../../i18n/english';

/** Why a file is refused; each has a message key `grades.import.error.<reason>`. */
export type GradebookFileReason =
  | 'too_large'
  | 'empty'
  | 'workbook'
  | 'encoding'
  | 'binary'
  | 'bad_csv'
  | 'not_a_gradebook'
  | 'no_items'
  | 'duplicate_student'
  | 'bad_score'
  | 'out_of_range'
  | 'bad_maximum';

/** A gradebook file the tool cannot read, located by row and column where it can be. */
export class GradebookFileError extends ValidationError {
  readonly reason: GradebookFileReason;
  readonly row?: number;
  readonly column?: string;

  constructor(message: string, where: { reason: GradebookFileReason; row?: number; column?: string; [k: string]: unknown }) {
    super(message, where);
    this.reason = where.reason;
    this.row = where.row;
    this.column = where.column;
  }
}

/** The preview is unknown in this course, or expired before it was applied. */
export class PreviewNotFoundError extends NotFoundError {
  constructor() {
    const ref = { key: 'grades.preview.notFound' };
    super(inEnglish(ref), { what: 'import preview' }, ref);
  }
}

/** The preview was applied already (a double click, a second tab). */
export class PreviewAlreadyAppliedError extends ConflictError {
  constructor() {
    const ref = { key: 'grades.apply.alreadyApplied' };
    super(inEnglish(ref), { what: 'import preview' }, ref);
  }
}

/** Grades this import would change were changed since the preview was shown. */
export class StalePreviewError extends ConflictError {
  readonly conflicts: number;
  constructor(conflicts: number) {
    const ref = { key: 'grades.apply.stale', params: { n: conflicts } };
    super(inEnglish(ref), { conflicts }, ref);
    this.conflicts = conflicts;
  }
}

/** Apply was asked before every column has a maximum (Moodle's "Real" export gives none). */
export class MaximaMissingError extends ValidationError {
  readonly labels: string[];
  constructor(labels: string[]) {
    const ref = { key: 'grades.apply.maximaMissing', params: { columns: labels.join(', '), n: labels.length } };
    super(inEnglish(ref), { labels }, ref);
    this.labels = labels;
  }
}

/**
 * The typed errors of a gradebook import. Pages choose their message by class (and by `reason`
 * for a refused file), never by reading a message or a details string.
 */
import { ConflictError, NotFoundError, ValidationError } from '../../errors';

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
    super('This import preview has expired or does not exist: upload the file again.', { what: 'import preview' });
  }
}

/** The preview was applied already (a double click, a second tab). */
export class PreviewAlreadyAppliedError extends ConflictError {
  constructor() {
    super('This import was already applied.', { what: 'import preview' });
  }
}

/** Grades this import would change were changed since the preview was shown. */
export class StalePreviewError extends ConflictError {
  readonly conflicts: number;
  constructor(conflicts: number) {
    super(`${conflicts} of the grades this import would change were changed since the preview: upload the file again to see a fresh preview.`, { conflicts });
    this.conflicts = conflicts;
  }
}

/** Apply was asked before every column has a maximum (Moodle's "Real" export gives none). */
export class MaximaMissingError extends ValidationError {
  readonly labels: string[];
  constructor(labels: string[]) {
    super(`Enter the maximum of ${labels.map((l) => `"${l}"`).join(', ')} before applying: the file does not give it.`, { labels });
    this.labels = labels;
  }
}

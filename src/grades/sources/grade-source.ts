/**
 * The grade-source seam. A grade source is one way the course's grades reach the tool: the
 * platform's AGS/NRPS services, Moodle web services, Chamilo's gradebook, a gradebook CSV file
 * Canvas REST (canvas.source.ts). Each yields the same normalized columns, results and (optionally)
 * roster, and the generic sync (../sync.service.ts) stores them through the write planners
 * (../grade-writes.ts): history, the run record, stale detection and the automatic re-issue are
 * then the same whichever source changed. A new platform is a new `<name>.source.ts` here, not a
 * new branch in the sync. How to write one: /work/notes/gradesrc.md and ./README.md.
 */
import type { MessageRef } from '../../errors';
import type { IncomingLineItem, IncomingMember, IncomingScore } from '../grade-writes';

/** Where a column and its results came from (stored on line items, results and sync runs). */
export type GradeSourceKind = 'ags' | 'moodle' | 'chamilo' | 'canvas' | 'csv';

/** How each source is named to teachers and learners (product names: the same in every language). */
export const GRADE_SOURCE_LABELS: Record<GradeSourceKind, string> = { ags: 'AGS', moodle: 'Moodle', chamilo: 'Chamilo', canvas: 'Canvas', csv: 'CSV' };

/** Every kind, for schema enums and validation. */
export const GRADE_SOURCE_KINDS = ['ags', 'moodle', 'chamilo', 'canvas', 'csv'] as const satisfies readonly GradeSourceKind[];

/** What a column is in the LMS gradebook. */
export type ColumnKind = 'activity' | 'category' | 'course-total';

export const COLUMN_KINDS = ['activity', 'category', 'course-total'] as const satisfies readonly ColumnKind[];

/**
 * A column as a source reports it. `externalId` is stable within the source (AGS: the line item
 * URL; Moodle: the grade item id; CSV: the column key). `resourceLinkId` is set when the column
 * belongs to one of the tool's own resource links (AGS `resourceLinkId`, Moodle's
 * `External tool` activity of this tool): that is how the same activity reached two ways is
 * recognised as one, and how the tool's own launcher is kept out of "all activities".
 */
export interface SourceLineItem extends IncomingLineItem {
  /** Default `activity`. */
  kind?: ColumnKind;
  /** The weight the LMS gives the column in its course total, when it says (Moodle `weightraw`, Chamilo's header). */
  weight?: number;
  /** Hidden from learners in the LMS gradebook. */
  hidden?: boolean;
}

/** One learner's result on one column; `scoreGiven: null` = listed but not graded. */
export type SourceResult = IncomingScore;

/** The results of one column, as one batch. */
export interface ResultBatch {
  /** The column's `externalId`. */
  externalId: string;
  results: SourceResult[];
  /**
   * True when `results` is every result the LMS has for this column (for the learner asked, when
   * `userId` was given): stored results absent from a complete batch are cleared (grade deleted
   * in the LMS). A batch with item errors, or read halfway, is not complete.
   */
  complete: boolean;
}

/** What a source receives from the sync while it works. */
export interface SourceContext {
  signal?: AbortSignal;
  /**
   * One problem (a malformed item, a refused page); the run goes on and ends `partial`. `message`
   * is English (logs); `translated`, when given, is what the teacher's pages show instead.
   */
  error(kind: string, message: string, item?: unknown, translated?: MessageRef): void;
  /**
   * A failed step that should not stop the others (one column's results): an AppError is
   * recorded under `kind`, anything else (a programming or database error) is rethrown.
   */
  failure(kind: string, err: unknown): void;
  /** Progress of the roster step: people read so far. */
  rosterProgress(done: number): Promise<void>;
  /** Set in a learner's refresh: only this learner's results are wanted (a source may ask its API for them alone). */
  userId?: string;
}

export interface ColumnListing {
  items: SourceLineItem[];
  /** True when every column of the source is in `items`: the absent stored ones are marked removed. */
  complete: boolean;
}

export interface RosterListing {
  members: IncomingMember[];
  /** True when the whole roster was read: the absent stored members are marked `left`. */
  complete: boolean;
  /** The listing stopped on an error (recorded through `ctx.failure`); `members` is what was read before. */
  failed?: boolean;
}

export interface ResultsRequest {
  /** The columns whose results are wanted (from `lineItems()`, those stored and current). */
  items: readonly SourceLineItem[];
  /** Only this learner (a learner's own refresh at launch). */
  userId?: string;
  /** How many requests at a time the source may make (AGS: 4 for a course, 6 for a learner). */
  concurrency: number;
}

/**
 * A grade source. Methods throw an AppError (platform-errors.ts) when the whole step fails —
 * `SourceUnavailableError` when the source cannot serve this course at all — and report smaller
 * problems through `ctx`. They never write to the database: the sync does.
 */
export interface GradeSource {
  readonly kind: GradeSourceKind;
  /** The course roster, when the source has one (AGS: NRPS). */
  roster?(ctx: SourceContext): Promise<RosterListing>;
  /** Every column the source shows for the course. */
  lineItems(ctx: SourceContext): Promise<ColumnListing>;
  /**
   * The results of the requested columns, handed to `sink` one column at a time, in any order
   * (per column for AGS; a source whose API returns all columns per learner, like Moodle's
   * `gradereport_user_get_grade_items`, regroups them). Call `sink` once per column at most; a
   * column never passed to `sink` keeps what is stored.
   */
  results(ctx: SourceContext, req: ResultsRequest, sink: (batch: ResultBatch) => Promise<void>): Promise<void>;
}

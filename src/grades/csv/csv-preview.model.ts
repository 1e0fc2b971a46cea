/**
 * A CSV import preview kept on the server between "preview" and "apply", so that Apply applies
 * exactly what the teacher was shown. It keeps the parsed file too, so that the teacher can
 * answer what the file cannot say (a column's maximum, whether Chamilo's 0 is a real zero) and
 * see the preview again without uploading the file again. Expires after `expiresAt` (TTL index;
 * apply also checks the date, for engines that sweep late). Applied once.
 *
 * Personal data kept here and in its parts, for at most the TTL: the file's names and identifiers per row.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { GradebookFormat, ParsedGradebook } from './gradebook-csv';

/**
 * Where a column's maximum comes from. `asked`: typed in the preview; `stored`: the column's maximum
 * from an earlier import; `corrected`: the file gives one (or it is derived from the file) and the
 * teacher typed another in the preview (`fileMaximum` keeps the file's).
 */
export type MaximumFrom = 'file' | 'derived' | 'percentage' | 'asked' | 'stored' | 'corrected' | 'unknown';

export interface StoredPreviewItem {
  key: string;
  label: string;
  column: string;
  /** null: not known yet; the preview cannot be applied until the teacher enters it. */
  scoreMaximum: number | null;
  maximumFrom: MaximumFrom;
  /** With `maximumFrom: 'corrected'`: the maximum the file gave. */
  fileMaximum?: number;
  /** new: becomes a new column; existing: updates a column imported before; ags: the tool's own AGS line item, not imported. */
  status: 'new' | 'existing' | 'ags';
  lineItemId?: string;
  /** For `status: 'ags'`: the AGS line item this column is the same activity as. */
  sameAs?: { lineItemId: string; label: string };
  /** A score in the file above the maximum given for it. */
  aboveMaximum?: { row: number; score: number };
}

/** One planned score change: [userId, item index, old score, old maximum, new score, new maximum]; old maximum null = new result. */
export type StoredChange = [string, number, number | null, number | null, number, number];

export interface PreviewOptions {
  /** Maxima the teacher entered, by item key. */
  maxima: Record<string, number>;
  /** Chamilo: the teacher confirmed that a 0 in this file is a real zero, not "not graded". */
  zeroIsReal: boolean;
}

export interface MatchedRowView {
  row: number;
  userId: string;
  name?: string;
  by: 'userId' | 'sisId' | 'email' | 'username' | 'login';
}

export interface UnmatchedRowView {
  row: number;
  name?: string;
  identifiers: { userId?: string; sisId?: string; email?: string; login?: string };
  reason: 'no_member' | 'ambiguous' | 'duplicate';
  /** For `duplicate`: the earlier row naming the same member. */
  earlierRow?: number;
}

export interface PreviewCounts {
  rows: number;
  matched: number;
  unmatched: number;
  changes: number;
  unchanged: number;
  newItems: number;
  /** Chamilo cells holding 0 for matched learners (real zero or "not graded"). */
  zeros: number;
}

export interface CsvPreviewDoc {
  _id: string;
  courseId: Types.ObjectId;
  format: GradebookFormat;
  /** The file as read (its rows are in `csvimportpreviewparts`), to revise the plan when the teacher answers its questions. */
  parsed: Pick<ParsedGradebook, 'format' | 'encoding' | 'delimiter' | 'items' | 'skipped' | 'warnings'>;
  fileName?: string;
  uploadedBy: { userId: string; name?: string };
  options: PreviewOptions;
  items: StoredPreviewItem[];
  /** The planned changes are in `csvimportpreviewparts` under this version (bumped by each revision). */
  planVersion: number;
  unchanged: number;
  matched: MatchedRowView[];
  unmatched: UnmatchedRowView[];
  counts: PreviewCounts;
  /** Every column has a maximum: the preview can be applied. */
  ready: boolean;
  /** No member of the roster had a known username when the preview was made. */
  noUsernames: boolean;
  /** What this import changes for certificates, when the plan is complete (see the web layer). */
  impact?: unknown;
  createdAt: Date;
  revisedAt?: Date;
  expiresAt: Date;
  appliedAt?: Date | null;
  /** The sync run the apply recorded. */
  runId?: string;
  /** What the stale check and automatic re-issue after the import did. */
  afterImport?: unknown;
}

const schema = new Schema<CsvPreviewDoc>(
  {
    _id: { type: String, required: true },
    courseId: { type: Schema.Types.ObjectId, required: true },
    format: { type: String, required: true },
    parsed: Schema.Types.Mixed,
    fileName: String,
    uploadedBy: Schema.Types.Mixed,
    options: Schema.Types.Mixed,
    items: { type: Schema.Types.Mixed, default: [] },
    planVersion: Number,
    unchanged: Number,
    matched: { type: Schema.Types.Mixed, default: [] },
    unmatched: { type: Schema.Types.Mixed, default: [] },
    counts: Schema.Types.Mixed,
    ready: Boolean,
    noUsernames: Boolean,
    impact: Schema.Types.Mixed,
    createdAt: { type: Date, required: true },
    revisedAt: Date,
    expiresAt: { type: Date, required: true },
    appliedAt: { type: Date, default: null },
    runId: String,
    afterImport: Schema.Types.Mixed,
  },
  { collection: 'csvimportpreviews', _id: false },
);
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function csvPreviewModel(conn: Connection): Model<CsvPreviewDoc> {
  return (conn.models.CsvImportPreview as Model<CsvPreviewDoc>) ?? conn.model<CsvPreviewDoc>('CsvImportPreview', schema);
}

/**
 * The large parts of a preview — the file's rows and the planned changes — in chunks of their own
 * documents, so that a large course's gradebook (a 5 MB upload holds some 600,000 scores) never
 * meets MongoDB's 16 MB document limit. Tagged with the plan version they belong to; they expire
 * with their preview.
 */
export interface CsvPreviewPartDoc {
  previewId: string;
  kind: 'rows' | 'changes';
  /** The plan version (`CsvPreviewDoc.planVersion`) for changes; 0 for rows, which never change. */
  version: number;
  n: number;
  data: unknown[];
  /** For changes: comments by change index within the chunk. */
  comments?: Record<string, string>;
  expiresAt: Date;
}

const partSchema = new Schema<CsvPreviewPartDoc>(
  {
    previewId: { type: String, required: true },
    kind: { type: String, required: true },
    version: { type: Number, required: true },
    n: { type: Number, required: true },
    data: { type: Schema.Types.Mixed, default: [] },
    comments: Schema.Types.Mixed,
    expiresAt: { type: Date, required: true },
  },
  { collection: 'csvimportpreviewparts' },
);
partSchema.index({ previewId: 1, kind: 1, version: 1, n: 1 }, { unique: true });
partSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function csvPreviewPartModel(conn: Connection): Model<CsvPreviewPartDoc> {
  return (conn.models.CsvImportPreviewPart as Model<CsvPreviewPartDoc>) ?? conn.model<CsvPreviewPartDoc>('CsvImportPreviewPart', partSchema);
}

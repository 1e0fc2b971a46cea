/**
 * A CSV import preview kept on the server between "preview" and "apply", so that Apply applies
 * exactly what the teacher was shown. It keeps the parsed file too, so that the teacher can
 * answer what the file cannot say (a column's maximum, whether Chamilo's 0 is a real zero) and
 * see the preview again without uploading the file again. Expires after `expiresAt` (TTL index;
 * apply also checks the date, for engines that sweep late). Applied once.
 *
 * Personal data kept here, for at most the TTL: the file's names and identifiers per row.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { GradebookFormat, ParsedGradebook } from './gradebook-csv';

/** Where a column's maximum comes from. `asked`: typed in the preview; `stored`: the column's maximum from an earlier import. */
export type MaximumFrom = 'file' | 'derived' | 'percentage' | 'asked' | 'stored' | 'unknown';

export interface StoredPreviewItem {
  key: string;
  label: string;
  column: string;
  /** null: not known yet; the preview cannot be applied until the teacher enters it. */
  scoreMaximum: number | null;
  maximumFrom: MaximumFrom;
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
  /** The file as read, to revise the plan when the teacher answers its questions. */
  parsed: Pick<ParsedGradebook, 'format' | 'encoding' | 'delimiter' | 'items' | 'rows' | 'skipped' | 'warnings'>;
  fileName?: string;
  uploadedBy: { userId: string; name?: string };
  options: PreviewOptions;
  items: StoredPreviewItem[];
  changes: StoredChange[];
  /** Comments per change index, when the file had feedback. */
  comments?: Record<string, string>;
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
    changes: { type: Schema.Types.Mixed, default: [] },
    comments: Schema.Types.Mixed,
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

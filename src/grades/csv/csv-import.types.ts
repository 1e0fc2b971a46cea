/** What a gradebook CSV import shows and takes: the stored preview, its score changes, the options. */
import type { MatchedRowView, PreviewCounts, PreviewOptions, StoredPreviewItem, UnmatchedRowView } from './csv-preview.model';
import type { GradebookFormat, ParsedGradebook } from './gradebook-csv';

export type MatchedBy = MatchedRowView['by'];

export interface CsvScoreChange {
  row: number;
  userId: string;
  name?: string;
  key: string;
  label: string;
  old: { scoreGiven: number | null; scoreMaximum: number } | null;
  new: { scoreGiven: number; scoreMaximum: number };
}

/**
 * What applying the preview would write, in the shape the certificates' impact preview reads:
 * existing line items by id, new ones by a provisional id `new:<key>`.
 */
export interface ProposedGrades {
  newLineItems: Array<{ id: string; label: string; scoreMaximum: number }>;
  results: Array<{ userId: string; lineItemId: string; scoreGiven: number; scoreMaximum: number }>;
}

export interface CsvImportPreview {
  /** Give this back to `reviseCsvPreview` / `applyCsvImport`. */
  id: string;
  courseId: string;
  format: GradebookFormat;
  expiresAt: Date;
  items: StoredPreviewItem[];
  matched: MatchedRowView[];
  unmatched: UnmatchedRowView[];
  changes: CsvScoreChange[];
  counts: PreviewCounts;
  skipped: ParsedGradebook['skipped'];
  warnings: string[];
  options: PreviewOptions;
  /** Every column has a maximum: Apply is possible. */
  ready: boolean;
  /** Labels of the columns whose maximum the teacher still has to enter. */
  missingMaxima: string[];
  /** No member of the roster has a known username yet (Chamilo's file names learners by it). */
  noUsernames: boolean;
  proposal: ProposedGrades;
}

export interface PreviewCreateOptions {
  /** Maxima the teacher typed for columns whose maximum the file does not give, by item key. */
  maxima?: Record<string, number>;
  zeroIsReal?: boolean;
  fileName?: string;
  uploadedBy?: { userId: string; name?: string };
  now?: () => Date;
  /** How long the preview can be confirmed (default 30 minutes). */
  ttlMs?: number;
  newId?: () => string;
}

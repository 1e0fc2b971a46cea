/**
 * A CSV import preview kept on the server between "preview" and "confirm", so that the
 * confirmation applies exactly what the teacher was shown. Expires after `expiresAt`
 * (TTL index; apply also checks the date, for engines that sweep late). Used once.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { GradebookFormat } from './gradebook-csv';

export interface StoredPreviewItem {
  key: string;
  label: string;
  scoreMaximum: number;
}

/** One planned score change: [userId, item index, old score, old maximum, new score, new maximum]; old null = new result. */
export type StoredChange = [string, number, number | null, number | null, number, number];

export interface CsvPreviewDoc {
  _id: string;
  courseId: Types.ObjectId;
  format: GradebookFormat;
  items: StoredPreviewItem[];
  changes: StoredChange[];
  /** Comments per change index, when the file had feedback. */
  comments?: Record<string, string>;
  unchanged: number;
  matched: number;
  unmatched: Array<{ row: number; name?: string; reason: string }>;
  createdAt: Date;
  expiresAt: Date;
  appliedAt?: Date | null;
}

const schema = new Schema<CsvPreviewDoc>(
  {
    _id: { type: String, required: true },
    courseId: { type: Schema.Types.ObjectId, required: true },
    format: { type: String, required: true },
    items: { type: [{ key: String, label: String, scoreMaximum: Number, _id: false }], default: [] },
    changes: { type: Schema.Types.Mixed, default: [] },
    comments: Schema.Types.Mixed,
    unchanged: Number,
    matched: Number,
    unmatched: { type: [{ row: Number, name: String, reason: String, _id: false }], default: [] },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    appliedAt: { type: Date, default: null },
  },
  { collection: 'csvimportpreviews', _id: false },
);
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function csvPreviewModel(conn: Connection): Model<CsvPreviewDoc> {
  return (conn.models.CsvImportPreview as Model<CsvPreviewDoc>) ?? conn.model<CsvPreviewDoc>('CsvImportPreview', schema);
}

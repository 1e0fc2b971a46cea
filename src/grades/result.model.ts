/**
 * One learner's score on one line item. A changed score replaces the current value and pushes the
 * previous one onto `history` with the period it was valid, so that "85% on 3 May, 95% since
 * 12 May" can be told: history entries run from `from` to `to`, the current value since `changedAt`.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { GRADE_SOURCE_KINDS, type GradeSourceKind } from './sources/grade-source';

export interface ResultHistoryEntry {
  scoreGiven: number | null;
  scoreMaximum: number;
  from: Date;
  to: Date;
  source: GradeSourceKind;
}

export interface Result {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  lineItemId: Types.ObjectId;
  userId: string;
  /** null: the platform lists the learner without a score (or the score was removed). */
  scoreGiven: number | null;
  scoreMaximum: number;
  /** When the LMS says the score was last modified, if it says. */
  timestamp?: Date;
  comment?: string;
  source: GradeSourceKind;
  fetchedAt: Date;
  /** Since when the current value holds (first seen, or last changed). */
  changedAt: Date;
  history: ResultHistoryEntry[];
  createdAt?: Date;
  updatedAt?: Date;
}

const historySchema = new Schema<ResultHistoryEntry>(
  {
    scoreGiven: { type: Number, default: null },
    scoreMaximum: { type: Number, required: true },
    from: { type: Date, required: true },
    to: { type: Date, required: true },
    source: { type: String, enum: GRADE_SOURCE_KINDS, required: true },
  },
  { _id: false },
);

const schema = new Schema<Result>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    lineItemId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: String, required: true },
    scoreGiven: { type: Number, default: null },
    scoreMaximum: { type: Number, required: true },
    timestamp: Date,
    comment: String,
    source: { type: String, enum: GRADE_SOURCE_KINDS, required: true },
    fetchedAt: { type: Date, required: true },
    changedAt: { type: Date, required: true },
    history: { type: [historySchema], default: [] },
  },
  { timestamps: true, collection: 'results' },
);
schema.index({ courseId: 1, lineItemId: 1, userId: 1 }, { unique: true });
schema.index({ courseId: 1, userId: 1 });
// Redundant on MongoDB (a prefix of the unique index), but the embedded offline engine only uses an
// index whose every field is matched by equality: without it, reading one line item's results after
// a change scans every result of every course (bench/README.md).
schema.index({ courseId: 1, lineItemId: 1 });

export function resultModel(conn: Connection): Model<Result> {
  return (conn.models.Result as Model<Result>) ?? conn.model<Result>('Result', schema);
}

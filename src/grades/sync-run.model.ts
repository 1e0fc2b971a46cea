/**
 * The history of grade imports: one document per run (a sync of a course or of one learner from
 * one grade source, or a CSV import), with who started it, what it counted, how long it took and what went wrong.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { GRADE_SOURCE_KINDS, type GradeSourceKind } from './sources/grade-source';

export type SyncStatus = 'running' | 'succeeded' | 'failed' | 'partial';

export interface SyncRunError {
  /** e.g. `invalid_result`, `platform_error`, `line_items_failed`, `results_failed`. */
  kind: string;
  message: string;
  /** The offending item as received, when there is one. */
  item?: unknown;
}

export interface SyncCounts {
  items: number;
  results: number;
  members: number;
  /** Documents written (inserted, updated, marked left or removed). */
  changed: number;
  unchanged: number;
  errors: number;
}

export interface SyncRun {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  source: GradeSourceKind;
  scope: 'course' | 'learner';
  userId?: string;
  startedBy: { userId: string; name?: string };
  startedAt: Date;
  finishedAt?: Date;
  status: SyncStatus;
  counts: SyncCounts;
  durationMs: number;
  errors: SyncRunError[];
  /** Latest progress of a running course sync (survives a page reload). */
  progress?: { items: { done: number; total: number }; learners: { done: number; total: number } };
}

const schema = new Schema<SyncRun>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    source: { type: String, enum: GRADE_SOURCE_KINDS, required: true },
    scope: { type: String, enum: ['course', 'learner'], required: true },
    userId: String,
    startedBy: { userId: { type: String, required: true }, name: String },
    startedAt: { type: Date, required: true },
    finishedAt: Date,
    status: { type: String, enum: ['running', 'succeeded', 'failed', 'partial'], required: true },
    counts: {
      items: { type: Number, default: 0 },
      results: { type: Number, default: 0 },
      members: { type: Number, default: 0 },
      changed: { type: Number, default: 0 },
      unchanged: { type: Number, default: 0 },
      errors: { type: Number, default: 0 },
    },
    durationMs: { type: Number, default: 0 },
    errors: { type: [{ kind: String, message: String, item: Schema.Types.Mixed, _id: false }], default: [] },
    progress: { type: Schema.Types.Mixed },
  },
  // `errors` is a reserved-looking path name for mongoose; it is only a warning, the brief fixes the name.
  { collection: 'syncruns', suppressReservedKeysWarning: true },
);
schema.index({ courseId: 1, startedAt: -1 });

export function syncRunModel(conn: Connection): Model<SyncRun> {
  return (conn.models.SyncRun as Model<SyncRun>) ?? conn.model<SyncRun>('SyncRun', schema);
}

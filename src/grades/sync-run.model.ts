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
  /** The message a page shows instead of `message` (English, for logs), when the error has one. */
  key?: string;
  params?: Record<string, string | number>;
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
  /** When the run is deleted (TTL index): see RUN_RETENTION_DAYS. */
  expiresAt: Date;
  /** Latest progress of a running course sync (survives a page reload). */
  progress?: { items: { done: number; total: number }; learners: { done: number; total: number } };
}

/**
 * How long run documents are kept: a course sync or CSV import (the teacher's sync history) 90
 * days; a learner's refresh (one per learner launch) 7 days, or 1 day when it changed nothing.
 */
export const RUN_RETENTION_DAYS: { course: number; learner: number; 'learner-unchanged': number } = { course: 90, learner: 7, 'learner-unchanged': 1 };
const DAY_MS = 24 * 60 * 60 * 1000;

/** RUN_LOG_RETENTION_DAYS (config.ts): how long course sync / CSV import logs are kept; set once at start. */
export function configureRunRetention(courseDays: number): void {
  RUN_RETENTION_DAYS.course = courseDays;
}

/** When a run written at `writtenAt` is deleted. */
export function runExpiry(kind: keyof typeof RUN_RETENTION_DAYS, writtenAt: Date): Date {
  return new Date(writtenAt.getTime() + RUN_RETENTION_DAYS[kind] * DAY_MS);
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
    errors: { type: [{ kind: String, message: String, item: Schema.Types.Mixed, key: String, params: Schema.Types.Mixed, _id: false }], default: [] },
    progress: { type: Schema.Types.Mixed },
    // a function default runs after the given fields are set, so it sees scope
    expiresAt: {
      type: Date,
      default(this: SyncRun) {
        // from the moment of writing on the real clock, the one the TTL monitor uses (an injected
        // clock set in the past would have the run deleted at once)
        return runExpiry(this.scope ?? 'course', new Date());
      },
    },
  },
  // `errors` is a reserved-looking path name for mongoose; it is only a warning, the brief fixes the name.
  { collection: 'syncruns', suppressReservedKeysWarning: true },
);
schema.index({ courseId: 1, startedAt: -1 });
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function syncRunModel(conn: Connection): Model<SyncRun> {
  return (conn.models.SyncRun as Model<SyncRun>) ?? conn.model<SyncRun>('SyncRun', schema);
}

/**
 * A grade column of a course, from one grade source (./sources/): an AGS line item (externalId =
 * its URL), a Moodle grade item, a Chamilo evaluation, or a column imported from a gradebook CSV
 * (externalId = the column key). Every kind takes part in certificate rules.
 * A column gone from the LMS keeps its document, with `removedAt` set.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { COLUMN_KINDS, GRADE_SOURCE_KINDS, type ColumnKind, type GradeSourceKind } from './sources/grade-source';

export interface LineItem {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  source: GradeSourceKind;
  /** AGS: the line item URL; CSV: the column key (e.g. `canvas:1234`). */
  externalId: string;
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  startDateTime?: Date;
  endDateTime?: Date;
  /** What the column is in the LMS gradebook; absent = an activity. */
  kind?: ColumnKind;
  /** The LMS's weight of the column in its course total, when the source says. */
  weight?: number;
  /** Hidden from learners in the LMS. */
  hidden?: boolean;
  /** AGS: a column the tool created itself (from the teacher page), which it may rename and delete. */
  ownedByTool?: boolean;
  fetchedAt: Date;
  removedAt?: Date | null;
  /**
   * AGS only: a digest of the results as last stored by a complete course sync, so that the next
   * sync can skip comparing an unchanged line item result by result. Cleared (and the epoch bumped)
   * whenever something else writes this item's results.
   */
  resultsDigest?: string | null;
  resultsEpoch?: number;
  createdAt?: Date;
  updatedAt?: Date;
}

const schema = new Schema<LineItem>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    source: { type: String, enum: GRADE_SOURCE_KINDS, required: true },
    externalId: { type: String, required: true },
    label: { type: String, required: true },
    scoreMaximum: { type: Number, required: true, min: 0 },
    resourceLinkId: String,
    resourceId: String,
    tag: String,
    startDateTime: Date,
    endDateTime: Date,
    kind: { type: String, enum: COLUMN_KINDS },
    weight: Number,
    hidden: Boolean,
    ownedByTool: Boolean,
    fetchedAt: { type: Date, required: true },
    removedAt: { type: Date, default: null },
    resultsDigest: { type: String, default: null },
    resultsEpoch: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'lineitems' },
);
schema.index({ courseId: 1, source: 1, externalId: 1 }, { unique: true });

export function lineItemModel(conn: Connection): Model<LineItem> {
  return (conn.models.LineItem as Model<LineItem>) ?? conn.model<LineItem>('LineItem', schema);
}

/**
 * The resource links the tool has been launched from, per course: the tool's own placements.
 * A grade column tied to one of them (Moodle: the launching activity once the teacher ticked
 * "Allow … to add grades") is the tool's launcher, not a course activity, and never counts
 * toward a certificate.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export interface ToolLink {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  resourceLinkId: string;
  firstLaunchAt: Date;
  lastLaunchAt: Date;
}

const schema = new Schema<ToolLink>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    resourceLinkId: { type: String, required: true },
    firstLaunchAt: { type: Date, required: true },
    lastLaunchAt: { type: Date, required: true },
  },
  { collection: 'toollinks', versionKey: false },
);
schema.index({ courseId: 1, resourceLinkId: 1 }, { unique: true });

export function toolLinkModel(conn: Connection): Model<ToolLink> {
  return (conn.models.ToolLink as Model<ToolLink>) ?? conn.model<ToolLink>('ToolLink', schema);
}

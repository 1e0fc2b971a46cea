/**
 * The tool's own placements in a course: each launch records the resource link it came from, so
 * the launcher's grade column is never counted as a course activity.
 */
import type { Connection, Types } from 'mongoose';
import { toolLinkModel } from './tool-link.model';

/** Records that the tool was launched from this resource link (idempotent; one upsert). */
export async function recordToolLink(conn: Connection, courseId: Types.ObjectId | string, resourceLinkId: string, now: Date): Promise<void> {
  await toolLinkModel(conn).updateOne(
    { courseId, resourceLinkId },
    { $setOnInsert: { firstLaunchAt: now }, $set: { lastLaunchAt: now } },
    { upsert: true },
  );
}

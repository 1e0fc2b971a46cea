/**
 * The tool's own placements in a course: each launch records the resource link it came from, so
 * the launcher's grade column is never counted as a course activity.
 */
import type { Connection, Types } from 'mongoose';
import { toolLinkModel } from './tool-link.model';

/** Links this process has recorded: their next launches write nothing (lastLaunchAt is read by nothing). */
const recorded = new Set<string>();
const MAX_REMEMBERED = 10_000;

/** Records that the tool was launched from this resource link (idempotent; one upsert, once per link and process). */
export async function recordToolLink(conn: Connection, courseId: Types.ObjectId | string, resourceLinkId: string, now: Date): Promise<void> {
  const key = `${conn.name}\n${String(courseId)}\n${resourceLinkId}`;
  if (recorded.has(key)) return;
  await toolLinkModel(conn).updateOne(
    { courseId, resourceLinkId },
    { $setOnInsert: { firstLaunchAt: now }, $set: { lastLaunchAt: now } },
    { upsert: true },
  );
  if (recorded.size >= MAX_REMEMBERED) recorded.clear();
  recorded.add(key);
}

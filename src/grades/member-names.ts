import { Types, type Connection } from 'mongoose';
import { memberModel } from './member.model';

/** The roster names of some members of a course, by user id. */
export async function memberNames(conn: Connection, courseId: string | Types.ObjectId, userIds: string[]): Promise<Map<string, string | undefined>> {
  if (userIds.length === 0) return new Map();
  const cid = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  const members = await memberModel(conn).find({ courseId: cid, userId: { $in: userIds } }, { userId: 1, name: 1 }).lean();
  return new Map(members.map((m) => [m.userId, m.name]));
}

/**
 * Turning ids that come from URLs and forms into ObjectIds. A malformed id is simply a thing
 * that does not exist (NotFoundError), never a 500 from a cast error.
 */
import { Types } from 'mongoose';
import { NotFoundError } from '../errors';

export type Id = string | Types.ObjectId;

/** The ObjectId for `id`, or a NotFoundError naming `what` ("certificate", "course"...). */
export function toObjectId(id: Id, what: string): Types.ObjectId {
  if (id instanceof Types.ObjectId) return id;
  if (typeof id === 'string' && /^[0-9a-fA-F]{24}$/.test(id)) return new Types.ObjectId(id);
  throw new NotFoundError(`This ${what} does not exist.`, { what });
}

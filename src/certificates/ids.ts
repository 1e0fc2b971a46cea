/**
 * Turning ids that come from URLs and forms into ObjectIds. A malformed id is simply a thing
 * that does not exist (NotFoundError), never a 500 from a cast error.
 */
import { Types } from 'mongoose';
import { NotFoundError } from '../errors';
import { inEnglish } from '../i18n/english';

export type Id = string | Types.ObjectId;

/** The message of each `what` a NotFoundError here names (certificates.error.notFound.*). */
const NOT_FOUND_KEYS: Record<string, string> = {
  certificate: 'certificate',
  'certificate definition': 'definition',
  course: 'course',
  'audit entry': 'auditEntry',
};

/** "This certificate does not exist in this course." and its kin, in the reader's language. */
export function notFoundError(what: string): NotFoundError {
  const ref = { key: `certificates.error.notFound.${NOT_FOUND_KEYS[what] ?? 'other'}` };
  return new NotFoundError(inEnglish(ref), { what }, ref);
}

/** The ObjectId for `id`, or a NotFoundError naming `what` ("certificate", "course"...). */
export function toObjectId(id: Id, what: string): Types.ObjectId {
  if (id instanceof Types.ObjectId) return id;
  if (typeof id === 'string' && /^[0-9a-fA-F]{24}$/.test(id)) return new Types.ObjectId(id);
  throw notFoundError(what);
}

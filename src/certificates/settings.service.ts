/**
 * The course's certificate settings (kept on the Course document), changed with an audit entry.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { NotFoundError, ValidationError } from '../errors';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { toObjectId, type Id } from './ids';

export interface CertificateSettings {
  /** Re-issue stale certificates automatically after each grade sync (R5). */
  autoReissue: boolean;
}

export async function getCertificateSettings(conn: Connection, courseId: Id): Promise<CertificateSettings> {
  const course = await courseModel(conn).findById(toObjectId(courseId, 'course'), { settings: 1 }).lean();
  if (!course) throw new NotFoundError('This course is not known to the tool.', { what: 'course' });
  return { autoReissue: course.settings?.autoReissue === true };
}

/** Changes the settings; an unchanged value writes nothing and audits nothing. */
export async function updateCertificateSettings(
  conn: Connection,
  opts: { courseId: Id; settings: Partial<CertificateSettings>; by: Actor; now: Date },
): Promise<CertificateSettings> {
  const courseId = toObjectId(opts.courseId, 'course');
  if (opts.settings.autoReissue !== undefined && typeof opts.settings.autoReissue !== 'boolean') {
    throw new ValidationError('autoReissue must be true or false.', { field: 'autoReissue' });
  }
  const before = await getCertificateSettings(conn, courseId);
  const after: CertificateSettings = { ...before, ...opts.settings };
  if (after.autoReissue === before.autoReissue) return before;
  await courseModel(conn).updateOne({ _id: courseId }, { $set: { 'settings.autoReissue': after.autoReissue } });
  await recordAudit(conn, { courseId, action: 'settings_changed', actor: opts.by, at: opts.now, details: { changes: { autoReissue: { before: before.autoReissue, after: after.autoReissue } } } });
  return after;
}

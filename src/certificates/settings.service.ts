/**
 * The course's certificate settings (kept on the Course document), changed with an audit entry.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { ValidationError } from '../errors';
import type { Actor } from './audit.model';
import { recordAudit } from './audit.service';
import { notFoundError, toObjectId, type Id } from './ids';
import { inEnglish } from '../i18n/english';

export interface CertificateSettings {
  /** Re-issue stale certificates automatically after each grade sync (R5). */
  autoReissue: boolean;
}

export async function getCertificateSettings(conn: Connection, courseId: Id): Promise<CertificateSettings> {
  const course = await courseModel(conn).findById(toObjectId(courseId, 'course'), { settings: 1 }).lean();
  if (!course) throw notFoundError('course');
  return { autoReissue: course.settings?.autoReissue === true };
}

/** Changes the settings; an unchanged value writes nothing and audits nothing. */
export async function updateCertificateSettings(
  conn: Connection,
  opts: { courseId: Id; settings: Partial<CertificateSettings>; by: Actor; now: Date },
): Promise<CertificateSettings> {
  const courseId = toObjectId(opts.courseId, 'course');
  if (opts.settings.autoReissue !== undefined && typeof opts.settings.autoReissue !== 'boolean') {
    const ref = { key: 'teacher.settings.invalid' };
    throw new ValidationError(inEnglish(ref), { field: 'autoReissue' }, ref);
  }
  const before = await getCertificateSettings(conn, courseId);
  const after: CertificateSettings = { ...before, ...opts.settings };
  if (after.autoReissue === before.autoReissue) return before;
  await courseModel(conn).updateOne({ _id: courseId }, { $set: { 'settings.autoReissue': after.autoReissue } });
  await recordAudit(conn, { courseId, action: 'settings_changed', actor: opts.by, at: opts.now, details: { changes: { autoReissue: { before: before.autoReissue, after: after.autoReissue } } } });
  return after;
}

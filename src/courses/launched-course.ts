/**
 * The course document a launch has just written, kept in this process for the page the launch
 * redirects to: that page's grade refresh needs the course's services, and reading them again a
 * few milliseconds after writing them is one database command per launch for nothing. Only the
 * refresh uses it (services, family, ids: written by launches only), for LAUNCHED_COURSE_MS.
 */
import type { Connection } from 'mongoose';
import { courseModel, type CourseDoc } from './course.model';

export const LAUNCHED_COURSE_MS = 30_000;
const MAX = 5_000;
const recent = new Map<string, { conn: Connection; doc: CourseDoc; at: number }>();

export function rememberLaunchedCourse(conn: Connection, doc: CourseDoc): void {
  if (recent.size >= MAX) recent.clear();
  recent.set(String(doc._id), { conn, doc, at: Date.now() });
}

/** The course as its latest launch in this process wrote it (if recent), else as stored. */
export async function courseForRefresh(conn: Connection, courseId: string): Promise<CourseDoc | null> {
  const hit = recent.get(courseId);
  if (hit && hit.conn === conn && Date.now() - hit.at < LAUNCHED_COURSE_MS) return hit.doc;
  return courseModel(conn).findById(courseId).lean<CourseDoc>();
}

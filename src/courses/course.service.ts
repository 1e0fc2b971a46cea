/**
 * Reads of the courses the tool knows, for the pages that need them (the teacher's columns page,
 * the administrator's Moodle setup): the routes call these instead of the model.
 */
import type { Connection } from 'mongoose';
import { courseModel, type CourseDoc } from './course.model';

export type { CourseDoc };

/** The course by its id, or null. */
export async function findCourse(conn: Connection, courseId: unknown): Promise<CourseDoc | null> {
  return courseModel(conn).findById(courseId).lean<CourseDoc>();
}

/** The context ids of the platform's courses, the most recently launched first (at most 20). */
export async function recentContextIds(conn: Connection, issuer: string): Promise<string[]> {
  const courses = await courseModel(conn).find({ issuer }, { contextId: 1 }).sort({ updatedAt: -1 }).limit(20).lean();
  return courses.map((c) => c.contextId);
}

/** For each issuer, the platform families its launches said they were. */
export async function platformFamiliesByIssuer(conn: Connection): Promise<Map<string, string[]>> {
  const families = await courseModel(conn).aggregate<{ _id: string; families: string[] }>([{ $group: { _id: '$issuer', families: { $addToSet: '$platformFamily' } } }]);
  return new Map(families.map((f) => [f._id, f.families]));
}

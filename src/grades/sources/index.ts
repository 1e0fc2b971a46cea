/**
 * Which grade sources serve a course. AGS/NRPS always (it says itself when the platform sent no
 * service address); the others (Moodle web services, Chamilo, …) register a factory that returns
 * a source when the course's platform is set up for it, or null.
 */
import type { CourseDoc } from '../../courses/course.model';
import type { AdvantageClient } from '../../lti/advantage';
import { createAgsSource } from './ags.source';
import type { GradeSource } from './grade-source';

export type GradeSourceCourse = Pick<CourseDoc, '_id' | 'issuer' | 'clientId' | 'platformFamily' | 'services'>;

/** A source for this course, or null when its platform is not set up for it. */
export type GradeSourceFactory = (course: GradeSourceCourse) => Promise<GradeSource | null> | GradeSource | null;

export interface GradeSourceDeps {
  advantageFor(course: Pick<CourseDoc, 'issuer' | 'clientId' | 'platformFamily'>): AdvantageClient;
  /** Sources besides AGS, tried in order (Moodle web services, …). */
  sourceFactories?: readonly GradeSourceFactory[];
}

/** Every source that serves the course, AGS first. */
export async function gradeSourcesFor(deps: GradeSourceDeps, course: GradeSourceCourse): Promise<GradeSource[]> {
  const sources: GradeSource[] = [createAgsSource({ client: deps.advantageFor(course), course })];
  for (const factory of deps.sourceFactories ?? []) {
    const s = await factory(course);
    if (s) sources.push(s);
  }
  return sources;
}

export { createAgsSource } from './ags.source';
export * from './grade-source';

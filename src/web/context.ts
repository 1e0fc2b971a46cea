/**
 * What every route module receives: the shared services of one running tool. Built once in
 * app.ts; tests build the whole app instead of pieces of this.
 */
import type { GradeSourceFactory } from '../grades/sources';
import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { CourseDoc } from '../courses/course.service';
import type { JobQueue } from '../jobs';
import type { AdvantageClient } from '../lti/advantage';
import type { PdfRenderer } from '../render/pdf-renderer';
import type { Clock, RandomBytes } from '../runtime';
import type { Views } from './views';

export interface WebContext {
  config: Config;
  conn: Connection;
  views: Views;
  now: Clock;
  /** Randomness for verification codes. */
  random: RandomBytes;
  /** Background work with progress (sync, generate all, export all). */
  jobs: JobQueue;
  /** The one Chromium of this process, for PDFs. */
  renderer: PdfRenderer;
  /** An AGS/NRPS client authorised for the course's platform (tokens via ltijs). */
  advantageFor(course: Pick<CourseDoc, 'issuer' | 'clientId' | 'platformFamily'>): AdvantageClient;
  /** Grade sources besides AGS (Moodle web services, Chamilo's gradebook service), for the learner refresh and the sync. */
  sourceFactories?: readonly GradeSourceFactory[];
}

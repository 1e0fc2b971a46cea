/**
 * The status of one background job as JSON (`GET /app/:session/jobs/:id.json`), for the progress
 * bars of the tool's pages (src/web/public/job-progress.js polls it). Mounted under
 * `/app/:session`, so the session decides the course: a job of another course is not found.
 */
import { Router } from 'express';
import { NotFoundError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import { jobErrorText } from '../jobs';
import type { WebContext } from './context';
import { launchOf } from './middleware/session';

/** Job ids are ObjectIds; anything else cannot be a job (and never reaches the database). */
const JOB_ID = /^[0-9a-f]{24}$/i;

export function jobsRouter(ctx: Pick<WebContext, 'jobs'>): Router {
  const router = Router({ mergeParams: true });
  router.get('/jobs/:id.json', async (req, res) => {
    const launch = launchOf(res);
    const t = createTranslator(pickLanguage(launch.locale));
    const notFound = () => new NotFoundError(t('teacher.job.notFound'), { what: 'job' }, { key: 'teacher.job.notFound' });
    const id = String(req.params.id ?? '');
    if (!JOB_ID.test(id)) throw notFound();
    const job = await ctx.jobs.get(id, launch.courseId);
    // Teachers see every job of their course; anyone else only the jobs they started themselves
    // (a learner must not read, say, the file id of the teacher's "export all").
    if (!job || (launch.role !== 'teacher' && job.createdBy.userId !== launch.user.id)) throw notFound();
    // A failed job's message in the reader's language (job-progress.js shows `error.message`);
    // its key and parameters stay beside it for scripts.
    res.json(job.error ? { ...job, error: { ...job.error, message: jobErrorText(job.error, t) } } : job);
  });
  return router;
}

/**
 * "Export all" on the teacher page (R4): start an export job, follow its progress, download the
 * file for a day.
 *
 *   POST /app/:session/teacher/exports                   { format: pdf|zip, definitionId?, userIds? } → 202 JSON job, or 303 back to the page of the panel
 *   GET  /app/:session/teacher/exports/:jobId/download   the finished file
 *
 * Progress is polled from the shared job route (`/app/:session/jobs/:id.json`, jobs.routes.ts).
 * The teacher page shows the panel with `{{> export-panel session=session definitionId=…
 * latestPdf=exports.latestPdf latestZip=exports.latestZip}}`, where `exports` comes from
 * `exportPanelData`.
 */
import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { getDefinition } from '../certificates/definition.service';
import { EXPORT_JOB_KINDS, EXPORT_PDF_JOB, EXPORT_ZIP_JOB, ExportGoneError, findExport, openFile, type ExportResult } from '../documents';
import { NotFoundError, ValidationError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import type { JobView } from '../jobs';
import type { WebContext } from './context';
import { wantsJson } from './middleware/error-handler';
import { launchOf, requireRole } from './middleware/session';

const StartBody = z.object({
  format: z.enum(['pdf', 'zip'], 'must be pdf or zip').default('pdf'),
  definitionId: z.preprocess((v) => (v === '' ? undefined : v), z.string().trim().optional()),
  /** Only these learners (the teacher page's current filter; JSON only). */
  userIds: z.array(z.string().min(1).max(256)).max(10_000).optional(),
});

/** An export job as the panel shows it. */
export interface ExportPanelJob {
  job: JobView;
  jobUrl: string;
  active: boolean;
  succeeded: boolean;
  failed: boolean;
  /** Present while the file can be downloaded. */
  downloadUrl: string | null;
  result: ExportResult | null;
  expired: boolean;
}

function isExportKind(kind: string): boolean {
  return (EXPORT_JOB_KINDS as readonly string[]).includes(kind);
}

function panelJob(session: string, job: JobView | null, now: Date): ExportPanelJob | null {
  if (!job) return null;
  const result = job.status === 'succeeded' ? (job.result as ExportResult | null) : null;
  const expired = result ? new Date(result.expiresAt).getTime() <= now.getTime() : false;
  return {
    job,
    jobUrl: `/app/${session}/jobs/${job.id}.json`,
    active: job.status === 'queued' || job.status === 'running',
    succeeded: job.status === 'succeeded',
    failed: job.status === 'failed' || job.status === 'cancelled',
    downloadUrl: result && !expired ? `/app/${session}/teacher/exports/${job.id}/download` : null,
    result,
    expired,
  };
}

/** The latest PDF and ZIP export of the course, for the export panel. */
export async function exportPanelData(ctx: WebContext, opts: { courseId: string; session: string }): Promise<{ latestPdf: ExportPanelJob | null; latestZip: ExportPanelJob | null }> {
  const [pdf, zip] = await Promise.all([ctx.jobs.latest(opts.courseId, EXPORT_PDF_JOB), ctx.jobs.latest(opts.courseId, EXPORT_ZIP_JOB)]);
  const now = ctx.now();
  return { latestPdf: panelJob(opts.session, pdf, now), latestZip: panelJob(opts.session, zip, now) };
}

export function exportRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  router.use('/teacher/exports', requireRole('teacher'));

  router.post('/teacher/exports', async (req: Request, res, next) => {
    try {
      const launch = launchOf(res);
      const lang = pickLanguage(launch.locale);
      const t = createTranslator(lang);
      const parsed = StartBody.safeParse(req.body ?? {});
      if (!parsed.success) {
        const field = parsed.error.issues[0]!.path.map(String).join('.') || 'format';
        throw new ValidationError(t('documents.export.invalid'), { field });
      }
      const { format, definitionId, userIds } = parsed.data;
      // A definition of another course is "not found" here, before any job exists.
      if (definitionId) await getDefinition(ctx.conn, launch.courseId, definitionId, { includeArchived: true });
      const job = await ctx.jobs.enqueue(format === 'pdf' ? EXPORT_PDF_JOB : EXPORT_ZIP_JOB, {
        courseId: launch.courseId,
        createdBy: launch.user.name ? { userId: launch.user.id, name: launch.user.name } : { userId: launch.user.id },
        payload: { definitionId, userIds, language: lang },
        // a second click shows the running export instead of starting another
        dedupe: true,
      });
      if (wantsJson(req)) {
        res.status(202).json({ job, jobUrl: `/app/${res.locals.session}/jobs/${job.id}.json` });
        return;
      }
      // Back to the page the panel is on: the definition's page, or the course's.
      const back = definitionId ? `/teacher/definitions/${encodeURIComponent(definitionId)}` : '/teacher';
      res.redirect(303, `/app/${res.locals.session}${back}#export-panel`);
    } catch (err) {
      next(err);
    }
  });

  router.get('/teacher/exports/:jobId/download', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const t = createTranslator(pickLanguage(launch.locale));
      const job = await ctx.jobs.get(req.params.jobId, launch.courseId);
      if (!job || !isExportKind(job.kind)) throw new NotFoundError(t('documents.export.notFound'), { what: 'job' });
      if (job.status !== 'succeeded') throw new NotFoundError(t('documents.export.notReady'), { what: 'export', status: job.status });
      const result = job.result as ExportResult;
      const file = await findExport(ctx.conn, { courseId: launch.courseId, jobId: job.id, fileId: result.fileId, now: ctx.now() });
      if (!file) throw new ExportGoneError(t('documents.export.expired'));
      res.status(200);
      res.type(result.format === 'zip' ? 'application/zip' : 'application/pdf');
      res.setHeader('Content-Length', String(file.length));
      res.attachment(result.fileName);
      try {
        await pipeline(openFile(ctx.conn, 'exports', file._id), res);
      } catch (err) {
        res.destroy(err instanceof Error ? err : undefined);
      }
    } catch (err) {
      next(err);
    }
  });

  return router;
}

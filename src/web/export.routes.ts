/**
 * "Export all" on the teacher page (R4): start an export job, follow its progress, download the
 * file for a day.
 *
 *   POST /app/:session/teacher/exports                   { format: pdf|zip, definitionId?, userIds? } → 202 JSON job, or 303 back to the page of the panel
 *   GET  /app/:session/teacher/exports/:jobId/download   the finished file
 *
 * Progress is polled from the shared job route (`/app/:session/jobs/:id.json`, jobs.routes.ts);
 * the panel on the teacher's pages is teacher/export-panel.view.ts.
 */
import { pipeline } from 'node:stream/promises';
import { Router, type Request } from 'express';
import { getDefinition } from '../certificates/definition.service';
import { EXPORT_JOB_KINDS, EXPORT_PDF_JOB, EXPORT_ZIP_JOB, ExportGoneError, findExport, openFile, type ExportResult } from '../documents';
import { NotFoundError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import type { WebContext } from './context';
import { wantsJson } from './middleware/error-handler';
import { launchOf, requireRole } from './middleware/session';
import { EXPORT_MESSAGES, ExportBody } from './teacher/schema';
import { bodyOf, validateBody } from './validate';

function isExportKind(kind: string): boolean {
  return (EXPORT_JOB_KINDS as readonly string[]).includes(kind);
}

export function exportRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  router.use('/teacher/exports', requireRole('teacher'));

  router.post('/teacher/exports', validateBody(ExportBody, EXPORT_MESSAGES), async (req: Request, res, next) => {
    try {
      const launch = launchOf(res);
      const lang = pickLanguage(launch.locale);
      const { format, definitionId, userIds } = bodyOf(res, ExportBody);
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
      if (!job || !isExportKind(job.kind)) throw new NotFoundError(t('documents.export.notFound'), { what: 'job' }, { key: 'documents.export.notFound' });
      if (job.status !== 'succeeded') throw new NotFoundError(t('documents.export.notReady'), { what: 'export', status: job.status }, { key: 'documents.export.notReady' });
      const result = job.result as ExportResult;
      const file = await findExport(ctx.conn, { courseId: launch.courseId, jobId: job.id, fileId: result.fileId, now: ctx.now() });
      if (!file) throw new ExportGoneError(t('documents.export.expired'), undefined, { key: 'documents.export.expired' });
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

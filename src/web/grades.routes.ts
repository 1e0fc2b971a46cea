/**
 * The teacher's gradebook CSV import and the course's sync history (issues #4, #16). AGS shows
 * only the tool's own grade columns, so course-wide grades come from the LMS's gradebook export:
 * the teacher uploads it, sees a preview (nothing stored) with what it changes for certificates,
 * answers what the file cannot say, and applies exactly that preview, once.
 *
 *   GET  /app/:session/teacher/grades/import                   the upload form
 *   POST /app/:session/teacher/grades/import                   multipart `file` (+ `max-<i>`): preview → 303 to it; a bad file → the form, 400
 *   GET  /app/:session/teacher/grades/import/:previewId        the preview (?page= pages the score changes)
 *   POST /app/:session/teacher/grades/import/:previewId        `max-<i>` maxima, `zero-is-real`: the preview again → 303 to it
 *   POST /app/:session/teacher/grades/import/:previewId/apply  apply once, then the stale check and re-issue → 303 to the history
 *                                                              (?imported=<runId>); 409 when applied already or the grades changed since
 *   GET  /app/:session/teacher/grades/history                  sync runs, newest first (?page=, ?scope=course|all, ?imported=)
 *
 * Mounted under `/app/:session` (not inside the teacher router) and guarded by
 * `requireRole('teacher')` here too. The launch decides the course: a preview or run of another
 * course is not found (404), whatever id the URL carries.
 */
import { Router, type Request, type Response } from 'express';
import multer from 'multer';
import type { z } from 'zod';
import { NotFoundError, PayloadTooLargeError } from '../errors';
import { findCsvPreview, findCsvPreviewByRun } from '../grades/csv/csv-import.service';
import { GradebookFileError, MaximaMissingError, PreviewAlreadyAppliedError, PreviewNotFoundError, StalePreviewError } from '../grades/csv/import.errors';
import { findSyncRun, listSyncRuns } from '../grades/history.service';
import type { WebContext } from './context';
import { historyPageData } from './grades/history.view';
import { applyImport, reviseImport, startImport, type ImportDeps } from './grades/import.flow';
import { previewPageData } from './grades/preview.view';
import { FormQuerySchema, HistoryQuerySchema, PreviewIdSchema, PreviewQuerySchema, ReviseBodySchema, UploadBodySchema } from './grades/schema';
import { fileErrorView, formErrorView, megabytes, uploadFormData, type FormState, type UploadErrorView } from './grades/upload.view';
import { renderTeacherPage, teacherPage, type TeacherPage } from './teacher-page';
import { requireRole } from './middleware/session';
import { parseQuery } from './teacher/query';

const HISTORY_PAGE_SIZE = 20;
/** Errors shown per run in the history (the run keeps up to 200). */
const ERRORS_PER_RUN = 3;
/** Maximum fields beside the file: one `max-<i>` per grade column at most. */
const MAX_FIELDS = 500;

type PageContext = TeacherPage & { /** `/app/<session>/teacher/grades` */ grades: string };

function pageContext(res: Response): PageContext {
  const page = teacherPage(res);
  return { ...page, grades: `${page.base}/grades` };
}

/** The first field a form schema refused, or null. */
function refusedField<S extends z.ZodType>(schema: S, body: unknown): { ok: true; data: z.output<S> } | { ok: false; field: string } {
  const r = schema.safeParse(body ?? {});
  if (r.success) return { ok: true, data: r.data };
  const issue = r.error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const field = issue?.code === 'unrecognized_keys' ? String(issue.keys[0]) : path[path.length - 1] ?? 'file';
  return { ok: false, field };
}

export interface GradesRouterDeps {
  /** The certificates' stale check and automatic re-issue after an import (app.ts: runAfterSync). */
  afterImport?: ImportDeps['afterImport'];
}

/** The import and history pages; mount under `/app/:session` (paths start with `/teacher/grades`). */
export function gradesRouter(ctx: WebContext, deps: GradesRouterDeps = {}): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;
  const limit = ctx.config.uploadMaxBytes;
  const flow: ImportDeps = { conn, now: ctx.now, maxBytes: limit, afterImport: deps.afterImport };
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limit, files: 1, fields: MAX_FIELDS, fieldSize: 64, parts: MAX_FIELDS + 1 },
  }).single('file');

  router.use('/teacher/grades', requireRole('teacher'));

  const render = (res: Response, p: PageContext, page: string, data: Record<string, unknown>, status = 200) =>
    renderTeacherPage(ctx.views, res, p, page, { grades: p.grades, ...data }, status);
  const renderForm = (res: Response, p: PageContext, state: FormState = {}, status = 200) => render(res, p, 'grades-import', uploadFormData(p.t, state, p, limit), status);
  const notFound = (res: Response, p: PageContext) => renderForm(res, p, { notice: { kind: 'bad', code: 'previewNotFound', text: p.t('grades.preview.notFound') } }, 404);

  async function renderPreview(req: Request, res: Response, p: PageContext, extra: { answerError?: UploadErrorView; notice?: FormState['notice'] } = {}, status = 200) {
    const id = PreviewIdSchema.safeParse(req.params.previewId);
    const doc = id.success ? await findCsvPreview(conn, p.launch.courseId, id.data, ctx.now()) : null;
    if (!doc) return notFound(res, p);
    const query = parseQuery(PreviewQuerySchema, req.query, p.t);
    const here = `${p.grades}/import/${doc._id}`;
    render(res, p, 'grades-preview', { ...(await previewPageData(conn, doc, p.t, { grades: p.grades, here }, query.page)), ...extra }, status);
  }

  /** Receives the multipart body; a file above the limit is a 413 naming the limit. */
  function receiveUpload(req: Request, res: Response, p: PageContext): Promise<'ok' | 'unreadable'> {
    return new Promise((resolve, reject) => {
      upload(req, res, (err: unknown) => {
        if (!err) return resolve('ok');
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
          reject(new PayloadTooLargeError(p.t('grades.import.tooLarge', { limit: megabytes(limit, p.t) }), { field: 'file', limit: `${megabytes(limit, p.t)} MB` }));
          return;
        }
        // Anything else busboy or multer refuse is a malformed form, shown on the form.
        resolve('unreadable');
      });
    });
  }

  router.get('/teacher/grades/import', (req, res) => {
    const p = pageContext(res);
    parseQuery(FormQuerySchema, req.query, p.t);
    renderForm(res, p);
  });

  router.post('/teacher/grades/import', async (req, res) => {
    const p = pageContext(res);
    const refuse = (error: UploadErrorView) => renderForm(res, p, { error }, 400);
    if ((await receiveUpload(req, res, p)) === 'unreadable') return refuse(formErrorView(p.t, 'upload'));
    const body = refusedField(UploadBodySchema, { ...(req.body ?? {}) });
    if (!body.ok) return refuse(formErrorView(p.t, 'upload', body.field));
    if (!req.file) return refuse(formErrorView(p.t, 'missing'));
    try {
      const preview = await startImport(flow, p.launch, req.file, body.data);
      res.redirect(303, `${p.grades}/import/${preview.id}`);
    } catch (err) {
      if (err instanceof GradebookFileError) return refuse(fileErrorView(p.t, err, limit));
      throw err;
    }
  });

  router.get('/teacher/grades/import/:previewId', async (req, res) => {
    await renderPreview(req, res, pageContext(res));
  });

  router.post('/teacher/grades/import/:previewId', async (req, res) => {
    const p = pageContext(res);
    const id = PreviewIdSchema.safeParse(req.params.previewId);
    const doc = id.success ? await findCsvPreview(conn, p.launch.courseId, id.data, ctx.now()) : null;
    if (!doc) return notFound(res, p);
    const body = refusedField(ReviseBodySchema, req.body);
    if (!body.ok) {
      const answerError = { reason: 'bad_maximum', where: null, text: p.t('grades.preview.answerInvalid'), technical: null, field: body.field };
      return renderPreview(req, res, p, { answerError }, 400);
    }
    try {
      await reviseImport(flow, p.launch, doc, body.data);
    } catch (err) {
      if (err instanceof PreviewAlreadyAppliedError) return renderPreview(req, res, p, {}, 409);
      if (err instanceof PreviewNotFoundError) return notFound(res, p);
      throw err;
    }
    res.redirect(303, `${p.grades}/import/${doc._id}`);
  });

  router.post('/teacher/grades/import/:previewId/apply', async (req, res) => {
    const p = pageContext(res);
    const id = PreviewIdSchema.safeParse(req.params.previewId);
    if (!id.success) return notFound(res, p);
    let runId: string;
    try {
      runId = await applyImport(flow, p.launch, id.data);
    } catch (err) {
      if (err instanceof StalePreviewError) return renderForm(res, p, { notice: { kind: 'warn', code: 'stale', text: p.t('grades.apply.stale', { n: err.conflicts }) } }, 409);
      if (err instanceof PreviewAlreadyAppliedError) return renderForm(res, p, { notice: { kind: 'warn', code: 'alreadyApplied', text: p.t('grades.apply.alreadyApplied') } }, 409);
      if (err instanceof MaximaMissingError) {
        return renderPreview(req, res, p, { notice: { kind: 'bad', code: 'maximaMissing', text: p.t('grades.apply.maximaMissing', { columns: err.labels.join(', '), n: err.labels.length }) } }, 400);
      }
      if (err instanceof PreviewNotFoundError) return notFound(res, p);
      throw err;
    }
    res.redirect(303, `${p.grades}/history?imported=${runId}`);
  });

  router.get('/teacher/grades/history', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(HistoryQuerySchema, req.query, p.t);
    let imported = null;
    if (query.imported) {
      const run = await findSyncRun(conn, p.launch.courseId, query.imported);
      if (!run) throw new NotFoundError(p.t('grades.history.runNotFound'), { what: 'run' }, { key: 'grades.history.runNotFound' });
      imported = { run, preview: await findCsvPreviewByRun(conn, p.launch.courseId, query.imported) };
    }
    const page = await listSyncRuns(conn, p.launch.courseId, { scope: query.scope, page: query.page, pageSize: HISTORY_PAGE_SIZE, errorsPerRun: ERRORS_PER_RUN });
    render(res, p, 'grades-history', historyPageData(page, query, imported, p.t, { grades: p.grades, base: p.base }));
  });

  return router;
}

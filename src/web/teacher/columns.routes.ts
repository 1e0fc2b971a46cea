/**
 * /app/:session/teacher/columns: the tool's own columns in the LMS gradebook (AGS `lineitem`
 * scope). The teacher creates one ("Final project", maximum 20), grades it in the LMS, and renames
 * or deletes it here. A platform refusal is shown on the page in words that say what to do.
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import { findCourse } from '../../courses/course.service';
import { AppError, NotFoundError, userMessage, ValidationError } from '../../errors';
import { createToolColumn, deleteToolColumn, listToolColumns, updateToolColumn } from '../../grades/tool-columns.service';
import type { WebContext } from '../context';
import { requireRole } from '../middleware/session';
import { renderTeacherPage, teacherPage, type TeacherPage } from '../teacher-page';

const ColumnSchema = z.object({
  label: z.string().max(400),
  scoreMaximum: z.string().max(40).transform((v) => Number(v.replace(',', '.'))),
});

export function columnsRouter(ctx: WebContext): Router {
  const router = Router();

  async function courseOf(p: TeacherPage) {
    const course = await findCourse(ctx.conn, p.launch.courseId);
    if (!course) throw new NotFoundError(p.t('teacher.columns.noCourse'));
    return course;
  }

  const deps = (course: Awaited<ReturnType<typeof courseOf>>) => ({ conn: ctx.conn, now: ctx.now, client: ctx.advantageFor(course) });

  async function render(res: Response, p: TeacherPage, extra: { error?: string; notice?: string; form?: { label: string; scoreMaximum: string } } = {}, status = 200) {
    const columns = await listToolColumns(ctx.conn, p.launch.courseId);
    renderTeacherPage(ctx.views, res, p, 'teacher-columns', {
      title: p.t('teacher.columns.title'),
      columns: columns.map((c) => ({ id: String(c._id), label: c.label, scoreMaximum: c.scoreMaximum, action: `${p.base}/columns/${c._id}` })),
      createAction: `${p.base}/columns`,
      form: extra.form ?? { label: '', scoreMaximum: '' },
      error: extra.error,
      notice: extra.notice ? p.t(`teacher.columns.notice.${extra.notice}`) : undefined,
    }, status);
  }

  /** Runs a change; a refusal (ours or the platform's) comes back on the page with what to do. */
  async function attempt(res: Response, p: TeacherPage, form: { label: string; scoreMaximum: string } | undefined, fn: () => Promise<string>) {
    try {
      const notice = await fn();
      res.redirect(303, `${p.base}/columns?notice=${notice}`);
    } catch (err) {
      if (!(err instanceof AppError) || err instanceof NotFoundError) throw err;
      await render(res, p, { error: userMessage(err, p.t), form }, err instanceof ValidationError ? 400 : 502);
    }
  }

  router.get('/teacher/columns', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    const notice = typeof req.query.notice === 'string' && ['created', 'saved', 'deleted'].includes(req.query.notice) ? req.query.notice : undefined;
    await render(res, p, { notice });
  });

  router.post('/teacher/columns', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    const body = ColumnSchema.safeParse(req.body ?? {});
    if (!body.success) throw new ValidationError(p.t('teacher.columns.invalid'), { field: body.error.issues[0]?.path.join('.') }, { key: 'teacher.columns.invalid' });
    const form = { label: body.data.label, scoreMaximum: String(req.body.scoreMaximum) };
    const course = await courseOf(p);
    await attempt(res, p, form, async () => {
      await createToolColumn(deps(course), course, body.data);
      return 'created';
    });
  });

  router.post('/teacher/columns/:columnId', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    const body = ColumnSchema.safeParse(req.body ?? {});
    if (!body.success) throw new ValidationError(p.t('teacher.columns.invalid'), { field: body.error.issues[0]?.path.join('.') }, { key: 'teacher.columns.invalid' });
    const course = await courseOf(p);
    await attempt(res, p, undefined, async () => {
      await updateToolColumn(deps(course), course, String(req.params.columnId), body.data);
      return 'saved';
    });
  });

  router.post('/teacher/columns/:columnId/delete', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    const course = await courseOf(p);
    await attempt(res, p, undefined, async () => {
      await deleteToolColumn(deps(course), course, String(req.params.columnId));
      return 'deleted';
    });
  });

  return router;
}

/**
 * POST /app/:session/teacher/grades/moodle: the teacher turns "Moodle gradebook" on or off for
 * the course. Turning it on starts a sync at once, so the course's quizzes and assignments appear.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../errors';
import { isMoodleSetUp, setMoodleSource } from '../../grades/moodle/moodle-connection.service';
import type { WebContext } from '../context';
import { requireRole } from '../middleware/session';
import { teacherPage } from '../teacher-page';
import { startSync } from '../../grades/sync-status';

const BodySchema = z.object({ enabled: z.enum(['on', 'off']) });

export function moodleSourceRouter(ctx: WebContext): Router {
  const router = Router();
  router.post('/teacher/grades/moodle', requireRole('teacher'), async (req, res) => {
    const p = teacherPage(res);
    const body = BodySchema.safeParse(req.body ?? {});
    if (!body.success) throw new ValidationError(p.t('moodle.source.invalid'), { field: 'enabled' }, { key: 'moodle.source.invalid' });
    const on = body.data.enabled === 'on';
    if (on && !(await isMoodleSetUp(ctx.conn, p.launch.issuer))) {
      throw new ValidationError(p.t('moodle.source.notSetUp'), { field: 'enabled' }, { key: 'moodle.source.notSetUp' });
    }
    await setMoodleSource(ctx.conn, p.launch.courseId, on, { userId: p.launch.user.id, name: p.launch.user.name });
    if (on) await startSync(ctx, p.launch);
    res.redirect(303, `${p.base}#grade-data`);
  });
  return router;
}

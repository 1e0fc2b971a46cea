/**
 * Everything under `/app/:session/…`: the pages a launch opens. The session decides who the user
 * is, in which course, with which role; sub-routers for learners and teachers check the role.
 */
import { Router, type Router as ExpressRouter } from 'express';
import type { Connection } from 'mongoose';
import { teachingRolesOf } from '../grades/teaching-roles.service';
import { teacherPermissions } from './middleware/permissions';
import { launchOf, loadSession, requireRole } from './middleware/session';
import type { Views } from './views';

export interface ToolRouteDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
  learner?: ExpressRouter;
  teacher?: ExpressRouter;
  extra?: ExpressRouter[];
}

export function toolRouter(deps: ToolRouteDeps): ExpressRouter {
  const router = Router({ mergeParams: true });
  router.use(loadSession(deps.conn, deps.now));
  router.use(teacherPermissions((launch) => teachingRolesOf(deps.conn, launch)));
  router.get('/', (_req, res) => {
    const launch = launchOf(res);
    res.redirect(303, `/app/${res.locals.session}/${launch.role === 'teacher' ? 'teacher' : 'learner'}`);
  });
  if (deps.learner) router.use('/learner', requireRole('learner'), deps.learner);
  if (deps.teacher) router.use('/teacher', requireRole('teacher'), deps.teacher);
  for (const extra of deps.extra ?? []) router.use(extra);
  return router;
}

/** The teacher's pages (R4–R5): every certificate of the course and the actions on them. */
import { Router } from 'express';
import type { Connection } from 'mongoose';
import { createTranslator, pickLanguage } from '../i18n';
import { launchOf } from './middleware/session';
import type { Views } from './views';

export interface TeacherRouteDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
}

export function teacherRouter(deps: TeacherRouteDeps): Router {
  const router = Router({ mergeParams: true });
  router.get('/', (_req, res) => {
    const launch = launchOf(res);
    const t = createTranslator(pickLanguage(launch.locale));
    res.type('html').send(
      deps.views.render('teacher', { title: t('teacher.title'), lang: launch.locale, session: res.locals.session, launch }),
    );
  });
  return router;
}

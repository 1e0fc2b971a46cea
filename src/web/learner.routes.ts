/** The learner's pages (R1–R3): progress, the claim, their certificates. */
import { Router } from 'express';
import type { Connection } from 'mongoose';
import { createTranslator, pickLanguage } from '../i18n';
import { launchOf } from './middleware/session';
import type { Views } from './views';

export interface LearnerRouteDeps {
  conn: Connection;
  views: Views;
  now: () => Date;
}

export function learnerRouter(deps: LearnerRouteDeps): Router {
  const router = Router({ mergeParams: true });
  router.get('/', (_req, res) => {
    const launch = launchOf(res);
    const t = createTranslator(pickLanguage(launch.locale));
    res.type('html').send(
      deps.views.render('learner', { title: t('learner.title'), lang: launch.locale, session: res.locals.session, launch }),
    );
  });
  return router;
}

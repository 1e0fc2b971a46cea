/** What every teacher page handler starts from: the launch, its language, and the page's base URL. */
import type { Response } from 'express';
import type { Actor } from '../certificates/audit.model';
import { createTranslator, pickLanguage, type Translator } from '../i18n';
import type { Launch } from '../lti/launch';
import { launchOf } from './middleware/session';

export interface TeacherPage {
  launch: Launch;
  t: Translator;
  session: string;
  /** `/app/<session>/teacher` */
  base: string;
  /** The teacher, as the actor of audited changes. */
  actor: Actor;
}

export function teacherPage(res: Response): TeacherPage {
  const launch = launchOf(res);
  const session = String(res.locals.session);
  return {
    launch,
    t: createTranslator(pickLanguage(launch.locale)),
    session,
    base: `/app/${session}/teacher`,
    actor: { kind: 'teacher', userId: launch.user.id, name: launch.user.name },
  };
}

/** What every teacher page handler starts from: the launch, its language, and the page's base URL. */
import type { Response } from 'express';
import type { Actor } from '../certificates/audit.service';
import { createTranslator, pickLanguage, type Translator } from '../i18n';
import type { Launch } from '../lti/launch';
import { launchOf } from './middleware/session';
import type { Views } from './views';

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

/** The course title as the current launch names it (title, else label, else context id), for page headers and form defaults. */
export const launchCourseTitle = (launch: Launch) => launch.context.title || launch.context.label || launch.context.id;

/** Sends a teacher page in the launch's language with what every teacher page needs (header, links). */
export function renderTeacherPage(views: Views, res: Response, p: TeacherPage, page: string, data: Record<string, unknown>, status = 200): void {
  res
    .status(status)
    .type('html')
    .send(
      views.render(page, {
        lang: p.launch.locale,
        session: p.session,
        launch: p.launch,
        base: p.base,
        appBase: `/app/${p.session}`,
        courseTitle: launchCourseTitle(p.launch),
        ...data,
        title: String(data.title ?? p.t('teacher.title')),
      }),
    );
}

/**
 * Authorization by LMS role on the teacher pages (the matrix is in src/lti/permissions.ts and the
 * README). `requirePermission(action)` guards one route; `teacherPermissions()` guards every
 * `/teacher/…` route of the tool router from one table, so that the route files (being split and
 * refactored) need no per-route edits and a new route falls back to the strictest sensible rule.
 */
import type { RequestHandler } from 'express';
import { ForbiddenError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { Launch } from '../../lti/launch';
import { can, type Action } from '../../lti/permissions';

/** The roles a launch acts with (see requirePermission). */
export type RolesOf = (launch: Launch) => Promise<string[]>;

/**
 * Refuses (403) a launch whose roles do not allow `action`. `rolesOf` gives the roles the launch
 * acts with, when they can be narrower than those it carries (a Moodle non-editing teacher:
 * src/grades/teaching-roles.service.ts).
 */
export function requirePermission(action: Action, rolesOf?: RolesOf): RequestHandler {
  return async (_req, res, next) => {
    const launch = res.locals.launch;
    let roles: string[] = launch?.roles ?? [];
    try {
      if (launch && rolesOf) roles = await rolesOf(launch);
    } catch (err) {
      next(err);
      return;
    }
    if (!launch || !can(roles, action)) {
      const t = createTranslator(pickLanguage(launch?.locale));
      next(new ForbiddenError(`${t('errors.forbidden')} (${describe(action)})`, { action }));
      return;
    }
    next();
  };
}

const DESCRIPTIONS: Record<Action, string> = {
  view: 'viewing the certificates of this course',
  issue: 'issuing certificates',
  reissue: 're-issuing certificates',
  revoke: 'deleting a certificate',
  revokeAll: 'deleting all certificates at once is for instructors and administrators',
  editDefinitions: 'changing certificate definitions and designs',
  connectGradebooks: 'connecting and importing gradebooks',
};

function describe(action: Action): string {
  return DESCRIPTIONS[action];
}

/** Teacher routes (path below /teacher, method) → the action they need. First match wins. */
const TEACHER_ROUTES: Array<[methods: string | null, pattern: RegExp, action: Action]> = [
  [null, /^\/definitions\/[^/]+\/delete-all\/?$/, 'revokeAll'],
  [null, /^\/certificates\/[^/]+\/delete\/?$/, 'revoke'],
  ['POST', /^\/certificates\/[^/]+\/reissue\/?$/, 'reissue'],
  ['POST', /^\/definitions\/[^/]+\/reissue-stale\/?$/, 'reissue'],
  [null, /^\/definitions\/[^/]+\/generate\/?$/, 'issue'],
  ['POST', /^\/sync\/?$/, 'issue'],
  ['POST', /^\/exports\/?$/, 'view'],
  [null, /^\/definitions\/new\/?$/, 'editDefinitions'],
  [null, /^\/definitions\/[^/]+\/edit\/?$/, 'editDefinitions'],
  ['POST', /^\/definitions(\/[^/]+(\/archive)?)?\/?$/, 'editDefinitions'],
  ['POST', /^\/settings\/?$/, 'editDefinitions'],
  ['POST', /^\/templates(\/|$)/, 'editDefinitions'],
  [null, /^\/grades\/(import|moodle|connect|settings)(\/|$)/, 'connectGradebooks'],
  ['POST', /^\/grades(\/|$)/, 'connectGradebooks'],
];

/** The action a teacher request needs: the table above, else `view` for reads and `editDefinitions` for other writes. */
export function actionForTeacherRoute(method: string, path: string): Action {
  for (const [methods, pattern, action] of TEACHER_ROUTES) {
    if ((methods === null || methods === method) && pattern.test(path)) return action;
  }
  return method === 'GET' || method === 'HEAD' ? 'view' : 'editDefinitions';
}

/** Guards every `/teacher/…` request of the tool router (mount after loadSession). */
export function teacherPermissions(rolesOf?: RolesOf): RequestHandler {
  return (req, res, next) => {
    const m = /^\/teacher(\/.*)?$/.exec(req.path);
    if (!m) return next();
    return requirePermission(actionForTeacherRoute(req.method, m[1] ?? '/'), rolesOf)(req, res, next);
  };
}

/**
 * The teacher's pages (R4, R5): grade data and sync, the course's certificate definitions, the
 * roster overview per definition with its actions, and the audit log. Mounted under
 * `/app/:session/teacher` behind `requireRole('teacher')`: the launch decides the course, and
 * every id in a URL or form (definition, certificate, job) is looked up *in that course* by the
 * services, so another course's id is simply not found (404).
 *
 * Forms post to `/app/<session>/teacher/…`; the session token in the path is what authorises
 * them (a cross-site page cannot know it), see src/lti/session.service.ts. Each route validates
 * its query or body (src/web/teacher/schema.ts), calls a service and renders a view
 * (src/web/teacher/*.view.ts); the pages are grouped in src/web/teacher/*.routes.ts:
 *
 *   home.routes.ts
 *     GET  /                                     home: grade data, definitions, settings
 *     POST /sync                                 "Sync now" (background job)
 *     POST /settings                             automatic re-issue after sync
 *     GET  /audit                                the audit log, newest first
 *   definition-form.routes.ts
 *     GET  /definitions/new, POST /definitions   create a definition
 *     GET  /definitions/:id/edit, POST /definitions/:id   change it
 *     POST /definitions/:id/archive              archive it
 *   definition.routes.ts
 *     GET  /definitions/:id                      roster overview (filters, sort, pages)
 *     GET|POST /definitions/:id/generate         dry run, then "generate all" (background job)
 *     POST /definitions/:id/reissue-stale        re-issue every stale certificate (background job)
 *   revoke.routes.ts
 *     GET|POST /definitions/:id/delete-all       confirm, then revoke every valid certificate
 *     GET|POST /certificates/:id/delete          confirm, then revoke one certificate
 *     POST /certificates/:id/reissue             re-issue one stale certificate
 */
import { Router } from 'express';
import type { WebContext } from './context';
import { definitionFormRoutes } from './teacher/definition-form.routes';
import { definitionRoutes } from './teacher/definition.routes';
import { homeRoutes } from './teacher/home.routes';
import { revokeRoutes } from './teacher/revoke.routes';

export function teacherRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  // the form's /definitions/new before the overview's /definitions/:definitionId
  router.use(homeRoutes(ctx), definitionFormRoutes(ctx), definitionRoutes(ctx), revokeRoutes(ctx));
  return router;
}

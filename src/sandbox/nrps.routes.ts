/**
 * Names and Role Provisioning Services: `GET /api/courses/:courseId/memberships`. Removed people
 * are gone; Moodle and Canvas also leave out inactive enrolments, Chamilo and the standard mode
 * list them with `status: Inactive`.
 */
import express from 'express';
import { firstString, type SandboxContext } from './context';
import { MEDIA, principalRole, SCOPE } from './lti-vocabulary';
import { paginate } from './paging';
import { QUIRKS } from './quirks';
import { acceptsMediaType, type ServiceGuard, jsonError, serviceLocals } from './service-guard';

/** NRPS `role` filter: a full URI matches exactly, a short name matches the principal role. */
function hasRole(roles: string[], wanted: string): boolean {
  if (wanted.includes('://')) return roles.includes(wanted) || roles.some((r) => principalRole(r) === principalRole(wanted));
  return roles.some((r) => principalRole(r) === wanted);
}

export function nrpsRoutes(ctx: SandboxContext, guard: ServiceGuard): express.Router {
  const router = express.Router();

  router.get('/api/courses/:courseId/memberships', guard([SCOPE.nrps]), (req, res) => {
    const { course } = serviceLocals(res);
    if (!acceptsMediaType(req, res, course, MEDIA.membershipContainer)) return;
    const quirks = QUIRKS[course.quirks];
    const rlid = firstString(req.query.rlid);
    if (rlid !== undefined && !course.resourceLinks.some((l) => l.id === rlid)) {
      return jsonError(res, 400, 'invalid_rlid', `rlid ${rlid} is not a resource link of this course.`);
    }
    const role = firstString(req.query.role);
    const members = ctx.store
      .listMembers(course.id)
      .filter((m) => !(quirks.nrpsOmitsInactive && m.status !== 'Active'))
      .filter((m) => role === undefined || hasRole(m.roles, role));
    const selfUrl = ctx.urls.memberships(course.id);
    const page = paginate(req, members, selfUrl, quirks, { typographicQuotes: false, defaultPageSize: quirks.nrpsDefaultPageSize });
    if (page.link) res.set('Link', page.link);
    const body = {
      id: selfUrl,
      context: { id: ctx.store.contextIdOf(course), label: course.label, title: course.title },
      members: page.items.map((m) => ({
        status: m.status,
        name: m.name,
        given_name: m.givenName,
        family_name: m.familyName,
        email: m.email,
        user_id: ctx.store.subjectOf(course, m),
        lis_person_sourcedid: m.sourcedId,
        // Canvas lists each member's LTI 1.1 id too (lib/lti/ims/names_and_roles_serializer.rb).
        ...(quirks.canvasIdentity ? { lti11_legacy_user_id: m.legacyId } : {}),
        roles: m.roles,
      })),
    };
    res.type(MEDIA.membershipContainer).send(JSON.stringify(body));
  });
  return router;
}

/**
 * The roles a teacher launch acts with. Moodle cannot tell an editing from a non-editing teacher
 * at launch (both get `Instructor`: mod/lti/locallib.php lti_get_ims_role with the activity's
 * mod/lti:manage), but its roster can: the memberships service asks lti_get_ims_role without an
 * activity, which checks moodle/course:manageactivities, and so lists a non-editing teacher as a
 * **Learner** (mod/lti/service/memberships/classes/local/service/memberships.php; observed on a
 * real Moodle 4.5.6). A Moodle Instructor whose synced roster entry says Learner is therefore a
 * non-editing teacher, and acts as a TeachingAssistant (src/lti/permissions.ts). Until the first
 * roster sync nothing tells them apart and the launch's roles apply as they are.
 */
import { Types, type Connection } from 'mongoose';
import type { Launch } from '../lti/launch';
import { parseRole } from '../lti/roles';
import { memberModel } from './member.model';

/** The TeachingAssistant sub-role the tool adds for a Moodle non-editing teacher. */
export const DERIVED_TEACHING_ASSISTANT = 'http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant';

const EDITING = new Set(['instructor', 'administrator', 'manager']);

/** The launch's roles, narrowed to a TeachingAssistant's for a Moodle non-editing teacher. */
export async function teachingRolesOf(conn: Connection, launch: Pick<Launch, 'platformFamily' | 'roles' | 'courseId' | 'user'>): Promise<string[]> {
  if (launch.platformFamily !== 'moodle') return launch.roles;
  const parsed = launch.roles.map(parseRole);
  // Site administrators (urn:lti:sysrole:ims/lis/Administrator) keep every right.
  if (parsed.some((r) => r.scope !== 'context' && (r.name === 'administrator' || r.name === 'sysadmin'))) return launch.roles;
  if (!parsed.some((r) => r.scope === 'context' && r.name === 'instructor' && !r.subRole)) return launch.roles;
  if (!Types.ObjectId.isValid(launch.courseId)) return launch.roles;
  const member = await memberModel(conn)
    .findOne({ courseId: new Types.ObjectId(launch.courseId), userId: launch.user.id }, { roles: 1 })
    .lean<{ roles?: string[] }>();
  const rosterRoles = member?.roles ?? [];
  // No roster entry, or one written from this launch's own roles: nothing to tell from.
  if (rosterRoles.length === 0 || rosterRoles.some((r) => EDITING.has(parseRole(r).name))) return launch.roles;
  return [...launch.roles, DERIVED_TEACHING_ASSISTANT];
}

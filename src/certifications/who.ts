/**
 * Who may define certifications: the LMS's administrators, never a teacher or a learner.
 * In a launch that is an institution or system Administrator role — Moodle's site administrators
 * (`urn:lti:sysrole:ims/lis/Administrator` and `…/institution/person#Administrator`,
 * mod/lti/locallib.php `lti_get_ims_role()`), Canvas's account admins (institution Administrator,
 * `$Canvas.membership.roles`), Chamilo's platform admins. A course-level Administrator or
 * Manager manages a course, not the platform's certifications.
 */
import { parseRole } from '../lti/roles';

export function isLmsAdministrator(roles: readonly string[]): boolean {
  return roles.map(parseRole).some((r) => r.scope !== 'context' && (r.name === 'administrator' || r.name === 'sysadmin'));
}

/**
 * What each LMS role may do on the teacher page. Pure: `can(roles, action)`.
 *
 * | action            | Instructor | Administrator | TeachingAssistant | ContentDeveloper | Mentor, Learner |
 * |-------------------|:----------:|:-------------:|:-----------------:|:----------------:|:---------------:|
 * | view              |     ✓      |       ✓       |         ✓         |        ✓         |                 |
 * | issue             |     ✓      |       ✓       |         ✓         |                  |                 |
 * | reissue           |     ✓      |       ✓       |         ✓         |                  |                 |
 * | revoke (one)      |     ✓      |       ✓       |         ✓         |                  |                 |
 * | revokeAll         |     ✓      |       ✓       |                   |                  |                 |
 * | editDefinitions   |     ✓      |       ✓       |                   |        ✓         |                 |
 * | connectGradebooks |     ✓      |       ✓       |                   |                  |                 |
 *
 * Moodle cannot tell an editing from a non-editing teacher: `lti_get_ims_role()` (mod/lti/locallib.php)
 * sends `Instructor` to everyone with `mod/lti:manage` in the activity, and that capability's
 * archetypes are teacher (non-editing), editingteacher and manager (mod/lti/db/access.php); site
 * administrators get `urn:lti:sysrole:ims/lis/Administrator` in addition. No TeachingAssistant
 * role and no extra claim: a non-editing teacher is an Instructor at launch. Moodle's roster lists
 * them as Learner, though, so once it is synced the teacher pages narrow them to a TeachingAssistant
 * (src/grades/teaching-roles.service.ts). Canvas sends TeachingAssistant for its TA role
 * (`…/membership/Instructor#TeachingAssistant`) and ContentDeveloper for designers.
 *
 * Several roles: the union of what each allows, except that the principal `Instructor` sent beside
 * the sub-role `Instructor#TeachingAssistant` (as LTI asks platforms to) does not make a TA an instructor.
 */
import { parseRole } from './roles';

export const ACTIONS = ['view', 'issue', 'reissue', 'revoke', 'revokeAll', 'editDefinitions', 'connectGradebooks'] as const;
export type Action = (typeof ACTIONS)[number];

type Capacity = 'instructor' | 'administrator' | 'teachingassistant' | 'contentdeveloper';

const ALLOWED: Record<Capacity, ReadonlySet<Action>> = {
  instructor: new Set(ACTIONS),
  administrator: new Set(ACTIONS),
  teachingassistant: new Set<Action>(['view', 'issue', 'reissue', 'revoke']),
  contentdeveloper: new Set<Action>(['view', 'editDefinitions']),
};

/** The capacities one role string grants (a sub-role narrows its parent: Instructor#TeachingAssistant is a TA). */
function capacitiesOf(raw: string): Capacity[] {
  const r = parseRole(raw);
  if (r.scope !== 'context') return r.name === 'administrator' || r.name === 'sysadmin' ? ['administrator'] : [];
  const name = r.subRole === 'teachingassistant' ? 'teachingassistant' : r.name;
  if (name === 'instructor') return ['instructor'];
  if (name === 'administrator' || name === 'manager') return ['administrator'];
  if (name === 'teachingassistant') return ['teachingassistant'];
  if (name === 'contentdeveloper') return ['contentdeveloper'];
  return [];
}

/** Whether a launch with these LTI roles may do `action` in its course. */
export function can(roles: readonly string[], action: Action): boolean {
  const capacities = new Set(roles.flatMap(capacitiesOf));
  // LTI asks platforms to send a sub-role's principal role with it: `Instructor` beside
  // `Instructor#TeachingAssistant` names the same TA, not an instructor.
  const taSubRole = roles.some((r) => parseRole(r).subRole === 'teachingassistant');
  if (taSubRole) capacities.delete('instructor');
  return [...capacities].some((c) => ALLOWED[c].has(action));
}

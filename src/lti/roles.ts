/**
 * Turns the roles an LMS sends into what the tool needs: teacher page, learner page, or nothing.
 *
 * The vocabularies differ per LMS: full LIS v2 URIs (`http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor`),
 * sub-roles (`…/membership/Instructor#TeachingAssistant`), institution and system roles
 * (`…/institution/person#Administrator`), the short names LTI 1.1 used and some platforms still
 * send (`Instructor`, `urn:lti:role:ims/lis/TeachingAssistant`), and Canvas's extra system roles.
 * Context (membership) roles decide; an institution or system Administrator also gets the teacher
 * page, because administrators manage courses they are not enrolled in.
 */
import type { ToolRole } from './launch';

const TEACHER_CONTEXT_ROLES = new Set(['instructor', 'teachingassistant', 'contentdeveloper', 'administrator', 'manager']);
const LEARNER_CONTEXT_ROLES = new Set(['learner', 'student']);

interface ParsedRole {
  scope: 'context' | 'institution' | 'system';
  name: string;
  subRole?: string;
}

/** Parses one role string of any known vocabulary; unknown strings become context roles by their last word. */
export function parseRole(raw: string): ParsedRole {
  const role = raw.trim();
  // LIS v2 URIs: …/lis/v2/membership#Instructor, …/lis/v2/membership/Instructor#TeachingAssistant,
  // …/lis/v2/institution/person#Administrator, …/lis/v2/system/person#Administrator
  const v2 = /\/vocab\/lis\/v2\/(membership|institution\/person|system\/person)(?:\/([A-Za-z]+))?#([A-Za-z]+)$/.exec(role);
  if (v2) {
    const scope = v2[1] === 'membership' ? 'context' : v2[1] === 'institution/person' ? 'institution' : 'system';
    if (v2[2]) return { scope, name: v2[2].toLowerCase(), subRole: v2[3]!.toLowerCase() };
    return { scope, name: v2[3]!.toLowerCase() };
  }
  // LTI 1.1 URNs: urn:lti:role:ims/lis/Instructor, urn:lti:instrole:ims/lis/Administrator, urn:lti:sysrole:ims/lis/SysAdmin
  const urn = /^urn:lti:(role|instrole|sysrole):ims\/lis\/([A-Za-z]+)(?:\/([A-Za-z]+))?$/.exec(role);
  if (urn) {
    const scope = urn[1] === 'role' ? 'context' : urn[1] === 'instrole' ? 'institution' : 'system';
    if (urn[3]) return { scope, name: urn[2]!.toLowerCase(), subRole: urn[3].toLowerCase() };
    return { scope, name: urn[2]!.toLowerCase() };
  }
  // Short names (Instructor, Learner, TeachingAssistant) and anything else: the word after the last # or /.
  const word = role.split(/[#/]/).pop() ?? role;
  return { scope: 'context', name: word.toLowerCase() };
}

/** Decides which page a person with these roles may use. */
export function toolRoleOf(roles: readonly string[]): ToolRole {
  const parsed = roles.map(parseRole);
  const isTeacher = parsed.some(
    (r) =>
      (r.scope === 'context' && (TEACHER_CONTEXT_ROLES.has(r.name) || (r.subRole !== undefined && TEACHER_CONTEXT_ROLES.has(r.subRole)))) ||
      (r.scope !== 'context' && (r.name === 'administrator' || r.name === 'sysadmin')),
  );
  if (isTeacher) return 'teacher';
  // A sub-role like Learner#ExternalLearner is still a learner; Mentor, Observer or Guest are not.
  const isLearner = parsed.some((r) => r.scope === 'context' && LEARNER_CONTEXT_ROLES.has(r.name));
  return isLearner ? 'learner' : 'none';
}

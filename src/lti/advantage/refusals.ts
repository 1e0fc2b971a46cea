/**
 * What an error answer of an AGS or NRPS call means for the teacher, in words that say what to
 * fix. 401/403 (after the one token refresh) are scopes the platform does not grant this tool and
 * are described by scopes.ts; this covers the rest.
 */
import { SCOPES } from './scopes';

export type AdvantageService = 'ags' | 'nrps';

/** Which service a scope belongs to. */
export function serviceOfScope(scope: string): AdvantageService {
  return scope === SCOPES.membershipReadonly ? 'nrps' : 'ags';
}

const NAME: Record<AdvantageService, string> = { ags: 'grade service (AGS)', nrps: 'roster service (NRPS)' };

/**
 * The teacher-facing explanation of an HTTP error status from the platform's AGS/NRPS endpoint.
 * `platformFamily` is the course's (`moodle`, `canvas`, `chamilo`, …), for advice only that LMS needs.
 */
export function describeRefusal(status: number, url: string, service: AdvantageService, platformFamily?: string): string {
  const what = `The platform's ${NAME[service]} answered ${status} at ${url}`;
  if (platformFamily === 'chamilo' && ((service === 'ags' && status >= 500) || (service === 'nrps' && status === 400))) {
    // Chamilo 1.11.28 (observed): a tool added with deep linking on places a copy of itself whose
    // course is empty; its AGS endpoints die with 500 and NRPS answers 400 for every call.
    return `${what}. In Chamilo this means the tool was placed in the course through deep linking: that copy of the tool has no course, so its grades and roster cannot be read. Remove the tool from the course and add it again with deep linking switched off in the tool's settings (Chamilo's IMS/LTI plugin), then open it once as a teacher.`;
  }
  if (status === 404) {
    return `${what}: it no longer knows this address. The course, the activity or the tool may have been deleted or re-added in the LMS. Open the tool once from the course as a teacher so that it learns the current addresses, then sync again.`;
  }
  if (status === 400 || status === 422) {
    return `${what}: it refused the request. Check in the LMS that the tool is still enabled for this course with the ${NAME[service]} switched on; if it is, the LMS administrator can find the reason in the LMS's logs.`;
  }
  if (status === 429) return `${what}: too many requests. Wait a few minutes and sync again.`;
  if (status >= 500) {
    return `${what}: an error inside the LMS, not in this tool. Try again later; if it keeps failing, ask the LMS administrator to look for this error in the LMS's logs.`;
  }
  return `${what}. Ask the LMS administrator to check the tool's settings for this course.`;
}

/** describeRefusal as a message (grades.syncError.refused.*), for the page: the same cases, the same order. */
export function refusalRef(status: number, url: string, service: AdvantageService, platformFamily?: string): { key: string; params: Record<string, string | number> } {
  const params = { service, status, url };
  const key = (k: string) => ({ key: `grades.syncError.refused.${k}`, params });
  if (platformFamily === 'chamilo' && ((service === 'ags' && status >= 500) || (service === 'nrps' && status === 400))) return key('chamiloDeepLinked');
  if (status === 404) return key('notFound');
  if (status === 400 || status === 422) return key('badRequest');
  if (status === 429) return key('tooMany');
  if (status >= 500) return key('serverError');
  return key('other');
}

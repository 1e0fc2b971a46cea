/**
 * What a Moodle web-service call can answer instead of data, as typed errors whose message says,
 * to the teacher or administrator who reads it, exactly what to change in Moodle.
 *
 * Moodle answers a refused call with HTTP **200** and a JSON body
 * `{"exception": <class>, "errorcode": <code>, "message": <text>[, "debuginfo": …]}`
 * (webservice/rest/locallib.php, `generate_error()`); `debuginfo` only when the site debugs, so the
 * message never relies on it. The codes and texts below are Moodle 4.5's:
 * - `invalidtoken` "Invalid token - token not found" (webservice/lib.php `authenticate_by_token`);
 * - `accessexception` "Access control exception": the function is not in the token's service, the
 *   user is not an authorised user of a restricted service, the token expired, or the user lacks
 *   `webservice/rest:use` (webservice/lib.php `load_function_info`, `authenticate_user`);
 * - `nopermissions` "Sorry, but you do not currently have permissions to do that (<capability
 *   name>)." from `required_capability_exception` (lib/classes/exception/required_capability_exception.php),
 *   which names the capability by its human string (lang/en/role.php), not by its id;
 * - `invalidrecord` "Can't find data record in database table external_functions." for a function
 *   this Moodle does not have (lib/external/classes/external_api.php `external_function_info`);
 * - `cannotviewreport` from core_completion_get_course_completion_status when completion tracking is
 *   off for the course or site, or the user lacks report/completion:view (completion/classes/external.php);
 * - a REST server switched off answers **403** with an empty body (webservice/rest/server.php).
 */
import { PlatformError } from '../../errors';

/** The three functions the tool's Moodle service must contain, and what each is for. */
export const MOODLE_FUNCTIONS = {
  gradeItems: 'gradereport_user_get_grade_items',
  enrolledUsers: 'core_enrol_get_enrolled_users',
  completion: 'core_completion_get_course_completion_status',
} as const;
export type MoodleFunction = (typeof MOODLE_FUNCTIONS)[keyof typeof MOODLE_FUNCTIONS];

/**
 * Capabilities the web-service user needs, keyed by the human name Moodle puts in a
 * `nopermissions` message (lang/en/role.php, grade/report/user/lang/en/gradereport_user.php,
 * report/completion/lang/en/report_completion.php), so a refusal can name the capability id.
 */
export const CAPABILITY_BY_NAME: Record<string, string> = {
  'View grades of other users': 'moodle/grade:viewall',
  'View user report': 'gradereport/user:view',
  'View participants': 'moodle/course:viewparticipants',
  'View hidden grades for owner': 'moodle/grade:viewhidden',
  'View courses without participation': 'moodle/course:view',
  'View user full information': 'moodle/user:viewalldetails',
  'View course completion report': 'report/completion:view',
  'Access all groups': 'moodle/site:accessallgroups',
  'Use REST protocol': 'webservice/rest:use',
};

/** Where the administrator finds each setting (Moodle 4.5 menu labels). */
const WHERE = {
  tokens: 'Site administration › Server › Web services › Manage tokens',
  services: 'Site administration › Server › Web services › External services',
  roles: 'Site administration › Users › Permissions › Define roles',
  enable: 'Site administration › General › Advanced features › Enable web services, and Site administration › Server › Web services › Manage protocols › REST',
};

export interface MoodleErrorInfo {
  /** The function that was called. */
  wsfunction: string;
  /** Moodle's `errorcode` (absent for HTTP-level failures). */
  errorcode?: string;
  /** Moodle's `exception` class. */
  exception?: string;
  /** Moodle's own message, as it sent it. */
  moodleMessage?: string;
  /** The REST endpoint that was called. */
  url: string;
}

/** Base of every Moodle web-service refusal. */
export class MoodleWsError extends PlatformError {
  /** Stable machine code of the refusal (recorded as the sync error's kind). */
  readonly kind: string = 'moodle_ws_error';
  readonly wsfunction: string;
  readonly errorcode?: string;
  readonly exception?: string;
  readonly moodleMessage?: string;
  readonly url: string;

  constructor(message: string, info: MoodleErrorInfo) {
    super(message, {
      wsfunction: info.wsfunction,
      ...(info.errorcode ? { errorcode: info.errorcode } : {}),
      ...(info.moodleMessage ? { moodleMessage: info.moodleMessage } : {}),
    });
    this.wsfunction = info.wsfunction;
    this.errorcode = info.errorcode;
    this.exception = info.exception;
    this.moodleMessage = info.moodleMessage;
    this.url = info.url;
  }
}

/** The token is unknown to Moodle: revoked, deleted with its user, or mistyped. */
export class MoodleInvalidTokenError extends MoodleWsError {
  override readonly kind = 'moodle_invalid_token';
}

/** The token's service does not contain the function (or the service/user is restricted). */
export class MoodleFunctionNotAllowedError extends MoodleWsError {
  override readonly kind = 'moodle_function_not_allowed';
}

/** This Moodle has no such function at all (an older Moodle, or a disabled plugin). */
export class MoodleUnknownFunctionError extends MoodleWsError {
  override readonly kind = 'moodle_unknown_function';
}

/** The web-service user lacks a capability; `capability` is its id when Moodle's text names a known one. */
export class MoodleMissingCapabilityError extends MoodleWsError {
  override readonly kind = 'moodle_missing_capability';
  constructor(
    message: string,
    info: MoodleErrorInfo,
    readonly capability: string | undefined,
    readonly capabilityName: string | undefined,
  ) {
    super(message, info);
  }
}

/** Course completion cannot be read: tracking is off for the course or the site, or report/completion:view is missing. */
export class MoodleCompletionUnavailableError extends MoodleWsError {
  override readonly kind = 'moodle_completion_unavailable';
}

/** The course has completion tracking but no completion criteria. */
export class MoodleNoCompletionCriteriaError extends MoodleWsError {
  override readonly kind = 'moodle_no_completion_criteria';
}

/** No course with that id in this Moodle. */
export class MoodleCourseNotFoundError extends MoodleWsError {
  override readonly kind = 'moodle_course_not_found';
}

/** The web-service user may not enter the course (not enrolled, no moodle/course:view, course hidden). */
export class MoodleCourseAccessError extends MoodleWsError {
  override readonly kind = 'moodle_course_access';
}

/** Web services or the REST protocol are switched off on the site, or the service is disabled. */
export class MoodleServiceUnavailableError extends MoodleWsError {
  override readonly kind = 'moodle_service_unavailable';
}

/** The web-service user's account cannot be used (suspended, unconfirmed, deleted, nologin, expired password). */
export class MoodleUserRefusedError extends MoodleWsError {
  override readonly kind = 'moodle_user_refused';
}

/** Moodle answered something that is not its web-service JSON (an HTML page, a proxy error). */
export class MoodleBadResponseError extends MoodleWsError {
  override readonly kind = 'moodle_bad_response';
}

/** Moodle did not answer (connection refused, DNS, timeout) after the retries. */
export class MoodleUnreachableError extends MoodleWsError {
  override readonly kind = 'moodle_unreachable';
}

const USER_REFUSALS = new Set(['wsaccessusersuspended', 'wsaccessuserunconfirmed', 'wsaccessuserdeleted', 'wsaccessusernologin', 'wsaccessuserexpired', 'passwordisexpired', 'usernotconfirmed']);

/** Reads the capability name out of a `nopermissions` message: "… to do that (View grades of other users)." */
export function capabilityFromMessage(message: string | undefined): { id?: string; name?: string } {
  const m = /\(([^()]+)\)\.?\s*$/.exec(message ?? '');
  if (!m) return {};
  const name = m[1]!.trim();
  return { id: CAPABILITY_BY_NAME[name] ?? (/^[a-z]+\/[a-z_]+:[a-z_]+$/.test(name) ? name : undefined), name };
}

/** Turns a Moodle exception body into the typed error that says what the administrator must change. */
export function errorFromMoodle(body: { exception?: unknown; errorcode?: unknown; message?: unknown }, ctx: { wsfunction: string; url: string; courseId?: number }): MoodleWsError {
  const errorcode = typeof body.errorcode === 'string' ? body.errorcode : undefined;
  const exception = typeof body.exception === 'string' ? body.exception : undefined;
  const moodleMessage = typeof body.message === 'string' ? body.message : undefined;
  const info: MoodleErrorInfo = { wsfunction: ctx.wsfunction, errorcode, exception, moodleMessage, url: ctx.url };
  const fn = ctx.wsfunction;
  const course = ctx.courseId !== undefined ? ` course ${ctx.courseId}` : ' this course';
  const said = moodleMessage ? ` (Moodle said: "${moodleMessage}")` : '';

  if (errorcode === 'invalidtoken') {
    return new MoodleInvalidTokenError(
      `Moodle does not accept the web-service token any more (revoked, its user deleted, or mistyped): the administrator creates a new token (${WHERE.tokens}) and enters it on the tool's /admin page.`,
      info,
    );
  }
  if (errorcode === 'accessexception') {
    return new MoodleFunctionNotAllowedError(
      `Moodle refused the function ${fn}: add ${fn} to the tool's external service (${WHERE.services} › Functions). If it is there, check that the token's user is an authorised user of the service, that the token has not expired, and that the user has webservice/rest:use.`,
      info,
    );
  }
  if (errorcode === 'invalidrecord' && /external_functions/.test(moodleMessage ?? '')) {
    return new MoodleUnknownFunctionError(`This Moodle has no web-service function ${fn} (the tool needs Moodle 3.2 or newer, with the user grade report enabled).${said}`, info);
  }
  if (errorcode === 'nopermissions' || (exception ?? '').endsWith('required_capability_exception')) {
    const cap = capabilityFromMessage(moodleMessage);
    const what = cap.id ? `${cap.id}${cap.name ? ` ("${cap.name}")` : ''}` : cap.name ? `"${cap.name}"` : 'a capability';
    return new MoodleMissingCapabilityError(
      `The Moodle web-service user lacks the capability ${what} in${course}, needed by ${fn}: allow it in the user's role (${WHERE.roles}).`,
      info,
      cap.id,
      cap.name,
    );
  }
  if (errorcode === 'nopermissiontoviewgrades') {
    return new MoodleMissingCapabilityError(
      `The Moodle web-service user lacks the capability moodle/grade:viewall ("View grades of other users") in${course}, needed by ${fn}: allow it in the user's role (${WHERE.roles}).`,
      info,
      'moodle/grade:viewall',
      'View grades of other users',
    );
  }
  if (errorcode === 'notingroup') {
    return new MoodleMissingCapabilityError(
      `${course.trim().replace(/^./, (c) => c.toUpperCase())} uses separate groups and the Moodle web-service user is in none of them: allow moodle/site:accessallgroups in its role (${WHERE.roles}).`,
      info,
      'moodle/site:accessallgroups',
      'Access all groups',
    );
  }
  if (errorcode === 'cannotviewreport') {
    return new MoodleCompletionUnavailableError(
      `Moodle does not show course completion for${course}: completion tracking is off (Course › Settings › Completion tracking, and Site administration › Advanced features › Enable completion tracking), or the web-service user lacks report/completion:view. Grades still sync; only completion is missing.`,
      info,
    );
  }
  if (errorcode === 'nocriteriaset') {
    return new MoodleNoCompletionCriteriaError(`Completion tracking is on in${course} but no completion criteria are set (Course › Course completion).`, info);
  }
  if (errorcode === 'invalidcourseid' || (errorcode === 'invalidrecord' && /table course\b/.test(moodleMessage ?? ''))) {
    return new MoodleCourseNotFoundError(`Moodle has no${course}: the course may have been deleted, or the tool is set up with the wrong Moodle.${said}`, info);
  }
  if (errorcode === 'requireloginerror' || errorcode === 'errorcoursecontextnotvalid') {
    return new MoodleCourseAccessError(
      `The Moodle web-service user cannot enter${course}: give its role moodle/course:view ("View courses without participation") at the site level, or enrol it in the course; a hidden course also needs moodle/course:viewhiddencourses.${said}`,
      info,
    );
  }
  if (errorcode === 'servicenotavailable' || errorcode === 'enablewsdescription') {
    return new MoodleServiceUnavailableError(`Moodle's web service is not available: enable web services and the REST protocol (${WHERE.enable}), and check that the tool's external service is enabled.${said}`, info);
  }
  if (errorcode === 'sitemaintenance') {
    return new MoodleServiceUnavailableError('Moodle is in maintenance mode; sync again when it is back.', info);
  }
  if (errorcode && USER_REFUSALS.has(errorcode)) {
    return new MoodleUserRefusedError(`Moodle refused the web-service user's account (${errorcode}): it must be active, confirmed and use an authentication method that allows logging in.${said}`, info);
  }
  return new MoodleWsError(`Moodle refused ${fn}${errorcode ? ` (${errorcode})` : ''}${said}.`, info);
}

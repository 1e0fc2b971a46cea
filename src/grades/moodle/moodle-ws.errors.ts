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
import { PlatformError, type MessageRef } from '../../errors';
import { inEnglish } from '../../i18n/english';

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

  /** `message` is English (logs); `translated` is what pages show, with Moodle's menus in the viewer's language. */
  constructor(message: string, info: MoodleErrorInfo, translated?: MessageRef) {
    super(
      message,
      {
        wsfunction: info.wsfunction,
        ...(info.errorcode ? { errorcode: info.errorcode } : {}),
        ...(info.moodleMessage ? { moodleMessage: info.moodleMessage } : {}),
      },
      translated,
    );
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
    translated?: MessageRef,
  ) {
    super(message, info, translated);
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
  // Moodle course ids as text: a number would be written "1,234" in a sentence.
  const course: Record<string, string> = ctx.courseId !== undefined ? { courseId: String(ctx.courseId) } : {};
  const said: Record<string, string> = moodleMessage ? { said: moodleMessage } : {};
  /** The error `Kind` with the message `key` (grades.syncError.moodle.*): English for the log, the key for pages. */
  const make = <E extends MoodleWsError>(Kind: new (m: string, i: MoodleErrorInfo, r: MessageRef) => E, key: string, params: Record<string, string | number> = {}): E => {
    const ref = { key: `grades.syncError.moodle.${key}`, params };
    return new Kind(inEnglish(ref), info, ref);
  };
  const missingCapability = (id: string | undefined, name: string | undefined, key: string, params: Record<string, string | number>) => {
    const ref = { key: `grades.syncError.moodle.${key}`, params };
    return new MoodleMissingCapabilityError(inEnglish(ref), info, id, name, ref);
  };

  if (errorcode === 'invalidtoken') return make(MoodleInvalidTokenError, 'invalidToken');
  if (errorcode === 'accessexception') return make(MoodleFunctionNotAllowedError, 'functionNotAllowed', { fn });
  if (errorcode === 'invalidrecord' && /external_functions/.test(moodleMessage ?? '')) return make(MoodleUnknownFunctionError, 'unknownFunction', { fn, ...said });
  if (errorcode === 'nopermissions' || (exception ?? '').endsWith('required_capability_exception')) {
    const cap = capabilityFromMessage(moodleMessage);
    const what = cap.id ? `${cap.id}${cap.name ? ` ("${cap.name}")` : ''}` : cap.name ? `"${cap.name}"` : undefined;
    return missingCapability(cap.id, cap.name, what ? 'missingCapability' : 'missingCapabilityUnnamed', { ...(what ? { capability: what } : {}), fn, ...course });
  }
  if (errorcode === 'nopermissiontoviewgrades') {
    return missingCapability('moodle/grade:viewall', 'View grades of other users', 'missingCapability', { capability: 'moodle/grade:viewall ("View grades of other users")', fn, ...course });
  }
  if (errorcode === 'notingroup') return missingCapability('moodle/site:accessallgroups', 'Access all groups', 'notInGroup', { ...course });
  if (errorcode === 'cannotviewreport') return make(MoodleCompletionUnavailableError, 'completionUnavailable', { ...course });
  if (errorcode === 'nocriteriaset') return make(MoodleNoCompletionCriteriaError, 'noCompletionCriteria', { ...course });
  if (errorcode === 'invalidcourseid' || (errorcode === 'invalidrecord' && /table course\b/.test(moodleMessage ?? ''))) {
    return make(MoodleCourseNotFoundError, 'courseNotFound', { ...course, ...said });
  }
  if (errorcode === 'requireloginerror' || errorcode === 'errorcoursecontextnotvalid') return make(MoodleCourseAccessError, 'courseAccess', { ...course, ...said });
  if (errorcode === 'servicenotavailable' || errorcode === 'enablewsdescription') return make(MoodleServiceUnavailableError, 'serviceUnavailable', { ...said });
  if (errorcode === 'sitemaintenance') return make(MoodleServiceUnavailableError, 'maintenance');
  if (errorcode && USER_REFUSALS.has(errorcode)) return make(MoodleUserRefusedError, 'userRefused', { errorcode, ...said });
  return make(MoodleWsError, 'refused', { fn, ...(errorcode ? { errorcode } : {}), ...said });
}

/**
 * A client for Moodle's REST web service (Moodle 3.2 – 4.5), for the three functions the grade
 * import needs. Every call is `POST <moodle>/webservice/rest/server.php` with `wstoken`,
 * `wsfunction`, `moodlewsrestformat=json` and the function's parameters form-encoded the way PHP
 * reads arrays (`options[0][name]=limitfrom`), as webservice/rest/locallib.php `parse_request()`
 * expects. The token goes in the body, never in the URL (server logs keep URLs).
 *
 * Refusals come back as HTTP 200 with `{"exception", "errorcode", "message"}`; they become the
 * typed errors of moodle-ws.errors.ts, which name the function or capability to add. These
 * functions only read, so a 5xx or a timeout may be retried (the shared retry policy does it).
 */
import { AppError, type MessageRef } from '../../errors';
import { PlatformTimeoutError, PlatformUnreachableError } from '../../http/platform-errors';
import { inEnglish } from '../../i18n/english';
import type { Logger } from '../../logger';
import {
  errorFromMoodle,
  MOODLE_FUNCTIONS,
  MoodleBadResponseError,
  type MoodleErrorInfo,
  MoodleServiceUnavailableError,
  MoodleUnreachableError,
  MoodleWsError,
} from './moodle-ws.errors';

/** The part of the shared retry policy (src/http/retry-policy.ts) the client uses. */
export interface MoodleHttp {
  send(req: { url: string; method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal; idempotent?: boolean }): Promise<{ status: number; ok: boolean; text: string; url: string }>;
}

/** One grade item of one user, as gradereport_user_get_grade_items returns it (grade/report/user/classes/external/user.php). */
export interface MoodleGradeItem {
  id: number;
  /** null for the course total and category totals: their name is the category's. */
  itemname: string | null;
  /** `mod` (an activity), `manual`, `category` (a category total), `course` (the course total). */
  itemtype: string;
  /** `quiz`, `assign`, `lti`, …; null for manual, category and course items. */
  itemmodule: string | null;
  iteminstance: number | null;
  itemnumber: number | null;
  idnumber: string | null;
  categoryid: number | null;
  /** Course module id (activities only). */
  cmid?: number;
  locked?: boolean | null;
  weightraw?: number;
  /** null: not graded. */
  graderaw?: number | null;
  grademin?: number;
  grademax?: number;
  /** Unix seconds; null when not graded. */
  gradedategraded?: number | null;
  gradedatesubmitted?: number | null;
  gradeishidden?: boolean;
  gradehiddenbydate?: boolean;
  gradeislocked?: boolean | null;
  gradeisoverridden?: boolean | null;
  percentageformatted?: string;
  status?: string;
}

export interface MoodleUserGrades {
  courseid: number;
  userid: number;
  userfullname: string;
  useridnumber?: string;
  maxdepth: number;
  gradeitems: MoodleGradeItem[];
}

/** A course participant as core_enrol_get_enrolled_users returns it (enrol/externallib.php). */
export interface MoodleEnrolledUser {
  id: number;
  /** Only when the web-service user has moodle/user:viewalldetails (user/lib.php `user_get_user_details`). */
  username?: string;
  firstname?: string;
  lastname?: string;
  fullname: string;
  email?: string;
  idnumber?: string;
  roles?: { roleid: number; name: string; shortname: string; sortorder: number }[];
}

/** core_completion_get_course_completion_status's `completionstatus` (completion/classes/external.php). */
export interface MoodleCompletionStatus {
  completed: boolean;
  /** 1 = all criteria, 2 = any. */
  aggregation: number;
  completions: { type: number; title: string; status: string; complete: boolean; timecompleted: number | null }[];
}

export interface MoodleWsClientOptions {
  /** The Moodle site's wwwroot, e.g. https://moodle.example.edu (the registration's issuer). */
  baseUrl: string;
  token: string;
  http: MoodleHttp;
  logger?: Logger;
  /** Counts every call (the benchmark reports them). */
  onCall?: (wsfunction: string) => void;
  /** The SSRF guard, run once before the first call (src/lti/advantage/url-guard.ts). */
  checkUrl?: (url: string) => Promise<unknown>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** For error messages that name the course. */
  courseId?: number;
}

export interface MoodleWsClient {
  readonly endpoint: string;
  /** Calls any function; resolves to its decoded JSON, rejects with a MoodleWsError. */
  call<T>(wsfunction: string, params: Record<string, unknown>, opts?: CallOptions): Promise<T>;
  /**
   * Every grade item of every graded user of the course in **one** call (userid=0: Moodle has no
   * paging here), or of one user. Ungraded items are listed with `graderaw: null`.
   */
  getGradeItems(courseId: number, opts?: CallOptions & { userId?: number; groupId?: number }): Promise<MoodleUserGrades[]>;
  /**
   * The course roster. `pageSize` 0 (the default) asks for everyone in one call; otherwise pages
   * with limitfrom/limitnumber until a short page (Moodle gives no total).
   */
  getEnrolledUsers(courseId: number, opts?: CallOptions & { pageSize?: number; onPage?: (users: MoodleEnrolledUser[]) => Promise<void> | void }): Promise<MoodleEnrolledUser[]>;
  /** One learner's course completion (Moodle has no call for a whole course). */
  getCourseCompletionStatus(courseId: number, userId: number, opts?: CallOptions): Promise<MoodleCompletionStatus>;
}

/** The fields the roster needs; asking for them keeps Moodle from adding groups, preferences and courses. */
const ROSTER_FIELDS = 'id,username,firstname,lastname,fullname,email,idnumber,roles';

/** PHP-style form encoding: nested objects and arrays become `a[0][name]=…`. */
export function encodeMoodleParams(params: Record<string, unknown>): URLSearchParams {
  const out = new URLSearchParams();
  const add = (key: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) value.forEach((v, i) => add(`${key}[${i}]`, v));
    else if (typeof value === 'object') for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(`${key}[${k}]`, v);
    else if (typeof value === 'boolean') out.append(key, value ? '1' : '0');
    else out.append(key, String(value));
  };
  for (const [k, v] of Object.entries(params)) add(k, v);
  return out;
}

/** The REST endpoint of a Moodle site. */
export function moodleRestEndpoint(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/webservice/rest/server.php`;
}

/** A short, safe excerpt of a body that is not JSON (an HTML error page, a PHP fatal error). */
function excerpt(text: string): string {
  return text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 160);
}

/** A transport or answer failure `Kind` with its message `key` (grades.syncError.moodle.*): English for the log, the key for pages. */
function failure<E extends MoodleWsError>(Kind: new (m: string, i: MoodleErrorInfo, r: MessageRef) => E, key: string, params: Record<string, string | number>, info: MoodleErrorInfo): E {
  const ref = { key: `grades.syncError.moodle.${key}`, params };
  return new Kind(inEnglish(ref), info, ref);
}

export function createMoodleWsClient(opts: MoodleWsClientOptions): MoodleWsClient {
  const endpoint = moodleRestEndpoint(opts.baseUrl);
  let guarded: Promise<unknown> | undefined;

  async function call<T>(wsfunction: string, params: Record<string, unknown>, callOpts: CallOptions = {}): Promise<T> {
    // Refused addresses (link-local, metadata, foreign loopback) never see the token.
    if (opts.checkUrl) await (guarded ??= opts.checkUrl(endpoint));
    const body = encodeMoodleParams({ wstoken: opts.token, wsfunction, moodlewsrestformat: 'json', ...params });
    opts.onCall?.(wsfunction);
    const info = { wsfunction, url: endpoint };
    let res: Awaited<ReturnType<MoodleHttp['send']>>;
    try {
      res = await opts.http.send({
        url: endpoint,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
        signal: callOpts.signal,
        // Every function the tool calls only reads: safe to retry after a 5xx or a timeout.
        idempotent: true,
      });
    } catch (err) {
      if (callOpts.signal?.aborted) throw err;
      // Transport failures (after the retry policy's retries) get Moodle-specific advice.
      const timeout = err instanceof PlatformTimeoutError || (err instanceof Error && err.name === 'TimeoutError');
      const unreachable = err instanceof PlatformUnreachableError || !(err instanceof AppError);
      if (!timeout && !unreachable) throw err;
      const reason = err instanceof AppError ? undefined : err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw failure(MoodleUnreachableError, timeout ? 'timeout' : 'unreachable', { baseUrl: opts.baseUrl, fn: wsfunction, ...(reason ? { reason } : {}) }, info);
    }
    if (res.status === 403 && res.text.trim() === '') {
      // webservice/rest/server.php: web services or the REST protocol are off.
      throw failure(MoodleServiceUnavailableError, 'restOff', {}, info);
    }
    if (res.status === 404) throw failure(MoodleBadResponseError, 'noService', { endpoint }, info);
    if (!res.ok) throw failure(MoodleBadResponseError, 'httpStatus', { status: res.status, fn: wsfunction, ...(res.text ? { excerpt: excerpt(res.text) } : {}) }, info);
    let data: unknown;
    try {
      data = JSON.parse(res.text);
    } catch {
      const shown = excerpt(res.text);
      throw failure(MoodleBadResponseError, 'notJson', { fn: wsfunction, ...(shown ? { excerpt: shown } : {}) }, info);
    }
    if (data && typeof data === 'object' && !Array.isArray(data) && 'exception' in data) {
      const err = errorFromMoodle(data as Record<string, unknown>, { ...info, courseId: callOpts.courseId });
      opts.logger?.warn(`moodle ${wsfunction}: ${err.errorcode ?? 'error'}`, { message: err.moodleMessage });
      throw err;
    }
    return data as T;
  }

  function expectObject<T>(data: unknown, key: string, wsfunction: string): T {
    if (!data || typeof data !== 'object' || !(key in data)) {
      throw failure(MoodleBadResponseError, 'missingField', { fn: wsfunction, field: key }, { wsfunction, url: endpoint });
    }
    return (data as Record<string, T>)[key]!;
  }

  return {
    endpoint,
    call,

    async getGradeItems(courseId, o = {}) {
      const fn = MOODLE_FUNCTIONS.gradeItems;
      const data = await call<unknown>(fn, { courseid: courseId, userid: o.userId ?? 0, groupid: o.groupId ?? 0 }, { signal: o.signal, courseId });
      const usergrades = expectObject<MoodleUserGrades[]>(data, 'usergrades', fn);
      if (!Array.isArray(usergrades)) throw failure(MoodleBadResponseError, 'notList', { fn, field: 'usergrades' }, { wsfunction: fn, url: endpoint });
      return usergrades;
    },

    async getEnrolledUsers(courseId, o = {}) {
      const fn = MOODLE_FUNCTIONS.enrolledUsers;
      const pageSize = o.pageSize ?? 0;
      const all: MoodleEnrolledUser[] = [];
      for (let from = 0; ; from += pageSize) {
        const options = [{ name: 'userfields', value: ROSTER_FIELDS }];
        if (pageSize > 0) options.push({ name: 'limitfrom', value: String(from) }, { name: 'limitnumber', value: String(pageSize) });
        const page = await call<MoodleEnrolledUser[]>(fn, { courseid: courseId, options }, { signal: o.signal, courseId });
        if (!Array.isArray(page)) throw failure(MoodleBadResponseError, 'answerNotList', { fn }, { wsfunction: fn, url: endpoint });
        all.push(...page);
        await o.onPage?.(page);
        if (pageSize === 0 || page.length < pageSize) return all;
      }
    },

    async getCourseCompletionStatus(courseId, userId, o = {}) {
      const fn = MOODLE_FUNCTIONS.completion;
      const data = await call<unknown>(fn, { courseid: courseId, userid: userId }, { signal: o.signal, courseId });
      return expectObject<MoodleCompletionStatus>(data, 'completionstatus', fn);
    },
  };
}

/** True for errors that mean "this token or service is set up wrong", as opposed to a bad answer. */
export function isSetupError(err: unknown): err is MoodleWsError {
  return err instanceof MoodleWsError && !(err instanceof MoodleBadResponseError);
}

/**
 * Setting up Moodle web services for a platform (the administrator, once), opening a client for a
 * course's platform (every sync), the per-course choice of the teacher, and "Test connection":
 * each function called once, each failure told as what to add in Moodle.
 */
import { Types, type Connection } from 'mongoose';
import { AppError, messageRefOf, ValidationError, type MessageRef } from '../../errors';
import { inEnglish } from '../../i18n/english';
import { createMoodleWsClient, type MoodleGradeItem, type MoodleHttp, type MoodleUserGrades, type MoodleWsClient } from './moodle-ws.client';
import { MOODLE_FUNCTIONS, MoodleCompletionUnavailableError, MoodleWsError } from './moodle-ws.errors';
import { moodleConnectionModel, moodleCourseSettingModel, type MoodleCheck, type MoodleConnection } from './moodle-connection.model';
import { decryptSecret, encryptSecret } from './token-crypto';
import { syncRunModel, type SyncRun } from '../sync-run.model';
import type { Launch } from '../../lti/launch';
import { checkPlatformUrl, hostOf, policyForRegistration, UnsafePlatformUrlError, type Lookup, type UrlPolicy } from '../../lti/advantage/url-guard';

export interface MoodleSetupDeps {
  conn: Connection;
  /** LTI_KEY: the token's encryption key is derived from it. */
  ltiKey: string;
  /** The HTTP layer for calls to Moodle (the shared retry policy). */
  http: MoodleHttp;
  now: () => Date;
  onCall?: (wsfunction: string) => void;
  /** DNS for the SSRF guard (tests). */
  lookup?: Lookup;
}

/** The stored token cannot be decrypted: LTI_KEY changed since it was entered. */
export class MoodleTokenUnreadableError extends AppError {
  override readonly status = 500;
  override readonly code = 'moodle_token_unreadable';
}

/**
 * A refused field of an administrator's form (Moodle or Canvas): the page names it and says what to
 * enter, in the administrator's language; the English (`field: …`) is for logs.
 */
export function formError(field: string, key: string): ValidationError {
  const ref = { key };
  return new ValidationError(`${field}: ${inEnglish(ref)}`, { field }, ref);
}

/** A Moodle token is 32 characters of [0-9a-f] (webservice/lib.php generate_token: md5); accept any sane token. */
const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;

export async function saveMoodleConnection(
  deps: Pick<MoodleSetupDeps, 'conn' | 'ltiKey' | 'now' | 'lookup'>,
  input: { issuer: string; baseUrl?: string; token?: string; readCompletion: boolean },
): Promise<MoodleConnection> {
  const Model = moodleConnectionModel(deps.conn);
  const existing = await Model.findOne({ issuer: input.issuer }).lean();
  const token = input.token?.trim();
  if (!token && !existing) throw formError('token', 'admin.formError.moodle.tokenMissing');
  if (token && !TOKEN_RE.test(token)) throw formError('token', 'admin.formError.moodle.tokenShape');
  const baseUrl = (input.baseUrl?.trim() || input.issuer).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw formError('baseUrl', 'admin.formError.moodle.baseUrlInvalid');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw formError('baseUrl', 'admin.formError.moodle.baseUrlScheme');
  try {
    await checkPlatformUrl(baseUrl, { ...moodleUrlPolicy(input.issuer, baseUrl), lookup: deps.lookup });
  } catch (err) {
    if (err instanceof UnsafePlatformUrlError) throw new ValidationError(`baseUrl: ${err.message}`, { field: 'baseUrl' }, messageRefOf(err));
    throw err;
  }
  const set: Partial<MoodleConnection> = { baseUrl, readCompletion: input.readCompletion };
  if (token) Object.assign(set, { token: encryptSecret(deps.ltiKey, token, input.issuer), tokenHint: token.slice(-4), setAt: deps.now(), lastTest: undefined });
  const doc = await Model.findOneAndUpdate({ issuer: input.issuer }, { $set: set, ...(token ? { $unset: { lastTest: '' } } : {}) }, { upsert: true, new: true, lean: true });
  return doc as MoodleConnection;
}

export async function removeMoodleConnection(conn: Connection, issuer: string): Promise<void> {
  await moodleConnectionModel(conn).deleteOne({ issuer });
}

export async function listMoodleConnections(conn: Connection): Promise<MoodleConnection[]> {
  return moodleConnectionModel(conn).find().lean<MoodleConnection[]>();
}

/**
 * The SSRF policy for a Moodle address: on the issuer's host by default; an address the
 * administrator chose may be on another host, but never link-local, metadata or "this host", and
 * loopback only when the registration itself is on loopback (url-guard.ts).
 */
export function moodleUrlPolicy(issuer: string, baseUrl: string): UrlPolicy {
  const reg = policyForRegistration({ issuer }, 'the Moodle web-service address');
  const sameHost = (() => {
    try {
      return hostOf(baseUrl) === hostOf(issuer);
    } catch {
      return false;
    }
  })();
  return sameHost ? reg : { allowLoopback: reg.allowLoopback, what: reg.what };
}

/** A client for the platform's Moodle, or null when its administrator has not set it up. */
export async function openMoodleClient(deps: MoodleSetupDeps, issuer: string): Promise<{ client: MoodleWsClient; connection: MoodleConnection } | null> {
  const connection = await moodleConnectionModel(deps.conn).findOne({ issuer }).lean<MoodleConnection>();
  if (!connection) return null;
  let token: string;
  try {
    token = decryptSecret(deps.ltiKey, connection.token, issuer);
  } catch {
    const ref = { key: 'grades.syncError.moodle.tokenUnreadable', params: { setting: 'LTI_KEY' } };
    throw new MoodleTokenUnreadableError(inEnglish(ref), undefined, ref);
  }
  const policy = { ...moodleUrlPolicy(issuer, connection.baseUrl), lookup: deps.lookup };
  return {
    connection,
    client: createMoodleWsClient({ baseUrl: connection.baseUrl, token, http: deps.http, onCall: deps.onCall, checkUrl: (url) => checkPlatformUrl(url, policy) }),
  };
}

export async function recordMoodleTest(conn: Connection, issuer: string, lastTest: NonNullable<MoodleConnection['lastTest']>): Promise<void> {
  await moodleConnectionModel(conn).updateOne({ issuer }, { $set: { lastTest } });
}

// ---- the teacher's choice per course -------------------------------------------------------------

export async function isMoodleSourceOn(conn: Connection, courseId: Types.ObjectId | string): Promise<boolean> {
  const s = await moodleCourseSettingModel(conn).findOne({ courseId }, { enabled: 1 }).lean();
  return s?.enabled === true;
}

export async function setMoodleSource(conn: Connection, courseId: Types.ObjectId | string, enabled: boolean, by: { userId: string; name?: string }): Promise<void> {
  await moodleCourseSettingModel(conn).updateOne({ courseId }, { $set: { enabled, changedBy: by } }, { upsert: true });
}

/** The administrator has set up Moodle web services for this platform. */
export async function isMoodleSetUp(conn: Connection, issuer: string): Promise<boolean> {
  return Boolean(await moodleConnectionModel(conn).exists({ issuer }));
}

/**
 * The "Moodle gradebook" line of the teacher's grade data block: offered once the administrator
 * has set up Moodle web services for the course's platform, on or off per course, with the
 * outcome of the last Moodle sync (its errors say what to fix in Moodle).
 */
export interface MoodleSourceStatus {
  /** The administrator set up web services for this platform. */
  available: boolean;
  enabled: boolean;
  lastRun: Pick<SyncRun, 'status' | 'finishedAt' | 'counts' | 'errors'> | null;
}

export async function moodleSourceStatus(conn: Connection, launch: Pick<Launch, 'issuer' | 'courseId'>): Promise<MoodleSourceStatus> {
  const [setUp, enabled, lastRun] = await Promise.all([
    isMoodleSetUp(conn, launch.issuer),
    isMoodleSourceOn(conn, launch.courseId),
    syncRunModel(conn)
      .findOne({ courseId: new Types.ObjectId(launch.courseId), scope: 'course', source: 'moodle' }, { status: 1, finishedAt: 1, counts: 1, errors: { $slice: 3 } })
      .sort({ startedAt: -1 })
      .lean<MoodleSourceStatus['lastRun']>(),
  ]);
  // A course already reading Moodle keeps showing the line (and its errors) if the setup was removed.
  return { available: setUp || enabled, enabled, lastRun: enabled ? lastRun : null };
}

// ---- what the grade items say --------------------------------------------------------------------

/** Items that carry a grade of their own (not totals). */
const isGradedItem = (g: MoodleGradeItem) => g.itemtype === 'mod' || g.itemtype === 'manual';

/**
 * With Moodle's default "Natural" aggregation the course total is out of the sum of the items'
 * maxima. When it is out of more than the items Moodle listed, items are hidden from the
 * web-service user: the user report drops activities the caller cannot see
 * (grade/report/user/classes/report/user.php, `$cm->uservisible`), i.e. without mod/<module>:view
 * or moodle/course:viewhiddenactivities (observed on Moodle 4.5.6, /work/notes/reallms.md).
 * Returns the advice (English, and its message key), or null when the totals add up (or the course aggregates otherwise).
 */
export function missingItemsAdvice(usergrades: MoodleUserGrades[]): { message: string; translated: MessageRef } | null {
  for (const u of usergrades) {
    const total = u.gradeitems.find((g) => g.itemtype === 'course');
    if (!total || typeof total.graderaw !== 'number' || typeof total.grademax !== 'number') continue;
    const graded = u.gradeitems.filter((g) => isGradedItem(g) && typeof g.graderaw === 'number');
    const points = graded.reduce((s, g) => s + (g.graderaw as number), 0);
    const max = graded.reduce((s, g) => s + (g.grademax ?? 0), 0);
    // Natural: total = sum of the graded items and their maxima. Anything else: no conclusion.
    if (total.grademax > max + 1e-6 && total.graderaw > points + 1e-6) {
      const translated = { key: 'grades.syncError.moodle.itemsHidden', params: { total: round2(total.grademax), listed: round2(max) } };
      return { message: inEnglish(translated), translated };
    }
  }
  return null;
}

/** An error's message key as a check's `translated`, when it has one. */
function withKey(err: AppError): { translated?: MessageRef } {
  const ref = messageRefOf(err);
  return ref ? { translated: ref } : {};
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Calls each function once for `courseId` and says, per function, whether it works and what to
 * fix. The roster and grade items are essential; completion is reported either way (a course
 * without completion tracking is normal).
 */
export async function testMoodleConnection(client: MoodleWsClient, courseId: number, opts: { readCompletion: boolean }): Promise<{ ok: boolean; checks: MoodleCheck[] }> {
  const checks: MoodleCheck[] = [];
  const problem = (wsfunction: string, err: unknown): MoodleCheck => {
    if (err instanceof AppError) return { wsfunction, ok: false, message: err.message, ...withKey(err) };
    throw err;
  };
  let learnerId: number | undefined;

  try {
    const users = await client.getEnrolledUsers(courseId);
    const learners = users.filter((u) => u.roles?.some((r) => r.shortname === 'student'));
    learnerId = learners[0]?.id;
    const noUsernames = users.length > 0 && users.every((u) => u.username === undefined);
    checks.push({
      wsfunction: MOODLE_FUNCTIONS.enrolledUsers,
      ok: true,
      message: `${users.length} participants, ${learners.length} of them students.${noUsernames ? ' Usernames are not shown: give the web-service user moodle/user:viewalldetails if you match gradebook files by username.' : ''}`,
      translated: { key: noUsernames ? 'admin.moodle.check.participantsNoUsernames' : 'admin.moodle.check.participants', params: { users: users.length, students: learners.length } },
    });
  } catch (err) {
    checks.push(problem(MOODLE_FUNCTIONS.enrolledUsers, err));
  }

  try {
    const usergrades = await client.getGradeItems(courseId);
    const items = usergrades[0]?.gradeitems ?? [];
    learnerId ??= usergrades[0]?.userid;
    const advice = missingItemsAdvice(usergrades);
    checks.push({
      wsfunction: MOODLE_FUNCTIONS.gradeItems,
      ok: advice === null,
      message: advice?.message ?? `${usergrades.length} learners with grades; ${items.filter(isGradedItem).length} grade items, ${items.filter((g) => g.itemtype === 'category').length} category totals and ${items.some((g) => g.itemtype === 'course') ? 'the course total' : 'no course total'}.`,
      ...(advice
        ? { translated: advice.translated }
        : {
            translated: {
              key: 'admin.moodle.check.gradeItems',
              params: {
                learners: usergrades.length,
                items: items.filter(isGradedItem).length,
                categories: items.filter((g) => g.itemtype === 'category').length,
                total: items.some((g) => g.itemtype === 'course') ? 'yes' : 'no',
              },
            },
          }),
    });
  } catch (err) {
    checks.push(problem(MOODLE_FUNCTIONS.gradeItems, err));
  }

  try {
    const status = await client.getCourseCompletionStatus(courseId, learnerId ?? 0);
    checks.push({
      wsfunction: MOODLE_FUNCTIONS.completion,
      ok: true,
      message: `Course completion is tracked (${status.completions.length} criteria).`,
      translated: { key: 'admin.moodle.check.completion', params: { criteria: status.completions.length } },
    });
  } catch (err) {
    if (err instanceof MoodleCompletionUnavailableError) {
      checks.push({ wsfunction: MOODLE_FUNCTIONS.completion, ok: !opts.readCompletion, message: err.message, ...withKey(err) });
    } else if (err instanceof MoodleWsError && (err.errorcode === 'invaliduser' || err.errorcode === 'usernotenroled' || err.errorcode === 'nocriteriaset')) {
      // The function is allowed; this course just gives nothing to show.
      checks.push({ wsfunction: MOODLE_FUNCTIONS.completion, ok: true, message: err.message, ...withKey(err) });
    } else {
      checks.push(problem(MOODLE_FUNCTIONS.completion, err));
    }
  }
  const essential = checks.filter((c) => c.wsfunction !== MOODLE_FUNCTIONS.completion);
  return { ok: essential.every((c) => c.ok) && checks.every((c) => c.ok || c.wsfunction !== MOODLE_FUNCTIONS.completion || !opts.readCompletion), checks };
}

/**
 * The sandbox's Moodle web-service settings, as a Moodle administrator sets them: web services and
 * the REST protocol on or off, tokens (each of one user, for one external service with a chosen set
 * of functions, with the capabilities of that user's role), and course completion tracking per
 * course. Tests under-privilege a token by leaving functions or capabilities out.
 *
 * Moodle keeps these in `config` (enablewebservices, webserviceprotocols), `external_tokens`,
 * `external_services_functions` and the role definitions; a revoked token is simply deleted
 * (webservice/lib.php `authenticate_by_token` then answers `invalidtoken`).
 */
import { randomBytes } from 'node:crypto';

/** Functions this emulation implements (the rest of Moodle's 700 are "unknown" here). */
export const SANDBOX_WS_FUNCTIONS = ['gradereport_user_get_grade_items', 'core_enrol_get_enrolled_users', 'core_completion_get_course_completion_status'] as const;

/** Capabilities the emulation checks, with the human names Moodle puts in its refusals (lang/en/role.php …). */
export const SANDBOX_WS_CAPABILITIES: Record<string, string> = {
  'webservice/rest:use': 'Use REST protocol',
  'moodle/course:view': 'View courses without participation',
  'gradereport/user:view': 'View user report',
  'moodle/grade:viewall': 'View grades of other users',
  'moodle/grade:viewhidden': 'View hidden grades for owner',
  'moodle/course:viewparticipants': 'View participants',
  'moodle/user:viewalldetails': 'View user full information',
  'report/completion:view': 'View course completion report',
};

export interface SandboxWsToken {
  token: string;
  /** The web-service user's name, for the admin page. */
  username: string;
  /** The functions of the token's external service. */
  functions: Set<string>;
  /** The capabilities of the token user's role (system context, inherited by every course). */
  capabilities: Set<string>;
  /** A suspended account (Moodle: `wsaccessusersuspended`). */
  suspended: boolean;
  createdAt: Date;
  lastAccess?: Date;
}

export interface CourseCompletionSetting {
  enabled: boolean;
  /** The one completion criterion: course grade at least this percentage (criteria type 6, "Course grade"). */
  passPercent: number;
}

export class MoodleWsSite {
  /** Site administration › Advanced features › Enable web services. */
  webServicesEnabled = true;
  /** Site administration › Server › Web services › Manage protocols › REST. */
  restEnabled = true;
  private readonly tokens = new Map<string, SandboxWsToken>();
  private readonly completion = new Map<string, CourseCompletionSetting>();
  /** course_completions.timecompleted per `${courseId}:${userId}`: written once, never taken back. */
  private readonly completedAt = new Map<string, Date>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /**
   * Creates a token (32 hex characters, like Moodle's `md5(uniqid(rand(), 1))`), by default for a
   * service with every implemented function and a user with every capability above.
   */
  createToken(opts: { functions?: readonly string[]; capabilities?: readonly string[]; username?: string; token?: string } = {}): SandboxWsToken {
    const token: SandboxWsToken = {
      token: opts.token ?? randomBytes(16).toString('hex'),
      username: opts.username ?? 'certificates-ws',
      functions: new Set(opts.functions ?? SANDBOX_WS_FUNCTIONS),
      capabilities: new Set(opts.capabilities ?? Object.keys(SANDBOX_WS_CAPABILITIES)),
      suspended: false,
      createdAt: this.now(),
    };
    this.tokens.set(token.token, token);
    return token;
  }

  getToken(token: string): SandboxWsToken | undefined {
    return this.tokens.get(token);
  }

  listTokens(): SandboxWsToken[] {
    return [...this.tokens.values()];
  }

  /** Deletes the token, as "Manage tokens › Delete" does. */
  revokeToken(token: string): boolean {
    return this.tokens.delete(token);
  }

  /** Changes what an existing token's service or user may do. */
  updateToken(token: string, patch: { functions?: readonly string[]; capabilities?: readonly string[]; suspended?: boolean }): SandboxWsToken {
    const t = this.tokens.get(token);
    if (!t) throw new Error(`No sandbox web-service token ${token}`);
    if (patch.functions) t.functions = new Set(patch.functions);
    if (patch.capabilities) t.capabilities = new Set(patch.capabilities);
    if (patch.suspended !== undefined) t.suspended = patch.suspended;
    return t;
  }

  /** Course › Settings › Completion tracking, with a "course grade" criterion. Off unless set, as in a new Moodle course. */
  setCompletion(courseId: string, setting: Partial<CourseCompletionSetting> | null): void {
    if (setting === null) this.completion.delete(courseId);
    else this.completion.set(courseId, { enabled: setting.enabled ?? true, passPercent: setting.passPercent ?? 50 });
  }

  getCompletion(courseId: string): CourseCompletionSetting {
    return this.completion.get(courseId) ?? { enabled: false, passPercent: 50 };
  }

  /**
   * When the learner completed the course, marking it now if `reachedNow` and not yet marked.
   * Moodle's completion task marks a course complete once and never takes it back, even when the
   * grade later falls under the requirement; timecompleted stays that first moment (observed on a
   * real 4.5.6, test/real-lms/moodle-completion-check.sh). The sandbox runs that task at the moment
   * it is asked; a real Moodle only at its next cron run.
   */
  courseCompletedAt(courseId: string, userId: string, reachedNow: boolean): Date | undefined {
    const key = `${courseId}:${userId}`;
    if (!this.completedAt.has(key) && reachedNow) this.completedAt.set(key, this.now());
    return this.completedAt.get(key);
  }
}

/**
 * The sandbox's Canvas, beyond LTI: developer keys (API keys: client id + secret, redirect URIs,
 * "Enforce Scopes" with their scope list, ON/OFF), the OAuth2 codes and tokens they give users, each
 * Canvas course's assignment groups (weights, drop rules, "Weight final grade based on assignment
 * groups"), per-submission states a teacher sets in SpeedGrader (excused, missing, late with a
 * deduction, posted or not), and Canvas's request throttle.
 *
 * The course's gradebook columns stay in the store (quiz/assign/manual items = Canvas assignments;
 * results = graded submissions). Sources followed (instructure/canvas-lms):
 * - developer keys and scopes: app/models/developer_key.rb, doc/api/developer_keys.md;
 * - OAuth2: app/controllers/oauth2_provider_controller.rb, lib/canvas/oauth/{provider,token,request_error}.rb,
 *   grant_types/{authorization_code,refresh_token}.rb (codes single use, 10 minutes; access tokens
 *   3600 s; the refresh token reusable until the user deletes the integration);
 * - throttling: app/middleware/request_throttle.rb (LeakyBucket: hwm 600, maximum 800, outflow 10/s,
 *   up-front cost 50 credited back when the request ends);
 * - scores: lib/grade_calculator.rb (current: graded work only; final: ungraded counts 0).
 */
import { randomBytes } from 'node:crypto';

export interface CanvasDeveloperKey {
  clientId: string;
  secret: string;
  name: string;
  redirectUris: string[];
  /** Enforce Scopes: the token may call only these endpoints. Undefined = unscoped key. */
  scopes?: string[];
  active: boolean;
}

export interface CanvasAccessToken {
  token: string;
  refreshToken: string;
  clientId: string;
  userId: string;
  scopes: string[];
  expiresAt: number;
}

export interface CanvasGroup {
  id: number;
  name: string;
  weight: number;
  rules?: { drop_lowest?: number; drop_highest?: number; never_drop?: number[] };
}

export interface CanvasCourseSetup {
  applyWeights: boolean;
  groups: CanvasGroup[];
  /** Line item id → assignment group id (default: the first group, "Assignments"). */
  groupOf: Map<string, number>;
  /** Unpublished assignments (line item ids). */
  unpublished: Set<string>;
}

export interface SubmissionState {
  excused?: boolean;
  missing?: boolean;
  late?: boolean;
  pointsDeducted?: number;
  /** False: graded but not posted (the student does not see it yet). */
  posted?: boolean;
}

export interface ThrottleSettings {
  hwm: number;
  maximum: number;
  outflowPerSecond: number;
  upFrontCost: number;
  /** What a request costs once done (Canvas measures CPU + DB time; here a fixed cost plus a share per record). */
  baseCost: number;
  costPerRecord: number;
}

export const CANVAS_THROTTLE_DEFAULTS: ThrottleSettings = { hwm: 600, maximum: 800, outflowPerSecond: 10, upFrontCost: 50, baseCost: 1, costPerRecord: 0.01 };
export const CANVAS_TOKEN_LIFETIME_SECONDS = 3600;
const CODE_LIFETIME_MS = 10 * 60_000;

/** A leaky bucket per token, as Canvas keeps in Redis; the sandbox uses the real monotonic clock. */
export class LeakyBuckets {
  private readonly buckets = new Map<string, { count: number; at: number }>();
  constructor(
    public settings: ThrottleSettings,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private leak(key: string): { count: number; at: number } {
    const now = this.clock();
    const b = this.buckets.get(key) ?? { count: 0, at: now };
    b.count = Math.max(0, b.count - ((now - b.at) / 1000) * this.settings.outflowPerSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  /** Before the request: false when the bucket is full (403); else reserves the up-front cost. */
  reserve(key: string): boolean {
    const b = this.leak(key);
    if (b.count >= this.settings.hwm) return false;
    b.count = Math.min(this.settings.maximum, b.count + this.settings.upFrontCost);
    return true;
  }

  /** After it: the up-front cost back, the real cost in; returns X-Rate-Limit-Remaining. */
  settle(key: string, cost: number): number {
    const b = this.leak(key);
    b.count = Math.max(0, Math.min(this.settings.maximum, b.count - this.settings.upFrontCost + cost));
    return this.settings.hwm - b.count;
  }

  clear(): void {
    this.buckets.clear();
  }
}

export class CanvasSite {
  readonly keys = new Map<string, CanvasDeveloperKey>();
  private readonly codes = new Map<string, { clientId: string; userId: string; scopes: string[]; redirectUri: string; expiresAt: number }>();
  private readonly tokens = new Map<string, CanvasAccessToken>();
  private readonly refreshTokens = new Map<string, CanvasAccessToken>();
  private readonly courses = new Map<string, CanvasCourseSetup>();
  private readonly submissionStates = new Map<string, SubmissionState>();
  private nextKeyId = 10000000000001;
  private nextGroupId = 1;
  throttle = new LeakyBuckets({ ...CANVAS_THROTTLE_DEFAULTS });
  /** Test aids: the next N API answers are a login page (200 text/html); paging whose next link repeats. */
  htmlAnswers = 0;
  pagingLoop = false;
  /** Access token lifetime (Canvas: 3600 s). */
  tokenLifetimeSeconds = CANVAS_TOKEN_LIFETIME_SECONDS;

  constructor(private readonly now: () => Date) {}

  // ---- developer keys ------------------------------------------------------------------------

  /** An API developer key, as Admin › Developer Keys › + API Key creates it (ON, scopes enforced when given). */
  addApiKey(input: { name: string; redirectUris: string[]; scopes?: string[]; active?: boolean }): CanvasDeveloperKey {
    const key: CanvasDeveloperKey = {
      clientId: String(this.nextKeyId++),
      secret: randomBytes(48).toString('base64url').replace(/[-_]/g, 'x').slice(0, 64),
      name: input.name,
      redirectUris: [...input.redirectUris],
      scopes: input.scopes ? [...input.scopes] : undefined,
      active: input.active ?? true,
    };
    this.keys.set(key.clientId, key);
    return key;
  }

  // ---- OAuth2 --------------------------------------------------------------------------------

  issueCode(clientId: string, userId: string, scopes: string[], redirectUri: string): string {
    const code = randomBytes(24).toString('hex');
    this.codes.set(code, { clientId, userId, scopes, redirectUri, expiresAt: this.now().getTime() + CODE_LIFETIME_MS });
    return code;
  }

  /** Spends a code (single use, as Canvas::OAuth::Token.expire_code). */
  redeemCode(code: string): { clientId: string; userId: string; scopes: string[]; redirectUri: string } | undefined {
    const c = this.codes.get(code);
    this.codes.delete(code);
    if (!c || c.expiresAt <= this.now().getTime()) return undefined;
    return c;
  }

  issueToken(clientId: string, userId: string, scopes: string[], refreshToken?: string): CanvasAccessToken {
    const t: CanvasAccessToken = {
      token: `${this.keys.get(clientId) ? '1~' : ''}${randomBytes(32).toString('base64url')}`,
      refreshToken: refreshToken ?? randomBytes(32).toString('base64url'),
      clientId,
      userId,
      scopes,
      expiresAt: this.now().getTime() + this.tokenLifetimeSeconds * 1000,
    };
    // A refresh replaces the access token of the same grant (one AccessToken row in Canvas).
    const previous = this.refreshTokens.get(t.refreshToken);
    if (previous) this.tokens.delete(previous.token);
    this.tokens.set(t.token, t);
    this.refreshTokens.set(t.refreshToken, t);
    return t;
  }

  lookupToken(token: string): CanvasAccessToken | undefined {
    const t = this.tokens.get(token);
    if (!t || t.expiresAt <= this.now().getTime() || !this.keys.get(t.clientId)?.active) return undefined;
    return t;
  }

  lookupRefresh(refreshToken: string): CanvasAccessToken | undefined {
    const t = this.refreshTokens.get(refreshToken);
    return t && this.keys.get(t.clientId)?.active ? t : undefined;
  }

  /** The user deletes the integration (Account › Settings › Approved Integrations), or DELETE /login/oauth2/token. */
  revokeGrant(token: CanvasAccessToken): void {
    this.tokens.delete(token.token);
    this.refreshTokens.delete(token.refreshToken);
  }

  /** Every grant of a user (tests: "the teacher removed the integration"). */
  revokeUser(userId: string): void {
    for (const t of [...this.refreshTokens.values()]) if (t.userId === userId) this.revokeGrant(t);
  }

  /** Expires every access token now (refresh tokens stay valid). */
  expireAccessTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = this.now().getTime() - 1;
  }

  /** Grants currently alive (for tests and the admin page). */
  activeGrants(): CanvasAccessToken[] {
    return [...this.refreshTokens.values()];
  }

  // ---- courses -------------------------------------------------------------------------------

  course(courseId: string): CanvasCourseSetup {
    let c = this.courses.get(courseId);
    if (!c) {
      // Canvas creates a course's first group, "Assignments", with the course.
      c = { applyWeights: false, groups: [{ id: this.nextGroupId++, name: 'Assignments', weight: 0 }], groupOf: new Map(), unpublished: new Set() };
      this.courses.set(courseId, c);
    }
    return c;
  }

  addGroup(courseId: string, input: { name: string; weight?: number; rules?: CanvasGroup['rules'] }): CanvasGroup {
    const g: CanvasGroup = { id: this.nextGroupId++, name: input.name, weight: input.weight ?? 0, rules: input.rules };
    this.course(courseId).groups.push(g);
    return g;
  }

  setApplyWeights(courseId: string, on: boolean): void {
    this.course(courseId).applyWeights = on;
  }

  putInGroup(courseId: string, lineItemId: string, groupId: number): void {
    this.course(courseId).groupOf.set(lineItemId, groupId);
  }

  groupIdOf(courseId: string, lineItemId: string): number {
    const c = this.course(courseId);
    return c.groupOf.get(lineItemId) ?? c.groups[0]!.id;
  }

  setSubmissionState(lineItemId: string, userId: string, state: SubmissionState): void {
    this.submissionStates.set(`${lineItemId} ${userId}`, { ...this.submissionStates.get(`${lineItemId} ${userId}`), ...state });
  }

  submissionState(lineItemId: string, userId: string): SubmissionState {
    return this.submissionStates.get(`${lineItemId} ${userId}`) ?? {};
  }
}

/**
 * The Canvas API key (administrator, once per Canvas) and the teacher's OAuth2 grant (once per
 * course), as Canvas's OAuth2 provider works (doc/api/oauth.md, doc/api/oauth_endpoints.md,
 * app/controllers/oauth2_provider_controller.rb, lib/canvas/oauth/):
 *
 * 1. The teacher's browser goes (top level, a new tab: Canvas's login page refuses to be framed) to
 *    `GET <canvas>/login/oauth2/auth?client_id&response_type=code&redirect_uri&state&scope=<the scopes>`.
 *    `state` is random, stored hashed with the tool session that asked and the hash of a random
 *    cookie set in that browser: the callback is accepted only from the same browser, once, within
 *    ten minutes. A PKCE S256 `code_challenge` is sent too; the Canvas source read here does not
 *    check it (lib/canvas/oauth/grant_types/authorization_code.rb checks code and client only), so
 *    state + the client secret are what protect the code; the verifier is sent with the code anyway.
 * 2. Canvas redirects to `<tool>/canvas/oauth/callback?code&state` (or `error=access_denied` when the
 *    user clicks Cancel, provider `deny`).
 * 3. The tool exchanges the code: `POST <canvas>/login/oauth2/token` grant_type=authorization_code with
 *    client_id, client_secret, redirect_uri, code → `{access_token, refresh_token, expires_in: 3600, user}`.
 * 4. Before the access token expires (5 minutes ahead) it is refreshed: grant_type=refresh_token →
 *    a new access token (the refresh token stays the same). `400 invalid_request "refresh_token not
 *    found"`: the user or an administrator revoked the grant → marked revoked, teacher asked again.
 *
 * Nothing is written until Canvas has answered: a refused grant, a wrong key or a bad code leave
 * the stored grant (if any) as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import { AppError, messageRefOf, ValidationError, type MessageRef } from '../../errors';
import { inEnglish } from '../../i18n/english';
import type { PlatformHttp } from '../../http/retry-policy';
import { checkPlatformUrl, UnsafePlatformUrlError, type Lookup } from '../../lti/advantage/url-guard';
import { formError, moodleUrlPolicy } from '../moodle/moodle-connection.service';
import { decryptSecret, encryptSecret } from '../moodle/token-crypto';
import { syncRunModel, type SyncRun } from '../sync-run.model';
import { CanvasGrantRevokedError, CanvasKeyRefusedError } from './canvas-errors';
import { canvasGrantModel, canvasKeyModel, canvasOAuthStateModel, type CanvasGrant, type CanvasKey } from './canvas.model';
import type { CanvasTokenSource } from './canvas-rest.client';

/**
 * The scopes the tool asks for: exactly the five GET endpoints it calls (a scoped developer key,
 * "Enforce Scopes" on, lists these and nothing else). No include[] parameter is used, so "Allow
 * Include Parameters" may stay off.
 */
export const CANVAS_SCOPES = {
  course: 'url:GET|/api/v1/courses/:id',
  assignmentGroups: 'url:GET|/api/v1/courses/:course_id/assignment_groups',
  assignments: 'url:GET|/api/v1/courses/:course_id/assignments',
  submissions: 'url:GET|/api/v1/courses/:course_id/students/submissions',
  enrollments: 'url:GET|/api/v1/courses/:course_id/enrollments',
  courseUser: 'url:GET|/api/v1/courses/:course_id/users/:id',
} as const;

export const CANVAS_SCOPE_LIST: readonly string[] = Object.values(CANVAS_SCOPES);

/** How long an authorisation may take between the click and Canvas's redirect back. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
/** Refresh this long before Canvas's expiry (tokens live 3600 s). */
export const REFRESH_AHEAD_MS = 5 * 60_000;

export interface CanvasDeps {
  conn: Connection;
  ltiKey: string;
  http: PlatformHttp;
  now: () => Date;
  lookup?: Lookup;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');
const aadOf = (issuer: string, what: string) => `${issuer} canvas ${what}`;

/** Canvas developer key ids are numbers (e.g. 10000000000042); secrets are 64 letters and digits. */
const CLIENT_ID_RE = /^\d{1,20}$/;
const SECRET_RE = /^[A-Za-z0-9~_-]{16,128}$/;

export async function saveCanvasKey(
  deps: Pick<CanvasDeps, 'conn' | 'ltiKey' | 'now' | 'lookup'>,
  input: { issuer: string; baseUrl?: string; clientId: string; clientSecret?: string },
): Promise<CanvasKey> {
  const Model = canvasKeyModel(deps.conn);
  const existing = await Model.findOne({ issuer: input.issuer }).lean();
  const clientId = input.clientId.trim();
  const secret = input.clientSecret?.trim();
  if (!CLIENT_ID_RE.test(clientId)) throw formError('clientId', 'admin.formError.canvas.clientIdShape');
  if (!secret && !existing) throw formError('clientSecret', 'admin.formError.canvas.secretMissing');
  if (secret && !SECRET_RE.test(secret)) throw formError('clientSecret', 'admin.formError.canvas.secretShape');
  const baseUrl = (input.baseUrl?.trim() || input.issuer).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw formError('baseUrl', 'admin.formError.canvas.baseUrlInvalid');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw formError('baseUrl', 'admin.formError.canvas.baseUrlScheme');
  try {
    await checkPlatformUrl(baseUrl, { ...moodleUrlPolicy(input.issuer, baseUrl), what: 'the Canvas address', lookup: deps.lookup });
  } catch (err) {
    if (err instanceof UnsafePlatformUrlError) throw new ValidationError(`baseUrl: ${err.message}`, { field: 'baseUrl' }, messageRefOf(err));
    throw err;
  }
  const set: Partial<CanvasKey> = { baseUrl, clientId };
  if (secret) Object.assign(set, { clientSecret: encryptSecret(deps.ltiKey, secret, aadOf(input.issuer, 'key')), secretHint: secret.slice(-4), setAt: deps.now() });
  else if (existing && existing.clientId !== clientId) throw formError('clientSecret', 'admin.formError.canvas.secretForNewId');
  return (await Model.findOneAndUpdate({ issuer: input.issuer }, { $set: set }, { upsert: true, new: true, lean: true })) as CanvasKey;
}

export async function removeCanvasKey(conn: Connection, issuer: string): Promise<void> {
  await canvasKeyModel(conn).deleteOne({ issuer });
}

export async function listCanvasKeys(conn: Connection): Promise<CanvasKey[]> {
  return canvasKeyModel(conn).find().lean<CanvasKey[]>();
}

export async function findCanvasKey(conn: Connection, issuer: string): Promise<CanvasKey | null> {
  return canvasKeyModel(conn).findOne({ issuer }).lean<CanvasKey>();
}

function keySecret(deps: Pick<CanvasDeps, 'ltiKey'>, key: CanvasKey): string {
  try {
    return decryptSecret(deps.ltiKey, key.clientSecret, aadOf(key.issuer, 'key'));
  } catch {
    const ref = { key: 'grades.syncError.canvas.secretUnreadable', params: { setting: 'LTI_KEY' } };
    throw new CanvasKeyRefusedError(inEnglish(ref), ref);
  }
}

/** Where Canvas sends the teacher back (must be on the developer key's Redirect URIs). */
export const canvasRedirectUri = (publicUrl: string) => `${publicUrl.replace(/\/+$/, '')}/canvas/oauth/callback`;

export interface AuthorizationStart {
  url: string;
  /** Goes into the browser's cookie; the callback must bring it back. */
  browserValue: string;
}

/** Step 1: the Canvas URL to send the teacher's browser to. */
export async function startCanvasAuthorization(
  deps: Pick<CanvasDeps, 'conn' | 'now'>,
  input: { issuer: string; courseId: string; contextId: string; canvasCourseId?: string; userId: string; name?: string; session: string; redirectUri: string },
): Promise<AuthorizationStart> {
  const key = await findCanvasKey(deps.conn, input.issuer);
  if (!key) {
    const ref = { key: 'grades.syncError.canvas.notSetUp' };
    throw new ValidationError(inEnglish(ref), undefined, ref);
  }
  const state = randomBytes(32).toString('base64url');
  const browserValue = randomBytes(32).toString('base64url');
  const codeVerifier = randomBytes(48).toString('base64url');
  await canvasOAuthStateModel(deps.conn).create({
    stateHash: sha256(state),
    browserHash: sha256(browserValue),
    session: input.session,
    courseId: new Types.ObjectId(input.courseId),
    issuer: input.issuer,
    contextId: input.contextId,
    canvasCourseId: input.canvasCourseId,
    userId: input.userId,
    name: input.name,
    codeVerifier,
    expiresAt: new Date(deps.now().getTime() + OAUTH_STATE_TTL_MS),
  });
  const q = new URLSearchParams({
    client_id: key.clientId,
    response_type: 'code',
    redirect_uri: input.redirectUri,
    state,
    scope: CANVAS_SCOPE_LIST.join(' '),
    purpose: 'Certificates (grade sync)',
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  return { url: `${key.baseUrl}/login/oauth2/auth?${q.toString()}`, browserValue };
}

/** Why the callback could not complete; `session` (when known) leads back to the teacher page. */
export class CanvasAuthorizationError extends AppError {
  override readonly status = 400;
  override readonly code = 'canvas_authorization_failed';
  constructor(
    message: string,
    readonly session: string | undefined,
    /** `canvas.callback.error.<reason>`: what the teacher reads, in the launch's language. */
    reason: string,
    params: Record<string, string> = {},
  ) {
    super(message, undefined, { key: `canvas.callback.error.${reason}`, params });
  }
}

interface TokenAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  user?: { id?: number | string; name?: string };
  error?: string;
  error_description?: string;
}

async function tokenRequest(deps: Pick<CanvasDeps, 'http' | 'lookup'>, key: CanvasKey, params: Record<string, string>): Promise<{ status: number; body: TokenAnswer }> {
  const url = `${key.baseUrl}/login/oauth2/token`;
  await checkPlatformUrl(url, { ...moodleUrlPolicy(key.issuer, key.baseUrl), what: 'the Canvas token endpoint', lookup: deps.lookup });
  const res = await deps.http.send({ url, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: new URLSearchParams(params).toString(), redirect: 'manual' });
  let body: TokenAnswer;
  try {
    body = JSON.parse(res.text) as TokenAnswer;
  } catch {
    const ref = { key: 'grades.syncError.canvas.tokenNotJson', params: { url, status: res.status } };
    throw new CanvasKeyRefusedError(inEnglish(ref), ref);
  }
  return { status: res.status, body };
}

/** Steps 2–3: the callback. Returns the session to send the teacher back to. */
export async function completeCanvasAuthorization(
  deps: CanvasDeps,
  input: { state?: string; code?: string; error?: string; errorDescription?: string; browserValue?: string; redirectUri: string },
): Promise<{ session: string; courseId: string }> {
  if (!input.state) throw new CanvasAuthorizationError('Canvas sent the browser back without the state the tool gave it. Start again from the teacher page ("Authorise Canvas").', undefined, 'noState');
  const pending = await canvasOAuthStateModel(deps.conn).findOneAndDelete({ stateHash: sha256(input.state) }).lean();
  if (!pending || pending.expiresAt.getTime() <= deps.now().getTime()) {
    throw new CanvasAuthorizationError('This Canvas authorisation link has expired or was already used. Start again from the teacher page ("Authorise Canvas").', undefined, 'expired');
  }
  if (!input.browserValue || sha256(input.browserValue) !== pending.browserHash) {
    throw new CanvasAuthorizationError('This Canvas authorisation was started in another browser. Start it again from the teacher page, in this browser.', pending.session, 'otherBrowser');
  }
  if (input.error) {
    const detail = `${input.error}${input.errorDescription ? ` (${input.errorDescription})` : ''}`;
    if (input.error === 'access_denied') throw new CanvasAuthorizationError('You (or Canvas) declined the authorisation, so the tool cannot read the Canvas gradebook. Choose "Authorise Canvas" again and click "Authorize" in Canvas.', pending.session, 'declined');
    if (input.error === 'invalid_scope') throw new CanvasAuthorizationError(`Canvas refused the scopes the tool asks for (${detail}): the Canvas administrator adds them to the API developer key (platform-config/README.md, Canvas).`, pending.session, 'scope', { detail });
    throw new CanvasAuthorizationError(`Canvas refused the authorisation: ${detail}. Tell the Canvas administrator.`, pending.session, 'refused', { detail });
  }
  if (!input.code) throw new CanvasAuthorizationError('Canvas sent the browser back without an authorisation code. Start again from the teacher page.', pending.session, 'noCode');
  const key = await findCanvasKey(deps.conn, pending.issuer);
  if (!key) throw new CanvasAuthorizationError("The administrator removed the Canvas API key meanwhile (the tool's /admin page › Canvas API key).", pending.session, 'noKey');
  const { status, body } = await tokenRequest(deps, key, {
    grant_type: 'authorization_code',
    client_id: key.clientId,
    client_secret: keySecret(deps, key),
    redirect_uri: input.redirectUri,
    code: input.code,
    code_verifier: pending.codeVerifier,
  });
  if (status === 401 || body.error === 'invalid_client') {
    const detail = `${body.error ?? status}: ${body.error_description ?? 'refused'}`;
    throw new CanvasAuthorizationError(new CanvasKeyRefusedError(detail).message, pending.session, 'keyRefused', { detail });
  }
  if (status !== 200 || !body.access_token || !body.refresh_token) {
    const detail = `${body.error ?? status}${body.error_description ? `: ${body.error_description}` : ''}`;
    throw new CanvasAuthorizationError(`Canvas refused the authorisation code (${detail}). Choose "Authorise Canvas" again.`, pending.session, 'codeRefused', { detail });
  }
  await saveCanvasGrant(deps, {
    courseId: pending.courseId,
    issuer: pending.issuer,
    contextId: pending.contextId,
    canvasCourseId: pending.canvasCourseId,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresInSeconds: body.expires_in ?? 3600,
    by: { userId: pending.userId, name: pending.name, canvasUserId: body.user?.id !== undefined ? String(body.user.id) : undefined, canvasName: body.user?.name },
  });
  return { session: pending.session, courseId: String(pending.courseId) };
}

/** Stores (or replaces) a course's grant, tokens encrypted. */
export async function saveCanvasGrant(
  deps: Pick<CanvasDeps, 'conn' | 'ltiKey' | 'now'>,
  g: { courseId: Types.ObjectId; issuer: string; contextId: string; canvasCourseId?: string; accessToken: string; refreshToken: string; expiresInSeconds: number; by: CanvasGrant['by'] },
): Promise<void> {
  const now = deps.now();
  await canvasGrantModel(deps.conn).updateOne(
    { courseId: g.courseId },
    {
      $set: {
        issuer: g.issuer,
        contextId: g.contextId,
        ...(g.canvasCourseId ? { canvasCourseId: g.canvasCourseId } : {}),
        accessToken: encryptSecret(deps.ltiKey, g.accessToken, aadOf(g.issuer, 'access')),
        refreshToken: encryptSecret(deps.ltiKey, g.refreshToken, aadOf(g.issuer, 'refresh')),
        expiresAt: new Date(now.getTime() + g.expiresInSeconds * 1000),
        status: 'active',
        by: g.by,
        authorisedAt: now,
      },
      $unset: { revokedReason: '', revokedAt: '' },
    },
    { upsert: true },
  );
}

export async function findCanvasGrant(conn: Connection, courseId: Types.ObjectId | string): Promise<CanvasGrant | null> {
  return canvasGrantModel(conn).findOne({ courseId }).lean<CanvasGrant>();
}

export async function markCanvasGrantRevoked(deps: Pick<CanvasDeps, 'conn' | 'now'>, courseId: Types.ObjectId | string, reason: string): Promise<void> {
  await canvasGrantModel(deps.conn).updateOne({ courseId, status: 'active' }, { $set: { status: 'revoked', revokedReason: reason, revokedAt: deps.now() } });
}

/** The teacher stops reading Canvas: the grant is forgotten (and revoked at Canvas, best effort). */
export async function removeCanvasGrant(deps: CanvasDeps, courseId: Types.ObjectId | string): Promise<void> {
  const grant = await findCanvasGrant(deps.conn, courseId);
  if (!grant) return;
  await canvasGrantModel(deps.conn).deleteOne({ _id: grant._id });
  const key = await findCanvasKey(deps.conn, grant.issuer);
  if (!key || grant.status !== 'active') return;
  try {
    const token = decryptSecret(deps.ltiKey, grant.accessToken, aadOf(grant.issuer, 'access'));
    // DELETE /login/oauth2/token removes the token from the user's "Approved integrations".
    await deps.http.send({ url: `${key.baseUrl}/login/oauth2/token`, method: 'DELETE', headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
  } catch {
    /* best effort: the grant is forgotten here either way */
  }
}

/**
 * The grant's access token, refreshed ahead of expiry. A refresh Canvas refuses as unknown marks
 * the grant revoked (the teacher's page then asks to authorise again).
 */
export function grantTokenSource(deps: CanvasDeps, grant: CanvasGrant, key: CanvasKey): CanvasTokenSource {
  let current = { token: decryptGrant(deps, grant, 'access'), expiresAt: grant.expiresAt.getTime() };
  return {
    async accessToken(refresh) {
      if (!refresh && current.expiresAt - deps.now().getTime() > REFRESH_AHEAD_MS) return current.token;
      const { status, body } = await tokenRequest(deps, key, {
        grant_type: 'refresh_token',
        client_id: key.clientId,
        client_secret: keySecret(deps, key),
        refresh_token: decryptGrant(deps, grant, 'refresh'),
      });
      if (status === 401 || body.error === 'invalid_client') throw new CanvasKeyRefusedError(`${body.error ?? status}: ${body.error_description ?? 'refused'}`);
      if (status !== 200 || !body.access_token) {
        const detail = `${body.error ?? status}: ${body.error_description ?? 'refused'}`;
        const err = new CanvasGrantRevokedError(`refreshing the token: ${detail}`);
        await markCanvasGrantRevoked(deps, grant.courseId, err.detail);
        throw err;
      }
      const now = deps.now();
      current = { token: body.access_token, expiresAt: now.getTime() + (body.expires_in ?? 3600) * 1000 };
      await canvasGrantModel(deps.conn).updateOne(
        { _id: grant._id, status: 'active' },
        { $set: { accessToken: encryptSecret(deps.ltiKey, body.access_token, aadOf(grant.issuer, 'access')), expiresAt: new Date(current.expiresAt), refreshedAt: now } },
      );
      return current.token;
    },
  };
}

function decryptGrant(deps: Pick<CanvasDeps, 'ltiKey'>, grant: CanvasGrant, which: 'access' | 'refresh'): string {
  try {
    return decryptSecret(deps.ltiKey, which === 'access' ? grant.accessToken : grant.refreshToken, aadOf(grant.issuer, which));
  } catch {
    const ref = { key: 'grades.syncError.canvas.tokensUnreadable', params: { setting: 'LTI_KEY' } };
    throw new CanvasGrantRevokedError('the stored tokens cannot be read: LTI_KEY changed since the authorisation', ref);
  }
}

/** The teacher page's "Canvas gradebook" line. */
export interface CanvasSourceStatus {
  /** The administrator entered an API key for this Canvas. */
  available: boolean;
  status: 'none' | 'active' | 'revoked';
  by?: string;
  revokedReason?: string;
  lastRun: Pick<SyncRun, 'status' | 'finishedAt' | 'counts' | 'errors'> | null;
}

export async function canvasSourceStatus(conn: Connection, launch: { issuer: string; courseId: string; platformFamily?: string }): Promise<CanvasSourceStatus> {
  // Only Canvas courses are offered the Canvas gradebook (one issuer can serve several families only in the sandbox).
  if (launch.platformFamily !== undefined && launch.platformFamily !== 'canvas' && !(await canvasGrantModel(conn).exists({ courseId: launch.courseId }))) {
    return { available: false, status: 'none', lastRun: null };
  }
  const [key, grant, lastRun] = await Promise.all([
    canvasKeyModel(conn).exists({ issuer: launch.issuer }),
    findCanvasGrant(conn, launch.courseId),
    syncRunModel(conn)
      .findOne({ courseId: new Types.ObjectId(launch.courseId), scope: 'course', source: 'canvas' }, { status: 1, finishedAt: 1, counts: 1, errors: { $slice: 3 } })
      .sort({ startedAt: -1 })
      .lean<CanvasSourceStatus['lastRun']>(),
  ]);
  return {
    available: Boolean(key) || Boolean(grant),
    status: grant ? grant.status : 'none',
    by: grant?.by.canvasName ?? grant?.by.name,
    revokedReason: grant?.revokedReason,
    lastRun: grant ? lastRun : null,
  };
}

/**
 * "Test the key": a refresh with a token that cannot exist. Canvas checks the client id and secret
 * before the refresh token (lib/canvas/oauth/grant_types/base_type.rb `validate_client_id_and_secret`),
 * so `invalid_client` = wrong key, `refresh_token not found` = the key is right.
 */
export async function testCanvasKey(deps: CanvasDeps, key: CanvasKey): Promise<{ ok: boolean; message: string; translated?: MessageRef }> {
  let secret: string;
  try {
    secret = keySecret(deps, key);
  } catch (err) {
    // the stored secret cannot be read: said in the administrator's language too
    const translated = err instanceof AppError ? messageRefOf(err) : undefined;
    return { ok: false, message: (err as Error).message, ...(translated ? { translated } : {}) };
  }
  try {
    const { status, body } = await tokenRequest(deps, key, { grant_type: 'refresh_token', client_id: key.clientId, client_secret: secret, refresh_token: 'lti-certificates-key-check' });
    if (status === 401 || body.error === 'invalid_client') {
      const why = String(body.error_description ?? body.error ?? status);
      return {
        ok: false,
        message: `Canvas does not accept this key (${why}): check the Client ID and the secret ("Show Key"), and that the key is ON in Admin › Developer Keys.`,
        translated: { key: 'admin.canvas.check.refused', params: { why } },
      };
    }
    if (status === 400 && body.error === 'invalid_request') {
      return { ok: true, message: 'Canvas accepts this key. Teachers can now authorise the tool from their course page.', translated: { key: 'admin.canvas.check.accepted' } };
    }
    return {
      ok: false,
      message: `Canvas's token endpoint answered ${status} ${body.error ?? ''}: check the Canvas address.`,
      translated: { key: 'admin.canvas.check.otherAnswer', params: { status: String(status), error: String(body.error ?? '') } },
    };
  } catch (err) {
    if (err instanceof AppError) return { ok: false, message: err.message, ...(err.messageKey ? { translated: { key: err.messageKey, params: err.messageParams } } : {}) };
    throw err;
  }
}

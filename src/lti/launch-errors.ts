/**
 * Why a launch was refused, in words an LMS administrator can act on.
 *
 * The tool checks logins and id_tokens itself (src/lti/id-token.ts, src/lti/launch-flow.ts) and
 * builds its refusals with `LAUNCH_FAILURES`. ltijs still answers its own few routes and reports
 * refusals there as message strings; `launchFailureFrom` is the one place that reads them.
 * Everything else sees a `LaunchFailure` with a stable code.
 *
 * The texts live in the message files (`launch.message.*`, `launch.fix.*`): a refusal carries
 * its keys and parameters, the refusal page translates them into the viewer's language, and
 * `message` / `fix` hold the English text for the log and for scripts.
 */
import { createTranslator } from '../i18n/translator';

export type LaunchFailureCode =
  | 'bad_signature'
  | 'expired'
  | 'replayed'
  | 'state_mismatch'
  | 'unknown_platform'
  | 'inactive_platform'
  | 'wrong_audience'
  | 'missing_claim'
  | 'unknown_deployment'
  | 'inactive_deployment'
  | 'no_context'
  | 'no_role'
  | 'no_launch'
  | 'bad_login_request'
  | 'token_too_large'
  | 'issued_in_future'
  | 'bad_target_link'
  | 'bad_deep_linking'
  | 'cookie_blocked'
  | 'storage_mismatch'
  | 'invalid_launch';

export interface LaunchFailure {
  status: 400 | 401 | 403 | 413 | 429;
  code: LaunchFailureCode;
  /** One sentence for the person in front of the screen, naming what is wrong. */
  message: string;
  /** What an administrator can do about it. */
  fix: string;
  /** The raw reason, for the log. */
  detail?: string;
  /** The message keys of `message` and `fix` (src/i18n/messages/<lang>/launch.json) and their parameters. */
  keys: { message: string; fix: string; params?: Record<string, string | number> };
}

type Params = Record<string, string | number>;
const english = createTranslator('en');

/** A refusal from its status, code, message key, fix key and the parameters both share. */
const F = (status: LaunchFailure['status'], code: LaunchFailureCode, message: string, fix: string, params?: Params): Omit<LaunchFailure, 'detail'> => ({
  status,
  code,
  message: english(`launch.message.${message}`, params),
  fix: english(`launch.fix.${fix}`, params),
  keys: { message: `launch.message.${message}`, fix: `launch.fix.${fix}`, ...(params ? { params } : {}) },
});

const BAD_SIGNATURE = F(401, 'bad_signature', 'badSignature', 'checkKeyset');
const MISSING_CLAIM = (claim: string) => F(401, 'missing_claim', 'missingClaim', 'checkConfig', { claim });

const BY_LTIJS_CODE: Record<string, Omit<LaunchFailure, 'detail'>> = {
  INVALID_JWT_RECEIVED: F(401, 'bad_signature', 'unreadableToken', 'launchAgain'),
  'invalid signature': BAD_SIGNATURE,
  'jwt malformed': BAD_SIGNATURE,
  'invalid algorithm': BAD_SIGNATURE,
  ALG_NOT_RS256: F(401, 'bad_signature', 'notRs256', 'checkKeySettings'),
  KID_NOT_FOUND: F(401, 'bad_signature', 'noKid', 'checkKeySettings'),
  KEY_NOT_FOUND: F(401, 'bad_signature', 'keyNotFound', 'keyRotated'),
  KEYSET_NOT_FOUND: F(401, 'bad_signature', 'keysetNotFound', 'checkKeysetUrl'),
  AUTHCONFIG_NOT_FOUND: F(401, 'bad_signature', 'noKeyRegistered', 'registerKey'),
  'jwt expired': F(401, 'expired', 'expired', 'clockAgain'),
  'jwt not active': F(401, 'expired', 'notYetValid', 'clock'),
  TOKEN_TOO_OLD: F(401, 'expired', 'tooOld', 'clockAgain'),
  NONCE_ALREADY_RECEIVED: F(401, 'replayed', 'replayed', 'launchAgain'),
  MISSING_VALIDATION_COOKIE: F(401, 'state_mismatch', 'stateMismatch', 'stateCookie'),
  NONCE_MISMATCH: F(401, 'replayed', 'nonceMismatch', 'launchAgain'),
  ISS_CLAIM_DOES_NOT_MATCH: F(401, 'state_mismatch', 'otherPlatform', 'launchAgain'),
  UNREGISTERED_PLATFORM: F(403, 'unknown_platform', 'unknownPlatform', 'register'),
  PLATFORM_NOT_ACTIVATED: F(403, 'inactive_platform', 'inactivePlatform', 'activate'),
  AUD_DOES_NOT_CONTAIN_CLIENTID: F(401, 'wrong_audience', 'audience', 'checkClientId'),
  AZP_DOES_NOT_MATCH_CLIENTID: F(401, 'wrong_audience', 'authorizedParty', 'checkClientId'),
  NO_DEPLOYMENT_ID_CLAIM: MISSING_CLAIM('deployment_id'),
  NO_LTI_VERSION_CLAIM: MISSING_CLAIM('version'),
  WRONG_LTI_VERSION_CLAIM: F(401, 'missing_claim', 'notLti13', 'configureLti13'),
  NO_MESSAGE_TYPE_CLAIM: MISSING_CLAIM('message_type'),
  NO_RESOURCE_LINK_ID_CLAIM: MISSING_CLAIM('resource_link'),
  NO_TARGET_LINK_URI_CLAIM: MISSING_CLAIM('target_link_uri'),
  NO_SUB_CLAIM: MISSING_CLAIM('sub'),
  NO_ROLES_CLAIM: MISSING_CLAIM('roles'),
  NO_LTIK_OR_IDTOKEN_FOUND: F(401, 'no_launch', 'noLaunch', 'openFromCourse'),
  'Session not found.': F(401, 'no_launch', 'sessionEnded', 'openAgain'),
  MISSING_LOGIN_PARAMETERS: F(400, 'bad_login_request', 'loginParameters', 'checkLoginUrl'),
};

/** Maps ltijs's error object (`res.locals.err`) to a LaunchFailure. Unknown reasons become a generic 401. */
export function launchFailureFrom(err: unknown): LaunchFailure {
  const detail = String((err as { details?: { message?: unknown } } | undefined)?.details?.message ?? 'unknown');
  const known = BY_LTIJS_CODE[detail];
  if (known) return { ...known, detail };
  return { ...F(401, 'invalid_launch', 'refused', 'launchAgainOrConfig'), detail };
}

/** Failures the tool itself decides after ltijs accepted the token. */
export const TOOL_FAILURES = {
  unknownDeployment: (id: string) => F(403, 'unknown_deployment', 'unknownDeployment', 'addDeployment', { id }),
  inactiveDeployment: (id: string) => F(403, 'inactive_deployment', 'inactiveDeployment', 'acceptAgain', { id }),
  noRole: () => F(403, 'no_role', 'noRole', 'askTeacher'),
  noContext: () => F(400, 'no_context', 'noContext', 'addToCourse'),
};

/** The refusals of the tool's own login and id_token checks. */
export const LAUNCH_FAILURES = {
  tokenTooLarge: (bytes: number, max: number) =>
    F(413, 'token_too_large', 'tokenTooLarge', 'fewerParameters', { size: Math.ceil(bytes / 1024), max: Math.floor(max / 1024) }),
  noIdToken: () => BY_LTIJS_CODE.NO_LTIK_OR_IDTOKEN_FOUND!,
  malformed: () => F(401, 'bad_signature', 'malformed', 'launchAgain'),
  algorithm: (alg: string) => (alg ? F(401, 'bad_signature', 'algorithm', 'checkKeySettings', { alg }) : F(401, 'bad_signature', 'noAlgorithm', 'checkKeySettings')),
  noKid: () => BY_LTIJS_CODE.KID_NOT_FOUND!,
  keyNotFound: () => BY_LTIJS_CODE.KEY_NOT_FOUND!,
  keysetUnavailable: (why: string) => F(401, 'bad_signature', 'keysetUnavailable', 'keysetReachable', { why }),
  badSignature: () => BAD_SIGNATURE,
  wrongIssuer: () => BY_LTIJS_CODE.ISS_CLAIM_DOES_NOT_MATCH!,
  wrongAudience: (clientId: string) => F(401, 'wrong_audience', 'wrongAudience', 'checkClientId', { clientId }),
  audienceWithoutAzp: () => F(401, 'wrong_audience', 'audienceWithoutAzp', 'checkConfig'),
  wrongAzp: (clientId: string) => F(401, 'wrong_audience', 'wrongAzp', 'checkClientId', { clientId }),
  missingTime: (claim: 'exp' | 'iat') => MISSING_CLAIM(claim),
  expired: () => BY_LTIJS_CODE['jwt expired']!,
  tooOld: () => BY_LTIJS_CODE.TOKEN_TOO_OLD!,
  inFuture: (claim: 'iat' | 'nbf') => F(401, 'issued_in_future', 'inFuture', 'clockMinute', { claim }),
  nonceMismatch: () => BY_LTIJS_CODE.NONCE_MISMATCH!,
  missingClaim: (claim: string) => MISSING_CLAIM(claim),
  wrongVersion: () => BY_LTIJS_CODE.WRONG_LTI_VERSION_CLAIM!,
  wrongMessageType: (type: string) =>
    type ? F(401, 'missing_claim', 'wrongMessageType', 'checkConfig', { type: type.slice(0, 60) }) : F(401, 'missing_claim', 'noMessageType', 'checkConfig'),
  invalidClaim: (claim: string, why: string) => F(401, 'missing_claim', 'invalidClaim', 'checkConfig', { claim, why }),
  foreignTargetLink: (origin: string) => F(401, 'bad_target_link', 'foreignTargetLink', 'useLaunchUrl', { origin }),
  badDeepLinking: (why: string) => F(401, 'bad_deep_linking', 'badDeepLinking', 'checkConfig', { why }),
  unknownState: () => F(401, 'state_mismatch', 'unknownState', 'launchAgainNoReload'),
  missingLoginParameters: (missing: string[]) => F(400, 'bad_login_request', 'loginLacks', 'loginUrlParameters', { missing: missing.join(', ') }),
  badLoginTarget: (origin: string) => F(400, 'bad_login_request', 'badLoginTarget', 'useLaunchUrl', { origin }),
  ambiguousClient: () => F(400, 'bad_login_request', 'ambiguousClient', 'sendClientId'),
  loginRateLimited: (seconds: number) => F(429, 'bad_login_request', 'loginRateLimited', 'waitThenOpen', { seconds }),
  unknownPlatform: () => BY_LTIJS_CODE.UNREGISTERED_PLATFORM!,
  inactivePlatform: () => BY_LTIJS_CODE.PLATFORM_NOT_ACTIVATED!,
  platformError: (error: string, description?: string) =>
    description
      ? F(401, 'invalid_launch', 'platformErrorDescribed', 'platformRefused', { error: error.slice(0, 60), description: description.slice(0, 200) })
      : F(401, 'invalid_launch', 'platformError', 'platformRefused', { error: error.slice(0, 60) }),
  storageMismatch: () => F(401, 'storage_mismatch', 'storageMismatch', 'launchAgain'),
};

/** What the browser told us about the launch POST, to give advice that is true for the case. */
export interface CookieContext {
  /** Over https the state cookie is SameSite=None; Secure; Partitioned; over http it is Lax. */
  secureCookies: boolean;
  /** Sec-Fetch-Site of the launch POST (`cross-site` from an LMS on another site). */
  fetchSite?: string;
  /** Sec-Fetch-Dest of the launch POST (`iframe` inside the LMS, `document` in a window). */
  fetchDest?: string;
  /** Whether the LMS offered platform storage (lti_storage_target) for this login. */
  storageOffered: boolean;
}

/** The state cookie did not come back: why, and what will actually help in this case. */
export function cookieMissing(c: CookieContext): LaunchFailure {
  const crossSite = c.fetchSite === 'cross-site';
  const inFrame = c.fetchDest === 'iframe' || c.fetchDest === 'frame';
  let fix: string;
  let detail: string;
  if (!c.secureCookies && crossSite) {
    // SameSite=Lax cookies are never sent with another site's form POST: a new window does not help.
    detail = 'http-lax-cross-site';
    fix = 'cookieHttpLax';
  } else if (inFrame && c.secureCookies) {
    detail = 'third-party-cookies-blocked';
    fix = c.storageOffered ? 'cookieBlockedStorage' : 'cookieBlocked';
  } else if (inFrame) {
    detail = 'frame-cookie-dropped';
    fix = 'cookieFrameDropped';
  } else {
    detail = 'cookie-not-sent';
    fix = 'cookieNotSent';
  }
  return { ...F(401, 'cookie_blocked', 'cookieMissing', fix), detail };
}

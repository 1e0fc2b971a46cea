/**
 * Why a launch was refused, in words an LMS administrator can act on.
 *
 * The tool checks logins and id_tokens itself (src/lti/id-token.ts, src/lti/launch-flow.ts) and
 * builds its refusals with `LAUNCH_FAILURES`. ltijs still answers its own few routes and reports
 * refusals there as message strings; `launchFailureFrom` is the one place that reads them.
 * Everything else sees a `LaunchFailure` with a stable code.
 */
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
}

const F = (status: LaunchFailure['status'], code: LaunchFailureCode, message: string, fix: string): Omit<LaunchFailure, 'detail'> => ({
  status,
  code,
  message,
  fix,
});

const BAD_SIGNATURE = F(
  401,
  'bad_signature',
  'The launch message is not signed by the platform it claims to come from.',
  "Check that the platform's keyset URL (or public key) registered in the tool is the LMS's current one.",
);
const MISSING_CLAIM = (claim: string) =>
  F(401, 'missing_claim', `The launch message lacks a required LTI claim: ${claim}.`, 'Check the LTI 1.3 configuration of the tool in the LMS.');

const BY_LTIJS_CODE: Record<string, Omit<LaunchFailure, 'detail'>> = {
  INVALID_JWT_RECEIVED: F(401, 'bad_signature', 'The launch did not carry a readable id_token.', 'Launch the tool again from the course.'),
  'invalid signature': BAD_SIGNATURE,
  'jwt malformed': BAD_SIGNATURE,
  'invalid algorithm': BAD_SIGNATURE,
  ALG_NOT_RS256: F(401, 'bad_signature', 'The launch message is not signed with RS256, the only algorithm LTI 1.3 allows.', 'Check the LMS key settings.'),
  KID_NOT_FOUND: F(401, 'bad_signature', 'The launch message does not say which platform key signed it (no kid).', 'Check the LMS key settings.'),
  KEY_NOT_FOUND: F(
    401,
    'bad_signature',
    "The key that signed the launch is not in the platform's keyset.",
    "If the LMS rotated its keys, check the keyset URL registered in the tool; if it uses a pasted public key, paste the new one on the tool's admin page.",
  ),
  KEYSET_NOT_FOUND: F(401, 'bad_signature', "The platform's keyset URL did not return a keyset.", 'Check the keyset URL registered for this platform.'),
  AUTHCONFIG_NOT_FOUND: F(401, 'bad_signature', 'No key is registered for this platform.', 'Register the platform keyset URL or public key.'),
  'jwt expired': F(401, 'expired', 'The launch message has expired.', "Launch the tool again. If it keeps happening, check that the LMS server's clock is right."),
  'jwt not active': F(401, 'expired', 'The launch message is not valid yet.', "Check that the LMS server's clock is right."),
  TOKEN_TOO_OLD: F(401, 'expired', 'The launch message was issued too long ago.', "Launch the tool again. If it keeps happening, check that the LMS server's clock is right."),
  NONCE_ALREADY_RECEIVED: F(401, 'replayed', 'This launch message was already used once (replayed).', 'Launch the tool again from the course.'),
  MISSING_VALIDATION_COOKIE: F(
    401,
    'state_mismatch',
    'The launch could not be matched to the login that started it (missing or mismatched state).',
    'The browser did not send back the state cookie: open the tool in a new window (LMS setting "launch container"), or serve the tool over https so the cookie can be SameSite=None; Secure.',
  ),
  NONCE_MISMATCH: F(401, 'replayed', 'The launch message does not answer the login that started it (nonce mismatch).', 'Launch the tool again from the course.'),
  ISS_CLAIM_DOES_NOT_MATCH: F(401, 'state_mismatch', 'The launch comes from another platform than the login that started it.', 'Launch the tool again from the course.'),
  UNREGISTERED_PLATFORM: F(
    403,
    'unknown_platform',
    'This LMS (issuer and client id) is not registered with the tool.',
    "Register it in platform-config/ or with dynamic registration; see the tool's admin page for the URLs.",
  ),
  PLATFORM_NOT_ACTIVATED: F(
    403,
    'inactive_platform',
    'This LMS is registered but not activated yet.',
    "The tool's administrator activates new registrations on the admin page.",
  ),
  AUD_DOES_NOT_CONTAIN_CLIENTID: F(401, 'wrong_audience', 'The launch message is addressed to another tool (audience).', 'Check the client id registered in the tool.'),
  AZP_DOES_NOT_MATCH_CLIENTID: F(401, 'wrong_audience', 'The launch message is addressed to another tool (authorized party).', 'Check the client id registered in the tool.'),
  NO_DEPLOYMENT_ID_CLAIM: MISSING_CLAIM('deployment_id'),
  NO_LTI_VERSION_CLAIM: MISSING_CLAIM('version'),
  WRONG_LTI_VERSION_CLAIM: F(401, 'missing_claim', 'The launch message is not LTI 1.3.0.', 'Configure the tool as an LTI 1.3 tool in the LMS.'),
  NO_MESSAGE_TYPE_CLAIM: MISSING_CLAIM('message_type'),
  NO_RESOURCE_LINK_ID_CLAIM: MISSING_CLAIM('resource_link'),
  NO_TARGET_LINK_URI_CLAIM: MISSING_CLAIM('target_link_uri'),
  NO_SUB_CLAIM: MISSING_CLAIM('sub'),
  NO_ROLES_CLAIM: MISSING_CLAIM('roles'),
  NO_LTIK_OR_IDTOKEN_FOUND: F(401, 'no_launch', 'This page opens only through a launch from your course.', 'Open the tool from a link in your course.'),
  'Session not found.': F(401, 'no_launch', 'Your session has ended.', 'Open the tool again from your course.'),
  MISSING_LOGIN_PARAMETERS: F(400, 'bad_login_request', 'The login request lacks iss, login_hint or target_link_uri.', 'Check the login URL configured in the LMS.'),
};

/** Maps ltijs's error object (`res.locals.err`) to a LaunchFailure. Unknown reasons become a generic 401. */
export function launchFailureFrom(err: unknown): LaunchFailure {
  const detail = String((err as { details?: { message?: unknown } } | undefined)?.details?.message ?? 'unknown');
  const known = BY_LTIJS_CODE[detail];
  if (known) return { ...known, detail };
  return { ...F(401, 'invalid_launch', 'The launch message was refused.', 'Launch the tool again; if it persists, check the LTI configuration.'), detail };
}

/** Failures the tool itself decides after ltijs accepted the token. */
export const TOOL_FAILURES = {
  unknownDeployment: (id: string) =>
    F(
      403,
      'unknown_deployment',
      `This LMS deployment (${id}) is not known to the tool, and the tool is set to refuse unknown deployments.`,
      'Add the deployment id to the platform file in platform-config/, accept it on the admin page, or set UNKNOWN_DEPLOYMENT=accept.',
    ),
  inactiveDeployment: (id: string) =>
    F(403, 'inactive_deployment', `This LMS deployment (${id}) has been switched off by the tool's administrator.`, 'Accept it again on the admin page.'),
  noRole: () =>
    F(
      403,
      'no_role',
      'This tool is for the teachers and learners of the course. Your role in this course gives no access to it.',
      'If you should have access, ask the course teacher to enrol you as a student or teacher.',
    ),
  noContext: () =>
    F(400, 'no_context', 'The tool was launched outside a course (no context claim).', 'Add the tool to a course and launch it from there.'),
};

const CLOCK_FIX = "Launch the tool again. If it keeps happening, check that the LMS server's clock is right (the tool allows one minute of difference).";
const CONFIG_FIX = 'Check the LTI 1.3 configuration of the tool in the LMS.';

/** The refusals of the tool's own login and id_token checks. */
export const LAUNCH_FAILURES = {
  tokenTooLarge: (bytes: number, max: number) =>
    F(
      413,
      'token_too_large',
      `The id_token is too large (${Math.ceil(bytes / 1024)} KB; the tool accepts at most ${Math.floor(max / 1024)} KB).`,
      'Send fewer or shorter custom parameters with this tool in the LMS.',
    ),
  noIdToken: () => BY_LTIJS_CODE.NO_LTIK_OR_IDTOKEN_FOUND!,
  malformed: () => F(401, 'bad_signature', 'The launch did not carry a readable id_token (not a signed JWT).', 'Launch the tool again from the course.'),
  algorithm: (alg: string) =>
    F(401, 'bad_signature', `The launch message is signed with ${alg || 'no algorithm'}; LTI 1.3 allows only RS256.`, 'Check the LMS key settings.'),
  noKid: () => BY_LTIJS_CODE.KID_NOT_FOUND!,
  keyNotFound: () => BY_LTIJS_CODE.KEY_NOT_FOUND!,
  keysetUnavailable: (why: string) =>
    F(401, 'bad_signature', `The platform's keyset could not be read (${why}).`, 'Check the keyset URL registered for this platform, and that the tool can reach it.'),
  badSignature: () => BAD_SIGNATURE,
  wrongIssuer: () => BY_LTIJS_CODE.ISS_CLAIM_DOES_NOT_MATCH!,
  wrongAudience: (clientId: string) =>
    F(401, 'wrong_audience', `The launch message is addressed to another tool (its audience does not contain the client id ${clientId}).`, 'Check the client id registered in the tool.'),
  audienceWithoutAzp: () =>
    F(401, 'wrong_audience', 'The launch message is addressed to several tools but does not say which one it authorizes (no azp).', CONFIG_FIX),
  wrongAzp: (clientId: string) =>
    F(401, 'wrong_audience', `The launch message authorizes another tool (azp is not the client id ${clientId}).`, 'Check the client id registered in the tool.'),
  missingTime: (claim: 'exp' | 'iat') => MISSING_CLAIM(claim),
  expired: () => BY_LTIJS_CODE['jwt expired']!,
  tooOld: () => BY_LTIJS_CODE.TOKEN_TOO_OLD!,
  inFuture: (claim: 'iat' | 'nbf') =>
    F(401, 'issued_in_future', `The launch message says it was issued in the future (${claim}).`, CLOCK_FIX),
  nonceMismatch: () => BY_LTIJS_CODE.NONCE_MISMATCH!,
  missingClaim: (claim: string) => MISSING_CLAIM(claim),
  wrongVersion: () => BY_LTIJS_CODE.WRONG_LTI_VERSION_CLAIM!,
  wrongMessageType: (type: string) =>
    F(401, 'missing_claim', `The tool does not handle this kind of launch (message_type ${type.slice(0, 60) || 'missing'}).`, CONFIG_FIX),
  invalidClaim: (claim: string, why: string) => F(401, 'missing_claim', `The launch message has an invalid claim ${claim}: ${why}.`, CONFIG_FIX),
  foreignTargetLink: (origin: string) =>
    F(
      401,
      'bad_target_link',
      `The launch points to another site than this tool (target_link_uri must be on ${origin}).`,
      "Use the tool's launch URL shown on its admin page as the tool URL in the LMS.",
    ),
  badDeepLinking: (why: string) => F(401, 'bad_deep_linking', `The deep-linking request cannot be answered: ${why}.`, CONFIG_FIX),
  unknownState: () =>
    F(
      401,
      'state_mismatch',
      'The launch could not be matched to a login of this tool (unknown, expired or already used state).',
      'Launch the tool again from the course. A launch page cannot be reloaded or opened twice.',
    ),
  missingLoginParameters: (missing: string[]) =>
    F(
      400,
      'bad_login_request',
      `The login request lacks ${missing.join(', ')}.`,
      "Check the login URL configured in the LMS (the tool's admin page shows it); the LMS must send iss, login_hint and target_link_uri.",
    ),
  badLoginTarget: (origin: string) =>
    F(
      400,
      'bad_login_request',
      `The login request asks to return to another site than this tool (target_link_uri must be an http(s) URL on ${origin}).`,
      "Use the tool's launch URL shown on its admin page as the tool URL in the LMS.",
    ),
  ambiguousClient: () =>
    F(400, 'bad_login_request', 'Several registrations of this LMS exist and the login request does not say which (no client_id).', 'Configure the LMS to send client_id with the login request, or remove the registration that is not used.'),
  loginRateLimited: (seconds: number) =>
    F(429, 'bad_login_request', `Too many logins from your network in a short time. Try again in ${seconds} seconds.`, 'Wait a moment, then open the tool again from your course.'),
  unknownPlatform: () => BY_LTIJS_CODE.UNREGISTERED_PLATFORM!,
  inactivePlatform: () => BY_LTIJS_CODE.PLATFORM_NOT_ACTIVATED!,
  platformError: (error: string, description?: string) =>
    F(
      401,
      'invalid_launch',
      `The LMS refused to sign you in to the tool (${error.slice(0, 60)}${description ? `: ${description.slice(0, 200)}` : ''}).`,
      'Launch the tool again from the course; if it persists, check that you are logged in to the LMS and enrolled in the course.',
    ),
  storageMismatch: () =>
    F(
      401,
      'storage_mismatch',
      "The LMS's platform storage did not hold this launch's login (the launch was started in another browser or was tampered with).",
      'Launch the tool again from the course.',
    ),
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
  const message = 'The launch could not be matched to the login that started it: your browser did not send back the login (state) cookie.';
  const crossSite = c.fetchSite === 'cross-site';
  const inFrame = c.fetchDest === 'iframe' || c.fetchDest === 'frame';
  let fix: string;
  let detail: string;
  if (!c.secureCookies && crossSite) {
    // SameSite=Lax cookies are never sent with another site's form POST: a new window does not help.
    detail = 'http-lax-cross-site';
    fix =
      'The tool is served over http, so its cookie can only be SameSite=Lax, which browsers never send with a form posted by the LMS from another site — neither in a frame nor in a new window. Serve the tool over https (PUBLIC_URL=https://…), or for a local test run the tool and the LMS on the same site.';
  } else if (inFrame && c.secureCookies) {
    detail = 'third-party-cookies-blocked';
    fix = c.storageOffered
      ? 'Your browser blocks cookies for the tool inside the LMS page, and the LMS platform storage did not answer. Open the tool in a new window (LMS setting "launch container"), or allow third-party cookies for this tool.'
      : 'Your browser blocks cookies for the tool inside the LMS page (third-party cookies). Open the tool in a new window (LMS setting "launch container"), or allow third-party cookies for this tool.';
  } else if (inFrame) {
    detail = 'frame-cookie-dropped';
    fix = 'Your browser did not keep the cookie for the tool inside the LMS page. Open the tool in a new window (LMS setting "launch container").';
  } else {
    detail = 'cookie-not-sent';
    fix = 'The login was started in another browser or window, or its cookie was cleared. Launch the tool again from the course in this browser; if it keeps happening, allow cookies for this tool.';
  }
  return { status: 401, code: 'cookie_blocked', message, fix, detail };
}

/**
 * Why a launch was refused, in words an LMS administrator can act on.
 *
 * ltijs reports refusals as message strings (its own codes like `NONCE_ALREADY_RECEIVED`, or
 * jsonwebtoken's `jwt expired`). This table is the one place that reads them; everything else
 * sees a `LaunchFailure` with a stable code.
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
  | 'invalid_launch';

export interface LaunchFailure {
  status: 400 | 401 | 403;
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

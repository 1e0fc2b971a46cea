/**
 * LTI Dynamic Registration the Canvas way (the sandbox's Canvas mode), following instructure/canvas-lms:
 *
 * - The administrator starts it from Admin › Developer Keys › + LTI Registration (the sandbox:
 *   `startDynamicRegistration(url, { as: 'canvas' })` or `/register-tool?as=canvas`): the tool's URL
 *   gets `openid_configuration=<canvas>/api/lti/security/openid-configuration?registration_token=…`
 *   and `registration_token` (app/controllers/lti/ims/dynamic_registration_controller.rb
 *   `registration_token`, `oidc_configuration_url`).
 * - `GET /api/lti/security/openid-configuration` answers only with a live `registration_token`
 *   (401 `{"error":"Access token missing (You must include the registration_token parameter)."}`),
 *   and describes Canvas: `/api/lti/authorize_redirect`, `/api/lti/registrations`,
 *   `/api/lti/security/jwks`, `/login/oauth2/token`, claims `sub picture email name given_name
 *   family_name locale` (no `iss`), `subject_types_supported: ["public"]`, and the platform
 *   configuration `product_family_code: "canvas"`, `version: "OpenSource"`, each message type with
 *   its placements, the variables, account name and LTI guid (app/controllers/security_controller.rb).
 * - `POST /api/lti/registrations` (Bearer registration token) keeps only the parameters Canvas permits
 *   (`expected_registration_params`): messages with type, target_link_uri, label, icon_uri,
 *   custom_parameters, roles, placements and the course-navigation `default_enabled` / `visibility`
 *   extensions; `https://canvas.instructure.com/lti/privacy_level`. It creates an LTI developer key
 *   (the client id is its global id, e.g. 10000000000042) and answers the registration with
 *   `https://canvas.instructure.com/lti/registration_config_url` and WITHOUT `deployment_id`: Canvas
 *   makes the deployment when the administrator installs the key (`render_registration`).
 *   Placements are checked against `Lti::ResourcePlacement::PLACEMENTS_BY_MESSAGE_TYPE`, the privacy
 *   level against app/models/lti/ims/registration.rb (`public`, `name_only`, `email_only`, `anonymous`).
 */
import { createHash } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import type { ClientRegistry } from './clients';
import type { SandboxContext } from './context';
import { ALL_SERVICE_SCOPES, CLAIM, MESSAGE_TYPE } from './lti-vocabulary';
import type { RegistrationTokens } from './registration.routes';

/** A subset of Lti::ResourcePlacement::PLACEMENTS_BY_MESSAGE_TYPE (resource_selection left out, as Canvas does). */
export const CANVAS_PLACEMENTS: Record<string, readonly string[]> = {
  [MESSAGE_TYPE.resourceLink]: ['account_navigation', 'assignment_edit', 'assignment_menu', 'assignment_view', 'course_assignments_menu', 'course_home_sub_navigation', 'course_navigation', 'course_settings_sub_navigation', 'discussion_topic_menu', 'file_menu', 'global_navigation', 'homework_submission', 'link_selection', 'migration_selection', 'module_index_menu', 'module_menu', 'page_menu', 'quiz_menu', 'tool_configuration', 'user_navigation', 'wiki_page_menu'],
  [MESSAGE_TYPE.deepLinkingRequest]: ['assignment_selection', 'collaboration', 'conference_selection', 'course_assignments_menu', 'editor_button', 'homework_submission', 'link_selection', 'migration_selection', 'module_index_menu_modal', 'module_menu_modal', 'submission_type_selection'],
};
export const CANVAS_PRIVACY_LEVELS = ['public', 'name_only', 'email_only', 'anonymous'] as const;
export const CANVAS_EXT = {
  privacyLevel: 'https://canvas.instructure.com/lti/privacy_level',
  courseNavDefaultEnabled: 'https://canvas.instructure.com/lti/course_navigation/default_enabled',
  visibility: 'https://canvas.instructure.com/lti/visibility',
  registrationConfigUrl: 'https://canvas.instructure.com/lti/registration_config_url',
  accountName: 'https://canvas.instructure.com/lti/account_name',
  accountLtiGuid: 'https://canvas.instructure.com/lti/account_lti_guid',
} as const;

/** What Canvas keeps of a registration besides the developer key (Lti::IMS::Registration). */
export interface CanvasRegistration {
  clientId: string;
  placements: Record<string, string[]>;
  privacyLevel: 'public' | 'name_only' | 'email_only' | 'anonymous';
  courseNavigationDefaultEnabled?: boolean;
  toolConfiguration: Record<string, unknown>;
}

export function canvasOpenidConfigurationUrl(baseUrl: string, token: string): string {
  return `${baseUrl}/api/lti/security/openid-configuration?registration_token=${encodeURIComponent(token)}`;
}

const isUrl = (v: unknown) => {
  if (typeof v !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

export function canvasRegistrationRoutes(ctx: SandboxContext, tokens: RegistrationTokens, clients: ClientRegistry, registrations: Map<string, CanvasRegistration>): express.Router {
  const router = express.Router();
  const accountGuid = createHash('sha1').update(`${ctx.baseUrl} account`).digest('hex');
  let nextKey = 10000000000042;

  router.get('/api/lti/security/openid-configuration', async (req: Request, res: Response) => {
    const token = typeof req.query.registration_token === 'string' ? req.query.registration_token : '';
    if (!token) return void res.status(401).json({ error: 'Access token missing (You must include the registration_token parameter).' });
    if (!(await tokens.isLive(token))) return void res.status(401).json({ error: 'The registration token is invalid or was already used.' });
    res.json({
      issuer: ctx.urls.issuer,
      authorization_endpoint: `${ctx.baseUrl}/api/lti/authorize_redirect`,
      registration_endpoint: `${ctx.baseUrl}/api/lti/registrations`,
      jwks_uri: `${ctx.baseUrl}/api/lti/security/jwks`,
      token_endpoint: `${ctx.baseUrl}/login/oauth2/token`,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      scopes_supported: [...ALL_SERVICE_SCOPES],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'picture', 'email', 'name', 'given_name', 'family_name', 'locale'],
      subject_types_supported: ['public'],
      authorization_server: ctx.baseUrl.replace(/^https?:\/\//, '').split('/')[0],
      [CLAIM.platformConfiguration]: {
        product_family_code: 'canvas',
        version: 'OpenSource',
        messages_supported: Object.entries(CANVAS_PLACEMENTS).map(([type, placements]) => ({ type, placements })),
        variables: ['Canvas.user.id', 'Canvas.course.id', 'Canvas.user.loginId', 'User.username', 'Person.name.full', 'Person.email.primary', 'Context.id', 'Context.title', 'com.instructure.contextLabel', 'Message.locale'],
        [CANVAS_EXT.accountName]: 'Sandbox Canvas',
        [CANVAS_EXT.accountLtiGuid]: accountGuid,
      },
    });
  });

  // Lti::IMS::AuthenticationController#authorize_redirect sends the browser on to the account's own domain.
  router.get('/api/lti/authorize_redirect', (req, res) => {
    const q = new URLSearchParams(req.query as Record<string, string>).toString();
    res.redirect(302, `${ctx.urls.auth}?${q}`);
  });
  router.post('/api/lti/authorize_redirect', express.urlencoded({ extended: false }), (req, res) => {
    const q = new URLSearchParams(req.body as Record<string, string>).toString();
    res.redirect(302, `${ctx.urls.auth}?${q}`);
  });
  router.get('/api/lti/security/jwks', (_req, res) => void res.json({ keys: [ctx.key.publicJwk] }));

  router.post('/api/lti/registrations', express.json({ type: () => true, limit: '256kb' }), async (req: Request, res: Response) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    // respond_with_error(:unauthorized, …) answers `{errorMessage}`.
    if (!m) return void res.status(401).json({ errorMessage: 'JWT did not include expected contents' });
    const body = (req.body ?? {}) as Record<string, unknown>;
    const problem = validate(body);
    if (problem) return void res.status(422).json({ errors: [{ message: problem }] });
    const redeemed = await tokens.redeem(m[1]!);
    if ('error' in redeemed) return void res.status(401).json({ errorMessage: redeemed.error });

    const tc = body[CLAIM.toolConfiguration] as Record<string, unknown>;
    const messages = (tc.messages as Record<string, unknown>[] | undefined) ?? [];
    const clientId = String(nextKey++);
    const deepLinking = messages.find((x) => x.type === MESSAGE_TYPE.deepLinkingRequest);
    const resourceLink = messages.find((x) => x.type === MESSAGE_TYPE.resourceLink);
    const scopes = String(body.scope ?? '').split(/\s+/).filter((s) => ALL_SERVICE_SCOPES.includes(s));
    const custom = Object.fromEntries(Object.entries((tc.custom_parameters as Record<string, unknown>) ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
    clients.add({
      clientId,
      // Canvas's deployment ids are "<id>:<context lti guid>" (ContextExternalTool#deployment_id).
      deploymentId: `${clientId.slice(-3)}:${accountGuid}`,
      name: String(body.client_name),
      loginUrl: String(body.initiate_login_uri),
      targetLinkUri: String(resourceLink?.target_link_uri ?? tc.target_link_uri),
      deepLinkingUrl: deepLinking ? String(deepLinking.target_link_uri ?? tc.target_link_uri) : undefined,
      redirectUris: body.redirect_uris as string[],
      jwksUrl: String(body.jwks_uri),
      scopes,
      dynamic: true,
      customParameters: custom,
      // app/models/lti/ims/registration.rb: a registration without a privacy level is anonymous.
      privacyLevel: (tc[CANVAS_EXT.privacyLevel] as CanvasRegistration['privacyLevel'] | undefined) ?? 'anonymous',
    });
    registrations.set(clientId, {
      clientId,
      placements: Object.fromEntries(messages.map((x) => [String(x.type), ((x.placements as string[] | undefined) ?? []).slice()])),
      privacyLevel: (tc[CANVAS_EXT.privacyLevel] as CanvasRegistration['privacyLevel'] | undefined) ?? 'anonymous',
      courseNavigationDefaultEnabled: messages.some((x) => x[CANVAS_EXT.courseNavDefaultEnabled] === true),
      toolConfiguration: tc,
    });
    res.status(200).json({
      client_id: clientId,
      application_type: body.application_type,
      grant_types: body.grant_types,
      initiate_login_uri: body.initiate_login_uri,
      redirect_uris: body.redirect_uris,
      response_types: body.response_types,
      client_name: body.client_name,
      jwks_uri: body.jwks_uri,
      logo_uri: body.logo_uri ?? null,
      token_endpoint_auth_method: body.token_endpoint_auth_method,
      scope: scopes.join(' '),
      [CLAIM.toolConfiguration]: { ...tc, [CANVAS_EXT.registrationConfigUrl]: `${ctx.baseUrl}/api/lti/registrations/${clientId}/view` },
    });
  });

  return router;
}

/** Lti::IMS::Registration's validations, as far as the sandbox models them. */
function validate(body: Record<string, unknown>): string | null {
  const has = (name: string, v: string) => Array.isArray(body[name]) && (body[name] as unknown[]).includes(v);
  if (body.application_type !== 'web') return 'Application type must be "web"';
  if (!has('grant_types', 'client_credentials') || !has('grant_types', 'implicit')) return 'Grant types must include client_credentials and implicit';
  if (!has('response_types', 'id_token')) return 'Response types must include id_token';
  if (body.token_endpoint_auth_method !== 'private_key_jwt') return 'Token endpoint auth method must be private_key_jwt';
  if (!isUrl(body.initiate_login_uri) || !isUrl(body.jwks_uri)) return 'initiate_login_uri and jwks_uri must be URLs';
  if (!Array.isArray(body.redirect_uris) || !body.redirect_uris.every(isUrl) || body.redirect_uris.length === 0) return 'Redirect uris must be URLs';
  if (typeof body.client_name !== 'string' || !body.client_name) return "Client name can't be blank";
  if (typeof body.scope !== 'string') return 'scope is required';
  const tc = body[CLAIM.toolConfiguration] as Record<string, unknown> | undefined;
  if (!tc || typeof tc !== 'object') return `${CLAIM.toolConfiguration} is required`;
  if (typeof tc.domain !== 'string' || !isUrl(tc.target_link_uri)) return 'Lti tool configuration needs domain and target_link_uri';
  const privacy = tc[CANVAS_EXT.privacyLevel];
  if (privacy !== undefined && !(CANVAS_PRIVACY_LEVELS as readonly unknown[]).includes(privacy)) return `Privacy level must be one of ${CANVAS_PRIVACY_LEVELS.join(', ')}`;
  for (const msg of (tc.messages as Record<string, unknown>[] | undefined) ?? []) {
    const allowed = CANVAS_PLACEMENTS[String(msg.type)];
    if (!allowed) return `Unsupported message type ${String(msg.type)}`;
    for (const p of (msg.placements as unknown[] | undefined) ?? []) if (!allowed.includes(String(p))) return `Placement ${String(p)} is not valid for ${String(msg.type)}`;
  }
  return null;
}

/**
 * LTI Dynamic Registration (IMS LTI DR 1.0), as Moodle 4.x and Canvas use it: the administrator
 * pastes our registration URL into the LMS; the LMS opens it with `openid_configuration` and a
 * one-time `registration_token`; we read the platform's configuration, post our tool
 * configuration, and register the platform. New registrations wait for activation by the tool's
 * administrator unless DYNREG_AUTO_ACTIVATE is on (Moodle itself also creates the tool as
 * "pending" on its side).
 */
import { z } from 'zod';
import type { Connection } from 'mongoose';
import { PlatformError, ValidationError } from '../errors';
import { TOOL_SCOPES } from './claims';
import { deploymentModel } from './deployment.model';
import type { LtiProvider, RegisteredPlatform } from './provider';

const OpenIdConfigSchema = z.object({
  issuer: z.url(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
  registration_endpoint: z.url(),
  authorization_server: z.string().optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  claims_supported: z.array(z.string()).optional(),
  scopes_supported: z.array(z.string()).optional(),
  'https://purl.imsglobal.org/spec/lti-platform-configuration': z
    .object({ product_family_code: z.string().optional(), version: z.string().optional() })
    .passthrough()
    .optional(),
});

const RegistrationResponseSchema = z.object({
  client_id: z.string().min(1),
  'https://purl.imsglobal.org/spec/lti-tool-configuration': z.object({ deployment_id: z.string().optional() }).passthrough().optional(),
});

export interface ToolUrls {
  baseUrl: string;
  loginUrl: string;
  launchUrl: string;
  keysetUrl: string;
}

export interface DynamicRegistrationResult {
  platform: RegisteredPlatform;
  deploymentId?: string;
  productFamily?: string;
}

/** Performs the registration. Throws ValidationError for bad parameters, PlatformError when the LMS answers badly. */
export async function registerDynamically(
  deps: { conn: Connection; lti: LtiProvider; tool: ToolUrls; autoActivate: boolean; now: () => Date; fetch?: typeof fetch },
  params: { openidConfiguration: unknown; registrationToken: unknown },
): Promise<DynamicRegistrationResult> {
  const doFetch = deps.fetch ?? fetch;
  const configUrl = z.url().safeParse(params.openidConfiguration);
  if (!configUrl.success) throw new ValidationError('openid_configuration: the LMS must open this page with an openid_configuration URL.');
  const token = typeof params.registrationToken === 'string' ? params.registrationToken : undefined;

  const configRes = await doFetch(configUrl.data, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(10_000) }).catch(
    (err: Error) => {
      throw new PlatformError(`Could not read the LMS's openid configuration at ${configUrl.data}: ${err.message}`);
    },
  );
  if (!configRes.ok) throw new PlatformError(`The LMS's openid configuration answered HTTP ${configRes.status} at ${configUrl.data}.`);
  const config = OpenIdConfigSchema.safeParse(await configRes.json().catch(() => null));
  if (!config.success) {
    const i = config.error.issues[0]!;
    throw new PlatformError(`The LMS's openid configuration is incomplete: ${i.path.join('.')} ${i.message}.`);
  }
  const c = config.data;
  // The registration endpoint must belong to the issuer's site: never post our configuration elsewhere.
  if (new URL(c.registration_endpoint).origin !== new URL(configUrl.data).origin) {
    throw new PlatformError('The registration endpoint is on another site than the openid configuration; refusing to register.');
  }
  const family = c['https://purl.imsglobal.org/spec/lti-platform-configuration']?.product_family_code;
  const wanted = ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'];
  const registration = {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: deps.tool.loginUrl,
    redirect_uris: [deps.tool.launchUrl],
    client_name: 'Certificates',
    jwks_uri: deps.tool.keysetUrl,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: TOOL_SCOPES.filter((s) => !c.scopes_supported || c.scopes_supported.includes(s)).join(' '),
    'https://purl.imsglobal.org/spec/lti-tool-configuration': {
      domain: new URL(deps.tool.baseUrl).host,
      target_link_uri: deps.tool.launchUrl,
      description: 'Course certificates: learners claim theirs when their grades qualify; teachers manage them all.',
      // Canvas needs these to map LTI users to its own ids (platforms.md §2); other LMSs ignore unknown variables.
      custom_parameters: family === 'canvas' ? { canvas_user_id: '$Canvas.user.id', canvas_course_id: '$Canvas.course.id' } : {},
      claims: c.claims_supported ? wanted.filter((x) => c.claims_supported!.includes(x)) : wanted,
      messages: [
        { type: 'LtiResourceLinkRequest', label: 'Certificates' },
        { type: 'LtiDeepLinkingRequest', label: 'Certificates', target_link_uri: deps.tool.launchUrl },
      ],
    },
  };
  const regRes = await doFetch(c.registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(registration),
    signal: AbortSignal.timeout(10_000),
  }).catch((err: Error) => {
    throw new PlatformError(`Could not reach the LMS's registration endpoint: ${err.message}`);
  });
  const regBody = await regRes.text();
  if (!regRes.ok) throw new PlatformError(`The LMS refused the registration (HTTP ${regRes.status}): ${regBody.slice(0, 300)}`);
  let regJson: unknown;
  try {
    regJson = JSON.parse(regBody);
  } catch {
    throw new PlatformError('The LMS answered the registration with something that is not JSON.');
  }
  const reg = RegistrationResponseSchema.safeParse(regJson);
  if (!reg.success) throw new PlatformError('The LMS answered the registration without a client_id.');

  const existing = await deps.lti.findPlatform(c.issuer, reg.data.client_id);
  const platform = await deps.lti.registerPlatform(
    {
      issuer: c.issuer,
      clientId: reg.data.client_id,
      name: `${family ?? 'LMS'} ${new URL(c.issuer).host}`,
      authUrl: c.authorization_endpoint,
      tokenUrl: c.token_endpoint,
      authorizationServer: c.authorization_server,
      jwksUrl: c.jwks_uri,
    },
    // Re-registering an already active client keeps it active.
    { active: deps.autoActivate || Boolean(existing?.active) },
  );
  const deploymentId = reg.data['https://purl.imsglobal.org/spec/lti-tool-configuration']?.deployment_id;
  if (deploymentId) {
    await deploymentModel(deps.conn).updateOne(
      { issuer: c.issuer, clientId: reg.data.client_id, deploymentId },
      { $setOnInsert: { source: 'dynamic-registration', status: 'accepted', firstSeenAt: deps.now() } },
      { upsert: true },
    );
  }
  return { platform, deploymentId, productFamily: family };
}

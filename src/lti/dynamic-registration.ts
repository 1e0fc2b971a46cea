/**
 * LTI Dynamic Registration (IMS LTI DR 1.0), as Moodle 4.x and Canvas use it: the administrator
 * pastes our registration URL into the LMS; the LMS opens it with `openid_configuration` and a
 * one-time `registration_token`; we read the platform's configuration, post our tool
 * configuration, and register the platform. New registrations wait for activation by the tool's
 * administrator unless DYNREG_AUTO_ACTIVATE is on (Moodle itself also creates the tool as
 * "pending" on its side).
 *
 * The registration URL is public and unauthenticated, so nothing it does may change a
 * registration in use: a re-registration of a known issuer + client id becomes a *request* the
 * administrator compares and accepts on /admin (registration-request.model.ts). The issuer must
 * be the site the openid-configuration came from, so a configuration on one site cannot claim
 * another's issuer.
 */
import { z } from 'zod';
import { Types, type Connection } from 'mongoose';
import { ConflictError, NotFoundError, PlatformError, ValidationError } from '../errors';
import { createLogger } from '../logger';
import { checkPlatformUrl, isLoopbackHost, policyForRegistration } from './advantage/url-guard';
import { TOOL_SCOPES } from './claims';
import { deploymentModel } from './deployment.model';
import type { LtiProvider, PlatformRegistration, RegisteredPlatform } from './provider';
import {
  dynamicRegistrationModel,
  MAX_PENDING_PER_CLIENT,
  registrationEventModel,
  registrationRequestModel,
  type RegistrationRequestDoc,
} from './registration-request.model';

const log = createLogger('lti:registration');

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

export type DynamicRegistrationResult =
  | { kind: 'registered'; platform: RegisteredPlatform; deploymentId?: string; productFamily?: string }
  /** The issuer + client id is already registered: nothing changed; the administrator decides. */
  | { kind: 'pending'; request: RegistrationRequestDoc; current: RegisteredPlatform };

export interface RegistrationDeps {
  conn: Connection;
  lti: LtiProvider;
  tool: ToolUrls;
  autoActivate: boolean;
  now: () => Date;
  fetch?: typeof fetch;
}

/**
 * Whether `issuer` is the site `configUrl` is on: same origin, and the configuration's path
 * under the issuer's path. Moodle's issuer is its wwwroot (mod/lti/openid-configuration.php:
 * `'issuer' => $CFG->wwwroot`), which may have a path (https://school.edu/moodle), and its
 * configuration lives below it (…/moodle/mod/lti/openid-configuration.php).
 */
export function issuerMatchesConfigurationUrl(issuer: string, configUrl: string): boolean {
  let i: URL;
  let c: URL;
  try {
    i = new URL(issuer);
    c = new URL(configUrl);
  } catch {
    return false;
  }
  if (i.origin !== c.origin) return false;
  const base = i.pathname.replace(/\/+$/, '');
  return base === '' || c.pathname === base || c.pathname.startsWith(`${base}/`);
}

/**
 * Performs the registration. Throws ValidationError for bad parameters, PlatformError when the
 * LMS answers badly or its configuration is not acceptable.
 */
export async function registerDynamically(
  deps: RegistrationDeps,
  params: { openidConfiguration: unknown; registrationToken: unknown; requestedFrom?: string },
): Promise<DynamicRegistrationResult> {
  const doFetch = deps.fetch ?? fetch;
  const configUrl = z.url().safeParse(params.openidConfiguration);
  if (!configUrl.success) throw new ValidationError('openid_configuration: the LMS must open this page with an openid_configuration URL.', undefined, { key: 'registration.error.noConfigurationUrl' });
  const token = typeof params.registrationToken === 'string' ? params.registrationToken : undefined;
  // No registration yet to take hosts from: any host but link-local/metadata ones, and loopback
  // only when the tool itself runs on loopback (development, tests).
  const toolOnLoopback = isLoopbackHost(new URL(deps.tool.baseUrl).hostname);
  await checkPlatformUrl(configUrl.data, { allowLoopback: toolOnLoopback, what: "the LMS's openid configuration" });

  const configRes = await doFetch(configUrl.data, { headers: { Accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(10_000) }).catch(
    (err: Error) => {
      throw new PlatformError(`Could not read the LMS's openid configuration at ${configUrl.data}: ${err.message}`, undefined, {
        key: 'registration.error.configUnreachable',
        params: { url: configUrl.data, why: err.message },
      });
    },
  );
  if (!configRes.ok) {
    throw new PlatformError(`The LMS's openid configuration answered HTTP ${configRes.status} at ${configUrl.data}.`, undefined, {
      key: 'registration.error.configStatus',
      params: { status: String(configRes.status), url: configUrl.data },
    });
  }
  const config = OpenIdConfigSchema.safeParse(await configRes.json().catch(() => null));
  if (!config.success) {
    const i = config.error.issues[0]!;
    throw new PlatformError(`The LMS's openid configuration is incomplete: ${i.path.join('.')} ${i.message}.`, undefined, {
      key: 'registration.error.configIncomplete',
      params: { field: i.path.join('.'), why: i.message },
    });
  }
  const c = config.data;
  if (!issuerMatchesConfigurationUrl(c.issuer, configUrl.data)) {
    throw new PlatformError(
      `The LMS's openid configuration at ${configUrl.data} names the issuer ${c.issuer}, which is not the site it came from; refusing to register.`,
      { reason: 'issuer_mismatch' },
      { key: 'registration.error.issuerMismatch', params: { url: configUrl.data, issuer: c.issuer } },
    );
  }
  // The registration endpoint must belong to the issuer's site: never post our configuration elsewhere.
  if (new URL(c.registration_endpoint).origin !== new URL(configUrl.data).origin) {
    throw new PlatformError('The registration endpoint is on another site than the openid configuration; refusing to register.', undefined, { key: 'registration.error.endpointElsewhere' });
  }
  const reg: Omit<PlatformRegistration, 'clientId'> & { jwksUrl: string } = {
    issuer: c.issuer,
    name: '',
    authUrl: c.authorization_endpoint,
    tokenUrl: c.token_endpoint,
    authorizationServer: c.authorization_server,
    jwksUrl: c.jwks_uri,
  };
  // The keyset and token URLs will be fetched by ltijs: hold them to the same rules now.
  for (const [what, u] of [['the keyset URL', reg.jwksUrl], ['the token URL', reg.tokenUrl], ['the login URL', reg.authUrl]] as const) {
    await checkPlatformUrl(u, { ...policyForRegistration(reg), allowedHosts: undefined, what: `${what} of the LMS` });
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
      // username: matches learners to gradebook exports that name people by login (Chamilo always,
      // Moodle with a Username column); Moodle stores these as the tool's custom parameters
      // (mod/lti/classes/local/ltiopenid/registration_helper.php registration_to_config) and
      // substitutes $User.username, as Canvas does. Canvas also needs its own ids for REST (platforms.md §2).
      custom_parameters: {
        username: '$User.username',
        ...(family === 'canvas' ? { canvas_user_id: '$Canvas.user.id', canvas_course_id: '$Canvas.course.id' } : {}),
      },
      claims: c.claims_supported ? wanted.filter((x) => c.claims_supported!.includes(x)) : wanted,
      messages:
        family === 'canvas'
          ? [
              // Canvas: where the tool appears (Lti::ResourcePlacement), the course menu entry on by default.
              { type: 'LtiResourceLinkRequest', label: 'Certificates', placements: ['course_navigation'], 'https://canvas.instructure.com/lti/course_navigation/default_enabled': true },
              { type: 'LtiDeepLinkingRequest', label: 'Certificates', target_link_uri: deps.tool.launchUrl, placements: ['link_selection'] },
            ]
          : [
              { type: 'LtiResourceLinkRequest', label: 'Certificates' },
              { type: 'LtiDeepLinkingRequest', label: 'Certificates', target_link_uri: deps.tool.launchUrl },
            ],
      // Canvas sends names and e-mail addresses only to a tool whose privacy level is "public"
      // (app/models/lti/ims/registration.rb, Lti::PrivacyLevelExpander): certificates carry names.
      ...(family === 'canvas' ? { 'https://canvas.instructure.com/lti/privacy_level': 'public' } : {}),
    },
  };
  const regRes = await doFetch(c.registration_endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(registration),
    redirect: 'error',
    signal: AbortSignal.timeout(10_000),
  }).catch((err: Error) => {
    throw new PlatformError(`Could not reach the LMS's registration endpoint: ${err.message}`, undefined, { key: 'registration.error.endpointUnreachable', params: { why: err.message } });
  });
  const regBody = await regRes.text();
  if (!regRes.ok) {
    throw new PlatformError(`The LMS refused the registration (HTTP ${regRes.status}): ${regBody.slice(0, 300)}`, undefined, {
      key: 'registration.error.refused',
      params: { status: String(regRes.status), body: regBody.slice(0, 300) },
    });
  }
  let regJson: unknown;
  try {
    regJson = JSON.parse(regBody);
  } catch {
    throw new PlatformError('The LMS answered the registration with something that is not JSON.', undefined, { key: 'registration.error.notJson' });
  }
  const answer = RegistrationResponseSchema.safeParse(regJson);
  if (!answer.success) throw new PlatformError('The LMS answered the registration without a client_id.', undefined, { key: 'registration.error.noClientId' });
  const clientId = answer.data.client_id;
  const deploymentId = answer.data['https://purl.imsglobal.org/spec/lti-tool-configuration']?.deployment_id;
  const full = { ...reg, clientId, name: `${family ?? 'LMS'} ${new URL(c.issuer).host}` };
  const now = deps.now();

  const existing = await deps.lti.findPlatform(c.issuer, clientId);
  // The unique index on dynamic_registrations decides between two simultaneous first
  // registrations of the same client: the loser becomes a request like any re-registration.
  const claims = dynamicRegistrationModel(deps.conn);
  const claim = () =>
    claims
      .create({ issuer: c.issuer, clientId, openidConfigurationUrl: configUrl.data, registeredAt: now })
      .then(() => true)
      .catch((err: { code?: number }) => {
        if (err.code === 11000) return false;
        throw err;
      });
  let first = !existing && (await claim());
  if (!first && !existing && !(await deps.lti.findPlatform(c.issuer, clientId))) {
    // A claim without a platform is left by a registration that failed half-way (the process
    // died between the two writes): once it is a minute old, it no longer blocks the client.
    const stale = await claims.deleteOne({ issuer: c.issuer, clientId, registeredAt: { $lt: new Date(now.getTime() - 60_000) } });
    if (stale.deletedCount === 1) first = await claim();
  }
  if (!first) {
    const current = existing ?? (await deps.lti.findPlatform(c.issuer, clientId));
    if (!current) throw new ConflictError('This LMS is being registered by another request at this moment; try again in a minute.', undefined, { key: 'registration.error.busy' });
    const requests = registrationRequestModel(deps.conn);
    if ((await requests.countDocuments({ issuer: c.issuer, clientId })) >= MAX_PENDING_PER_CLIENT) {
      throw new ConflictError(
        `This LMS already has ${MAX_PENDING_PER_CLIENT} re-registrations waiting for the tool's administrator; ask them to accept or reject those first.`,
        undefined,
        { key: 'registration.error.tooManyWaiting', params: { max: MAX_PENDING_PER_CLIENT } },
      );
    }
    const request = await requests.create({
      ...full,
      deploymentId,
      productFamily: family,
      openidConfigurationUrl: configUrl.data,
      requestedAt: now,
      requestedFrom: params.requestedFrom,
    });
    await registrationEventModel(deps.conn).create({
      action: 'reregistration_requested',
      issuer: c.issuer,
      clientId,
      at: now,
      actor: 'lms',
      details: { requestId: String(request._id), jwksUrl: full.jwksUrl, authUrl: full.authUrl, tokenUrl: full.tokenUrl, requestedFrom: params.requestedFrom },
    });
    log.warn(`re-registration of ${c.issuer} client ${clientId} stored for the administrator (from ${params.requestedFrom ?? 'unknown'}); the registration in use is unchanged`);
    return { kind: 'pending', request: request.toObject(), current };
  }

  let platform: RegisteredPlatform;
  try {
    platform = await deps.lti.registerPlatform(full, { active: deps.autoActivate });
  } catch (err) {
    await claims.deleteOne({ issuer: c.issuer, clientId });
    throw err;
  }
  if (deploymentId) await recordDeployment(deps, c.issuer, clientId, deploymentId);
  await registrationEventModel(deps.conn).create({
    action: 'registered',
    issuer: c.issuer,
    clientId,
    at: now,
    actor: 'lms',
    details: { jwksUrl: full.jwksUrl, authUrl: full.authUrl, tokenUrl: full.tokenUrl, deploymentId, requestedFrom: params.requestedFrom },
  });
  return { kind: 'registered', platform, deploymentId, productFamily: family };
}

async function recordDeployment(deps: Pick<RegistrationDeps, 'conn' | 'now'>, issuer: string, clientId: string, deploymentId: string): Promise<void> {
  await deploymentModel(deps.conn).updateOne(
    { issuer, clientId, deploymentId },
    { $setOnInsert: { source: 'dynamic-registration', status: 'accepted', firstSeenAt: deps.now() } },
    { upsert: true },
  );
}

/** The waiting re-registrations, oldest first. */
export async function listRegistrationRequests(conn: Connection): Promise<RegistrationRequestDoc[]> {
  return registrationRequestModel(conn).find().sort({ requestedAt: 1 }).lean<RegistrationRequestDoc[]>();
}

async function takeRequest(conn: Connection, id: string): Promise<RegistrationRequestDoc> {
  const request = Types.ObjectId.isValid(id) ? await registrationRequestModel(conn).findOneAndDelete({ _id: new Types.ObjectId(id) }).lean<RegistrationRequestDoc>() : null;
  if (!request) throw new NotFoundError('This re-registration request no longer exists (already accepted or rejected).', undefined, { key: 'registration.error.requestGone' });
  return request;
}

/**
 * The administrator accepts a re-registration: it replaces the registration in use (keyset,
 * login and token URLs, name), keeping its activation state and the tool's key pair.
 */
export async function acceptRegistrationRequest(deps: Pick<RegistrationDeps, 'conn' | 'lti' | 'now'>, id: string): Promise<RegisteredPlatform> {
  const request = await takeRequest(deps.conn, id);
  const current = await deps.lti.findPlatform(request.issuer, request.clientId);
  const platform = await deps.lti.registerPlatform(
    {
      issuer: request.issuer,
      clientId: request.clientId,
      name: request.name,
      authUrl: request.authUrl,
      tokenUrl: request.tokenUrl,
      authorizationServer: request.authorizationServer,
      jwksUrl: request.jwksUrl,
    },
    { active: current?.active ?? false },
  );
  if (request.deploymentId) await recordDeployment(deps, request.issuer, request.clientId, request.deploymentId);
  await registrationEventModel(deps.conn).create({
    action: 'reregistration_accepted',
    issuer: request.issuer,
    clientId: request.clientId,
    at: deps.now(),
    actor: 'admin',
    details: {
      requestId: id,
      before: current ? { name: current.name, authUrl: current.authUrl, tokenUrl: current.tokenUrl, jwksUrl: current.jwksUrl ?? null } : null,
      after: { name: request.name, authUrl: request.authUrl, tokenUrl: request.tokenUrl, jwksUrl: request.jwksUrl },
    },
  });
  log.warn(`administrator accepted the re-registration of ${request.issuer} client ${request.clientId}: keyset ${request.jwksUrl}`);
  return platform;
}

/** The administrator rejects a re-registration: it is deleted; the registration in use stays. */
export async function rejectRegistrationRequest(deps: Pick<RegistrationDeps, 'conn' | 'now'>, id: string): Promise<void> {
  const request = await takeRequest(deps.conn, id);
  await registrationEventModel(deps.conn).create({
    action: 'reregistration_rejected',
    issuer: request.issuer,
    clientId: request.clientId,
    at: deps.now(),
    actor: 'admin',
    details: { requestId: id, jwksUrl: request.jwksUrl, authUrl: request.authUrl, tokenUrl: request.tokenUrl, requestedFrom: request.requestedFrom },
  });
  log.info(`administrator rejected a re-registration of ${request.issuer} client ${request.clientId}`);
}

/**
 * LTI Dynamic Registration, the Moodle way: the openid-configuration document, a one-time
 * registration token, `POST /register` (which validates the tool's registration and answers with
 * its client id and deployment id), and the admin page that opens the tool's registration URL in
 * an iframe and waits for its `org.imsglobal.lti.close` message.
 */
import { createPrivateKey, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { ClientRegistry } from './clients';
import type { SandboxContext, SandboxUrls } from './context';
import { esc, renderPage } from './html';
import { ALL_SERVICE_SCOPES, CLAIM, MESSAGE_TYPE } from './lti-vocabulary';
import type { PlatformKey } from './platform-keys';

const REGISTRATION_TOKEN_LIFETIME_SECONDS = 3600;

/** Claims Moodle advertises (and, through a bug, always echoes back; platforms.md §1). */
const CLAIMS_SUPPORTED = ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce', 'name', 'given_name', 'family_name', 'email', 'locale'];

/** One-time registration tokens: JWTs signed by the platform whose `sub` is the future client id. */
export class RegistrationTokens {
  private readonly issued = new Map<string, { clientId: string; used: boolean }>();
  private readonly signingKey: KeyObject;

  constructor(
    private readonly key: PlatformKey,
    private readonly urls: SandboxUrls,
    private readonly clients: ClientRegistry,
    private readonly now: () => Date,
  ) {
    this.signingKey = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
  }

  /** Signs synchronously (node:crypto) so `startDynamicRegistration()` can stay synchronous. */
  issue(): { token: string; clientId: string } {
    const clientId = this.clients.newDynamicClientId();
    const jti = randomUUID();
    const iat = Math.floor(this.now().getTime() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode({ alg: 'RS256', kid: this.key.kid, typ: 'JWT' })}.${encode({ iss: this.urls.issuer, aud: this.urls.issuer, sub: clientId, scope: 'reg', iat, exp: iat + REGISTRATION_TOKEN_LIFETIME_SECONDS, jti })}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.signingKey).toString('base64url');
    this.issued.set(jti, { clientId, used: false });
    return { token: `${signingInput}.${signature}`, clientId };
  }

  /** Whether a token was issued here and is not spent yet (Canvas checks it before showing its openid configuration). */
  async isLive(token: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [this.key.publicJwk] }), { issuer: this.urls.issuer, audience: this.urls.issuer, currentDate: this.now() });
      const entry = this.issued.get(String(payload.jti));
      return entry !== undefined && !entry.used;
    } catch {
      return false;
    }
  }

  /** Verifies and spends a token; returns the client id it was issued for, or why it is refused. */
  async redeem(token: string): Promise<{ clientId: string } | { error: string }> {
    let jti: string;
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [this.key.publicJwk] }), {
        issuer: this.urls.issuer,
        audience: this.urls.issuer,
        currentDate: this.now(),
        requiredClaims: ['exp', 'jti', 'sub'],
      });
      jti = String(payload.jti);
    } catch (err) {
      return { error: `The registration token is invalid: ${(err as Error).message}` };
    }
    const entry = this.issued.get(jti);
    if (!entry) return { error: 'The registration token was not issued by this platform.' };
    if (entry.used) return { error: 'The registration token was already used; start the registration again.' };
    entry.used = true;
    return { clientId: entry.clientId };
  }
}

function isUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

interface ValidRegistration {
  body: Record<string, unknown>;
  toolConfig: Record<string, unknown>;
  redirectUris: string[];
  messages: { type: string; target_link_uri?: string }[];
  scopes: string[];
}

/** Validates the IMS tool registration JSON like Moodle's registration_helper does. */
function validateRegistration(raw: unknown): ValidRegistration | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'The body must be a JSON object.';
  const body = raw as Record<string, unknown>;
  const has = (name: string, value: string) => Array.isArray(body[name]) && (body[name] as unknown[]).includes(value);
  if (body.application_type !== 'web') return 'application_type must be "web".';
  if (!has('grant_types', 'client_credentials') || !has('grant_types', 'implicit')) return 'grant_types must include "client_credentials" and "implicit".';
  if (!has('response_types', 'id_token')) return 'response_types must include "id_token".';
  if (body.token_endpoint_auth_method !== 'private_key_jwt') return 'token_endpoint_auth_method must be "private_key_jwt".';
  if (!isUrl(body.initiate_login_uri)) return 'initiate_login_uri must be an absolute http(s) URL.';
  if (!Array.isArray(body.redirect_uris) || body.redirect_uris.length === 0 || !body.redirect_uris.every(isUrl)) return 'redirect_uris must be a non-empty list of absolute URLs.';
  if (!isUrl(body.jwks_uri)) return 'jwks_uri must be an absolute http(s) URL.';
  if (body.scope !== undefined && typeof body.scope !== 'string') return 'scope must be a space-separated string.';
  const toolConfig = body[CLAIM.toolConfiguration];
  if (!toolConfig || typeof toolConfig !== 'object') return `${CLAIM.toolConfiguration} is required.`;
  const tc = toolConfig as Record<string, unknown>;
  if (!isUrl(tc.target_link_uri)) return `${CLAIM.toolConfiguration}.target_link_uri must be an absolute URL.`;
  if (tc.claims !== undefined && (!Array.isArray(tc.claims) || !tc.claims.every((c) => typeof c === 'string'))) return `${CLAIM.toolConfiguration}.claims must be a list of strings.`;
  const messages = tc.messages ?? [];
  if (!Array.isArray(messages)) return `${CLAIM.toolConfiguration}.messages must be a list.`;
  for (const message of messages as unknown[]) {
    const m = message as Record<string, unknown>;
    if (!m || typeof m.type !== 'string') return `Each message of ${CLAIM.toolConfiguration}.messages needs a type.`;
    if (m.type !== MESSAGE_TYPE.resourceLink && m.type !== MESSAGE_TYPE.deepLinkingRequest) return `Message type ${m.type} is not supported by this platform.`;
    if (m.target_link_uri !== undefined && !isUrl(m.target_link_uri)) return `target_link_uri of message ${m.type} must be an absolute URL.`;
  }
  const scopes = String(body.scope ?? '').split(/\s+/).filter((s) => ALL_SERVICE_SCOPES.includes(s));
  return { body, toolConfig: tc, redirectUris: body.redirect_uris as string[], messages: messages as ValidRegistration['messages'], scopes };
}

/** The platform's OpenID configuration, shaped like Moodle's `openid-configuration.php`. */
export function openidConfiguration(urls: SandboxUrls): Record<string, unknown> {
  return {
    issuer: urls.issuer,
    token_endpoint: urls.token,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    jwks_uri: urls.jwks,
    authorization_endpoint: urls.auth,
    registration_endpoint: urls.register,
    scopes_supported: ['openid', ...ALL_SERVICE_SCOPES],
    response_types_supported: ['id_token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: CLAIMS_SUPPORTED,
    [CLAIM.platformConfiguration]: {
      product_family_code: 'moodle',
      version: '4.5.6',
      messages_supported: [{ type: MESSAGE_TYPE.resourceLink }, { type: MESSAGE_TYPE.deepLinkingRequest }],
      variables: ['basic-lti-launch-request', 'ContentItemSelectionRequest', 'ToolProxyRegistrationRequest', 'Context.id', 'Context.title', 'Context.label', 'Person.name.full', 'Person.email.primary'],
    },
  };
}

/** A JSON string safe to place inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function registrationRoutes(ctx: SandboxContext, tokens: RegistrationTokens): express.Router {
  const router = express.Router();

  router.get('/.well-known/openid-configuration', (_req, res) => {
    res.json(openidConfiguration(ctx.urls));
  });

  router.post('/register', express.json({ type: () => true, limit: '256kb' }), async (req: Request, res: Response) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) return res.status(401).json({ error: 'invalid_token', error_description: 'An Authorization: Bearer registration token is required.' });
    const registration = validateRegistration(req.body);
    // Validate before spending the token, so a tool can fix its request and retry.
    if (typeof registration === 'string') return res.status(400).json({ error: 'invalid_client_metadata', error_description: registration });
    const redeemed = await tokens.redeem(match[1]);
    if ('error' in redeemed) return res.status(401).json({ error: 'invalid_token', error_description: redeemed.error });

    const { body, toolConfig, redirectUris, messages, scopes } = registration;
    const deepLinking = messages.find((m) => m.type === MESSAGE_TYPE.deepLinkingRequest);
    const client = ctx.clients.add({
      clientId: redeemed.clientId,
      name: typeof body.client_name === 'string' ? body.client_name : 'Dynamically registered tool',
      loginUrl: body.initiate_login_uri as string,
      targetLinkUri: toolConfig.target_link_uri as string,
      deepLinkingUrl: deepLinking ? (deepLinking.target_link_uri ?? (toolConfig.target_link_uri as string)) : undefined,
      redirectUris,
      jwksUrl: body.jwks_uri as string,
      scopes,
      dynamic: true,
      customParameters: stringEntries(toolConfig.custom_parameters),
    });
    res.status(200).json({
      client_id: client.clientId,
      response_types: ['id_token'],
      jwks_uri: client.jwksUrl,
      initiate_login_uri: client.loginUrl,
      grant_types: ['client_credentials', 'implicit'],
      redirect_uris: client.redirectUris,
      application_type: 'web',
      token_endpoint_auth_method: 'private_key_jwt',
      client_name: client.name,
      ...(typeof body.logo_uri === 'string' ? { logo_uri: body.logo_uri } : {}),
      scope: client.scopes.join(' '),
      [CLAIM.toolConfiguration]: {
        version: '1.3.0',
        deployment_id: client.deploymentId,
        target_link_uri: client.targetLinkUri,
        domain: toolConfig.domain,
        description: toolConfig.description,
        // Moodle's config_to_registration() assigns instead of comparing, so it always lists these.
        claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'],
        messages,
        custom_parameters: toolConfig.custom_parameters ?? {},
      },
    });
  });

  router.get('/register-tool', (req, res) => {
    // Each visit gets a fresh one-time token, as Moodle's tool configuration page does.
    const started = tokens.issue();
    // `?as=canvas`: Canvas's "+ LTI Registration" (its openid configuration URL carries the token).
    const asCanvas = req.query.as === 'canvas';
    const configUrl = asCanvas ? `${ctx.baseUrl}/api/lti/security/openid-configuration?registration_token=${encodeURIComponent(started.token)}` : ctx.urls.openidConfiguration;
    const rows = ctx.clients
      .list()
      .map((c) => `<tr><td>${esc(c.name)}</td><td><code>${esc(c.clientId)}</code></td><td><code>${esc(c.deploymentId)}</code></td><td>${c.dynamic ? 'dynamic' : 'static'}</td><td>${esc(c.scopes.length)} scopes</td></tr>`)
      .join('');
    const body = `
<h1>Register a tool (LTI Advantage dynamic registration${asCanvas ? ', as Canvas' : ''})</h1>
<p class="muted">${asCanvas ? `Canvas mode: Admin › Developer Keys › + LTI Registration. <a href="${esc(ctx.baseUrl)}/register-tool">Register as Moodle instead</a>` : `Moodle mode. <a href="${esc(ctx.baseUrl)}/register-tool?as=canvas">Register as Canvas instead</a> (placements, privacy level, no deployment id until installed).`}</p>
<div class="card"><p>Like Moodle's “Configure a tool” button: the tool's registration page opens below with an
<code>openid_configuration</code> URL and a one-time <code>registration_token</code>. When the tool has registered,
it asks to be closed with <code>postMessage({subject: 'org.imsglobal.lti.close'})</code>.</p>
<form id="registration-form" class="inline"><label>Tool registration URL
<input id="tool-url" name="toolUrl" size="60" value="${esc(ctx.dynamicRegistrationUrl ?? '')}"></label>
<button class="primary" type="submit" id="start-registration">Register the tool</button></form>
<p id="registration-status" class="muted"></p></div>
<iframe id="registration-frame" name="registration-frame" title="Tool registration" hidden style="width:100%;height:60vh;border:1px solid #d9e2ec;background:#fff"></iframe>
<h2>Registered tools</h2><table><thead><tr><th>Name</th><th>Client id</th><th>Deployment id</th><th>How</th><th>Services</th></tr></thead><tbody id="clients">${rows}</tbody></table>
<script>
(function () {
  var config = ${scriptJson(configUrl)};
  var token = ${scriptJson(started.token)};
  var frame = document.getElementById('registration-frame');
  var status = document.getElementById('registration-status');
  document.getElementById('registration-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var toolUrl = document.getElementById('tool-url').value;
    if (!token) { status.textContent = 'Reload this page to get a registration token.'; return; }
    frame.src = toolUrl + (toolUrl.indexOf('?') >= 0 ? '&' : '?') + 'openid_configuration=' + encodeURIComponent(config) + '&registration_token=' + encodeURIComponent(token);
    frame.hidden = false;
    token = null;
    status.textContent = 'Registering…';
  });
  window.addEventListener('message', function (event) {
    if (event.data && event.data.subject === 'org.imsglobal.lti.close') {
      frame.hidden = true;
      frame.removeAttribute('src');
      status.textContent = 'The tool has registered. Reloading…';
      setTimeout(function () { location.reload(); }, 300);
    }
  });
})();
</script>`;
    res.type('html').send(renderPage('Register a tool', body, { homeUrl: `${ctx.baseUrl}/` }));
  });

  return router;
}

/** The string-valued entries of a registration's custom_parameters (anything else is ignored, as Moodle's form would). */
function stringEntries(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

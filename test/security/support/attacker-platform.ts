/**
 * An LTI 1.3 platform of the test's own, for attacker tests: its own RSA keys, its own HTTP
 * server on 127.0.0.1 (JWKS, openid-configuration, registration endpoint, OIDC authorization
 * endpoint, token endpoint, AGS/NRPS-looking service URLs), and id_tokens signed with jose.
 * Nothing here is the sandbox LMS: the tool has never seen these keys unless a test registers them.
 *
 * Every request the platform receives is recorded in `requests`, so a test can assert that the
 * tool fetched nothing (e.g. an SSRF URL refused before any request).
 *
 *   const p = await startAttackerPlatform();                  // issuer = its origin
 *   await p.registerWith(t.app.lti, { clientId: 'evil' });    // optional: make the tool trust it
 *   const page = await p.launch(t, { clientId: 'evil', claims: { ... } });
 *   await p.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { HttpBrowser, type Page } from '../../support/browser';

export const LTI = {
  messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
  version: 'https://purl.imsglobal.org/spec/lti/claim/version',
  deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
  targetLinkUri: 'https://purl.imsglobal.org/spec/lti/claim/target_link_uri',
  resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
  roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
  context: 'https://purl.imsglobal.org/spec/lti/claim/context',
  toolPlatform: 'https://purl.imsglobal.org/spec/lti/claim/tool_platform',
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings',
  instructor: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor',
  learner: 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
} as const;

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** What the tool (or anyone) asked the attacker platform. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface LaunchSpec {
  clientId: string;
  deploymentId?: string;
  /** Claims merged over the defaults (a teacher launch in context `ctx-1`). */
  claims?: Record<string, unknown>;
  /** Last word on the payload (delete or break claims here); nonce and aud are already set. */
  mutate?: (payload: JWTPayload & Record<string, unknown>) => void;
  /** Key name to sign with (see addKey); default 'main'. */
  key?: string;
  /** Protected header overrides (alg, kid, typ). */
  header?: Record<string, unknown>;
  /** The `iss` login parameter (default: the platform's issuer). */
  loginIssuer?: string;
}

export interface AttackerPlatform {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The issuer it claims in openid-configuration and id_tokens (its origin unless told otherwise). */
  issuer: string;
  authUrl: string;
  tokenUrl: string;
  openidConfigurationUrl: string;
  registrationEndpoint: string;
  requests: RecordedRequest[];
  /** The JWKS URL publishing one named key (default 'main'). */
  jwksUrl(name?: string): string;
  /** A new key pair published at jwksUrl(name). */
  addKey(name: string): Promise<SigningKey>;
  key(name?: string): SigningKey;
  /** Replace fields of the published openid-configuration (e.g. `{ issuer: 'https://victim' }`). */
  setOpenIdConfiguration(overrides: Record<string, unknown>): void;
  /** What the registration endpoint answers (client_id, deployment_id). */
  setRegistrationAnswer(answer: { clientId: string; deploymentId?: string; status?: number }): void;
  /** A tool registration URL the way an LMS opens it: `<tool>/lti/register?openid_configuration=…`. */
  registrationStartUrl(toolRegisterUrl: string, token?: string): string;
  /** Sign an arbitrary id_token with one of its keys. */
  signIdToken(payload: JWTPayload & Record<string, unknown>, opts?: { key?: string; header?: Record<string, unknown> }): Promise<string>;
  /** The default claims of a launch (teacher in context ctx-1), before `claims`/`mutate`. */
  defaultClaims(spec: LaunchSpec, nonce: string, targetLinkUri?: string): JWTPayload & Record<string, unknown>;
  /**
   * A whole OIDC launch through the tool, as a browser does: GET the tool's login URL, follow to
   * this platform's auth endpoint, which auto-posts the signed id_token to the tool's redirect_uri.
   */
  launch(tool: { loginUrl: string; launchUrl: string }, spec: LaunchSpec, browser?: HttpBrowser): Promise<Page>;
  /** Reset recorded requests. */
  clearRequests(): void;
  /** An URL on this platform that answers `[]` as JSON (for AGS/NRPS-looking claims); `/redirect?to=<url>` answers 302 to it. */
  serviceUrl(path: string): string;
  close(): Promise<void>;
}

async function newKey(name: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `attacker-${name}-${randomBytes(4).toString('hex')}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export async function startAttackerPlatform(opts: { issuer?: string } = {}): Promise<AttackerPlatform> {
  const keys = new Map<string, SigningKey>([['main', await newKey('main')]]);
  const pending = new Map<string, LaunchSpec & { targetLinkUri: string }>();
  const requests: RecordedRequest[] = [];
  let configOverrides: Record<string, unknown> = {};
  let registrationAnswer: { clientId: string; deploymentId?: string; status?: number } = { clientId: 'attacker-client', deploymentId: 'attacker-deployment' };

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const p: AttackerPlatform = {
    origin,
    issuer: opts.issuer ?? origin,
    authUrl: `${origin}/auth`,
    tokenUrl: `${origin}/token`,
    openidConfigurationUrl: `${origin}/.well-known/openid-configuration`,
    registrationEndpoint: `${origin}/register`,
    requests,
    jwksUrl: (name = 'main') => `${origin}/jwks/${name}`,
    async addKey(name) {
      const k = await newKey(name);
      keys.set(name, k);
      return k;
    },
    key(name = 'main') {
      const k = keys.get(name);
      if (!k) throw new Error(`no key named ${name}`);
      return k;
    },
    setOpenIdConfiguration(overrides) {
      configOverrides = { ...configOverrides, ...overrides };
    },
    setRegistrationAnswer(answer) {
      registrationAnswer = answer;
    },
    registrationStartUrl(toolRegisterUrl, token = 'attacker-token') {
      const u = new URL(toolRegisterUrl);
      u.searchParams.set('openid_configuration', p.openidConfigurationUrl);
      u.searchParams.set('registration_token', token);
      return u.toString();
    },
    async signIdToken(payload, o = {}) {
      const k = p.key(o.key);
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT', ...o.header } as { alg: string }).sign(k.privateKey);
    },
    defaultClaims(spec, nonce, targetLinkUri = '') {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: p.issuer,
        aud: spec.clientId,
        azp: spec.clientId,
        sub: 'attacker-teacher',
        name: 'Mallory Teacher',
        iat: now,
        exp: now + 300,
        nonce,
        [LTI.messageType]: 'LtiResourceLinkRequest',
        [LTI.version]: '1.3.0',
        [LTI.deploymentId]: spec.deploymentId ?? 'attacker-deployment',
        [LTI.targetLinkUri]: targetLinkUri,
        [LTI.resourceLink]: { id: 'attacker-link' },
        [LTI.roles]: [LTI.instructor],
        [LTI.context]: { id: 'ctx-1', title: 'Attacker course', label: 'ATK' },
        [LTI.toolPlatform]: { product_family_code: 'attacker', name: 'Attacker LMS' },
        ...spec.claims,
      };
    },
    async launch(tool, spec, browser = new HttpBrowser()) {
      const hint = randomBytes(8).toString('hex');
      pending.set(hint, { ...spec, targetLinkUri: tool.launchUrl });
      const login = new URL(tool.loginUrl);
      login.searchParams.set('iss', spec.loginIssuer ?? p.issuer);
      login.searchParams.set('login_hint', hint);
      login.searchParams.set('target_link_uri', tool.launchUrl);
      login.searchParams.set('client_id', spec.clientId);
      login.searchParams.set('lti_deployment_id', spec.deploymentId ?? 'attacker-deployment');
      login.searchParams.set('lti_message_hint', hint);
      return browser.open(login.toString());
    },
    clearRequests() {
      requests.length = 0;
    },
    serviceUrl: (path) => `${origin}${path.startsWith('/') ? path : `/${path}`}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', origin);
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body });
      void handle(url, body, res).catch((err: Error) => json(res, 500, { error: err.message }));
    });
  });

  async function handle(url: URL, body: string, res: ServerResponse): Promise<void> {
    const path = url.pathname;
    if (path.startsWith('/jwks/')) {
      const k = keys.get(path.slice('/jwks/'.length));
      return k ? json(res, 200, { keys: [k.publicJwk] }) : json(res, 404, { error: 'no such keyset' });
    }
    if (path === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: p.issuer,
        authorization_endpoint: p.authUrl,
        token_endpoint: p.tokenUrl,
        jwks_uri: p.jwksUrl(),
        registration_endpoint: p.registrationEndpoint,
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        scopes_supported: ['openid'],
        claims_supported: ['iss', 'sub', 'name'],
        'https://purl.imsglobal.org/spec/lti-platform-configuration': { product_family_code: 'attacker', version: '1.0' },
        ...configOverrides,
      });
    }
    if (path === '/register') {
      const a = registrationAnswer;
      if (a.status && a.status >= 400) return json(res, a.status, { error: 'refused' });
      return json(res, 200, {
        client_id: a.clientId,
        ...(a.deploymentId ? { 'https://purl.imsglobal.org/spec/lti-tool-configuration': { deployment_id: a.deploymentId } } : {}),
      });
    }
    if (path === '/auth') {
      // The OIDC authorization endpoint: answer with an auto-posting form, like a real platform.
      const q = url.searchParams.size ? url.searchParams : new URLSearchParams(body);
      const spec = pending.get(q.get('login_hint') ?? '');
      if (!spec) return json(res, 400, { error: 'unknown login_hint' });
      const payload = p.defaultClaims(spec, q.get('nonce') ?? '', spec.targetLinkUri);
      spec.mutate?.(payload);
      const idToken = await p.signIdToken(payload, { key: spec.key, header: spec.header });
      const action = q.get('redirect_uri') ?? '';
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<!doctype html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(action)}">` +
          `<input type="hidden" name="id_token" value="${escapeHtml(idToken)}">` +
          `<input type="hidden" name="state" value="${escapeHtml(q.get('state') ?? '')}">` +
          `</form></body></html>`,
      );
      return;
    }
    if (path === '/redirect') {
      // A platform that bounces the tool elsewhere: `/redirect?to=<url>`.
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
      return;
    }
    if (path === '/token') return json(res, 200, { access_token: 'attacker-token', token_type: 'Bearer', expires_in: 3600, scope: new URLSearchParams(body).get('scope') ?? '' });
    // Anything else (AGS/NRPS-looking URLs): an empty answer, recorded above.
    return json(res, 200, []);
  }

  return p;
}

/** Registers an attacker platform with the tool as an active registration (as an administrator would). */
export async function registerAttackerPlatform(
  lti: { registerPlatform(reg: { issuer: string; clientId: string; name: string; authUrl: string; tokenUrl: string; jwksUrl?: string }, o: { active: boolean }): Promise<unknown> },
  p: AttackerPlatform,
  o: { clientId: string; key?: string; active?: boolean; name?: string },
): Promise<void> {
  await lti.registerPlatform(
    { issuer: p.issuer, clientId: o.clientId, name: o.name ?? 'Attacker LMS', authUrl: p.authUrl, tokenUrl: p.tokenUrl, jwksUrl: p.jwksUrl(o.key) },
    { active: o.active ?? true },
  );
}

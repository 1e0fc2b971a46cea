/**
 * Test harness for the sandbox LMS: the sandbox mounted at /sandbox on 127.0.0.1 (port 0), and a
 * fake tool that owns an RSA key pair, serves its keyset, and signs client assertions and deep
 * linking responses like a real tool would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createSandbox, readAutoPostForm, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox';

export const SCOPES = {
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineItemReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  resultReadonly: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
};
export const ALL_SCOPES = Object.values(SCOPES).join(' ');

async function listen(handler: express.Express): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A tool key pair; `rotate()` swaps in a new key (new kid) in the served keyset. */
export class FakeToolKey {
  kid = '';
  privateKey!: CryptoKey;
  publicJwk!: JWK;
  keysetRequests = 0;

  static async create(): Promise<FakeToolKey> {
    const key = new FakeToolKey();
    await key.rotate();
    return key;
  }

  async rotate(): Promise<void> {
    const pair = await generateKeyPair('RS256', { extractable: true });
    this.kid = `tool-key-${randomUUID()}`;
    this.privateKey = pair.privateKey;
    this.publicJwk = { ...(await exportJWK(pair.publicKey)), kid: this.kid, alg: 'RS256', use: 'sig' };
  }

  sign(payload: JWTPayload): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' }).sign(this.privateKey);
  }
}

export interface Harness {
  sandbox: Sandbox;
  base: string;
  tool: { origin: string; key: FakeToolKey; loginUrl: string; launchUrl: string; keysetUrl: string; dynamicRegistrationUrl: string };
  /** A client assertion for `clientId` (default: the static client), overridable claim by claim. */
  assertion(overrides?: JWTPayload & { clientId?: string }, key?: FakeToolKey): Promise<string>;
  /** POSTs to /token; returns the HTTP response. */
  requestToken(scope: string, assertion?: string): Promise<Response>;
  /** A bearer access token with the given scopes. */
  token(scope?: string): Promise<string>;
  /** GET with a bearer token. */
  api(url: string, token: string, headers?: Record<string, string>): Promise<Response>;
  /** Plays the tool's side of a launch (login → /auth) and returns the decoded id_token claims. */
  launchClaims(launchUrl: string): Promise<Record<string, unknown>>;
  /** Follows /launch to the tool's login URL and returns its query parameters. */
  loginInitiation(launchUrl: string): Promise<URLSearchParams>;
  close(): Promise<void>;
}

/** Starts a fake tool and a sandbox pointing at it. */
export async function startHarness(options: Partial<Pick<SandboxOptions, 'now' | 'seedDemo'>> = {}): Promise<Harness> {
  const key = await FakeToolKey.create();
  const toolApp = express();
  toolApp.get('/keys', (_req, res) => {
    key.keysetRequests++;
    res.json({ keys: [key.publicJwk] });
  });
  const toolServer = await listen(toolApp);
  const tool = {
    origin: toolServer.origin,
    key,
    loginUrl: `${toolServer.origin}/login`,
    launchUrl: `${toolServer.origin}/launch`,
    keysetUrl: `${toolServer.origin}/keys`,
    dynamicRegistrationUrl: `${toolServer.origin}/register`,
  };

  let sandbox: Sandbox | undefined;
  const platformApp = express();
  platformApp.use('/sandbox', (req, res, next) => sandbox!.router(req, res, next));
  const platformServer = await listen(platformApp);
  const base = `${platformServer.origin}/sandbox`;
  sandbox = await createSandbox({ baseUrl: base, tool: { name: 'Fake tool', ...tool }, ...options });
  const sb = sandbox;

  const harness: Harness = {
    sandbox: sb,
    base,
    tool,
    assertion: (overrides = {}, signer = key) => {
      const { clientId = sb.registration.clientId, ...claims } = overrides;
      const now = Math.floor((options.now ?? (() => new Date()))().getTime() / 1000);
      return signer.sign({ iss: clientId, sub: clientId, aud: sb.registration.tokenUrl, iat: now, exp: now + 300, jti: randomUUID(), ...claims });
    },
    requestToken: async (scope, assertion) =>
      fetch(sb.registration.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion ?? (await harness.assertion()),
          scope,
        }),
      }),
    token: async (scope = ALL_SCOPES) => {
      const res = await harness.requestToken(scope);
      if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    api: (url, token, headers = {}) => fetch(url, { headers: { Authorization: `Bearer ${token}`, ...headers } }),
    loginInitiation: async (launchUrl) => {
      const res = await fetch(launchUrl, { redirect: 'manual' });
      if (res.status !== 302) throw new Error(`/launch answered ${res.status}: ${await res.text()}`);
      return new URL(res.headers.get('location')!).searchParams;
    },
    launchClaims: async (launchUrl) => {
      const login = await harness.loginInitiation(launchUrl);
      const auth = new URL(sb.registration.authUrl);
      auth.search = new URLSearchParams({
        scope: 'openid',
        response_type: 'id_token',
        response_mode: 'form_post',
        prompt: 'none',
        client_id: login.get('client_id')!,
        redirect_uri: login.get('target_link_uri')!,
        login_hint: login.get('login_hint')!,
        lti_message_hint: login.get('lti_message_hint')!,
        state: 'state-1',
        nonce: 'nonce-1',
      }).toString();
      const res = await fetch(auth);
      const html = await res.text();
      if (res.status !== 200) throw new Error(`/auth answered ${res.status}: ${html}`);
      return decodeJwt(readAutoPostForm(html).fields.id_token) as Record<string, unknown>;
    },
    close: async () => {
      await close(platformServer.server);
      await close(toolServer.server);
    },
  };
  return harness;
}

/**
 * The sandbox LMS served on 127.0.0.1:0, with a TokenProvider that gets real access tokens from
 * its `/token` endpoint: a client assertion (RS256 JWT) signed with a test key whose keyset the
 * sandbox fetches through an injected fetch. Shared by the end-to-end sync tests and the benchmark.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { TokenRefusedError } from '../../../src/http/platform-errors';
import type { TokenProvider } from '../../../src/lti/advantage';
import { createSandbox, type Sandbox } from '../../../src/sandbox/sandbox';

export interface SandboxLms {
  sandbox: Sandbox;
  baseUrl: string;
  getToken: TokenProvider & { calls: number };
  /** AGS and NRPS endpoints of a sandbox course, as a launch would give them. */
  servicesOf(courseId: string): { lineItemsUrl: string; membershipsUrl: string; agsScopes: string[] };
  close(): Promise<void>;
}

const TOOL_KEYSET_URL = 'http://tool.invalid/keys';

export async function startSandboxLms(opts: { now?: () => Date } = {}): Promise<SandboxLms> {
  const now = opts.now ?? (() => new Date());
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = 'grades-test-key';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  const keysetFetch = (async (input: string | URL | Request) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
    if (url !== TOOL_KEYSET_URL) throw new Error(`unexpected fetch of ${url}`);
    return new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;

  const app = express();
  let router: express.Router | undefined;
  app.use('/sandbox', (req, res, next) => (router ? router(req, res, next) : next()));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox`;
  const sandbox = await createSandbox({
    baseUrl,
    tool: { name: 'Grades test tool', loginUrl: 'http://tool.invalid/login', launchUrl: 'http://tool.invalid/launch', keysetUrl: TOOL_KEYSET_URL },
    seedDemo: false,
    fetch: keysetFetch,
    now: opts.now,
  });
  router = sandbox.router;

  const { clientId, tokenUrl } = sandbox.registration;
  const getToken = (async (scopes: string[]) => {
    getToken.calls++;
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      // The sandbox checks iat/exp by its own (possibly advanced) clock.
      .setIssuedAt(Math.floor(now().getTime() / 1000))
      .setExpirationTime(Math.floor(now().getTime() / 1000) + 300)
      .setJti(randomUUID())
      .sign(privateKey);
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: scopes.join(' '),
      }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
    if (!res.ok || !body.access_token) {
      throw new TokenRefusedError(`The platform refused a token: ${body.error_description ?? body.error ?? res.status}`, body.error);
    }
    return body.access_token;
  }) as TokenProvider & { calls: number };
  getToken.calls = 0;

  return {
    sandbox,
    baseUrl,
    getToken,
    servicesOf: (courseId) => ({
      lineItemsUrl: `${baseUrl}/api/courses/${courseId}/lineitems`,
      membershipsUrl: `${baseUrl}/api/courses/${courseId}/memberships`,
      agsScopes: [],
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The ONLY file that imports ltijs. ltijs keeps the platform registrations and the tool's key pair
 * per platform, serves the keyset, obtains service access tokens and signs deep-linking replies.
 * The login and the launch are the tool's own (launch-flow.ts, id-token.ts): ltijs checked less
 * than the specifications ask and stored each launch's personal data (idtokens, contexttokens)
 * before our checks ran, so it never sees a launch now.
 *
 * After a verified launch we create our own session (src/lti/session.service.ts) whose token
 * travels in the URL, because LMS iframes are third-party contexts where browsers increasingly
 * drop cookies. ltijs is a process-wide singleton: it can be set up once per process.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { Provider as lti } from 'ltijs';
import mongoose from 'mongoose';
import type { Request, RequestHandler, Response } from 'express';
import type { Connection } from 'mongoose';
import type { Config } from '../config';
import { TokenRefusedError } from '../http/platform-errors';
import { checkPlatformUrl, policyForRegistration } from './advantage/url-guard';
import { launchFailureFrom, type LaunchFailure } from './launch-errors';
import { createLaunchFlow, type FlowPlatform, type LaunchFlowDeps } from './launch-flow';
import { platformRemoved } from './service-guard';
import { createTokenCache } from './token-cache';

/** Where ltijs's routes live inside the app. */
export const LTI_BASE = '/lti';
export const LTI_ROUTES = { login: '/login', launch: '/launch', keyset: '/keys', dynamicRegistration: '/register' } as const;

export interface PlatformRegistration {
  issuer: string;
  clientId: string;
  name: string;
  authUrl: string;
  tokenUrl: string;
  /** Audience of client assertions when the platform wants one other than the token URL. */
  authorizationServer?: string;
  /** The platform's keyset URL, or its PEM public key (Chamilo shows one) — one of the two. */
  jwksUrl?: string;
  publicKeyPem?: string;
}

export interface RegisteredPlatform extends PlatformRegistration {
  active: boolean;
  /** Key id of the tool's key pair for this platform, as published in the tool's keyset. */
  kid: string;
  /** The tool's public key for this platform, as PEM (Chamilo accepts only a pasted PEM key). */
  toolPublicKeyPem: string;
}

export interface DeepLinkingReply {
  issuer: string;
  clientId: string;
  deploymentId: string;
  settings: { deep_link_return_url: string; accept_types: string[]; accept_multiple?: boolean | string; data?: string };
  items: Array<Record<string, unknown>>;
  message?: string;
}

export interface LtiProvider {
  /** Mount at LTI_BASE. */
  handler: RequestHandler;
  registerPlatform(reg: PlatformRegistration, opts: { active: boolean }): Promise<RegisteredPlatform>;
  listPlatforms(): Promise<RegisteredPlatform[]>;
  findPlatform(issuer: string, clientId: string): Promise<RegisteredPlatform | null>;
  setPlatformActive(issuer: string, clientId: string, active: boolean): Promise<void>;
  /**
   * The registration's hosts for the services' SSRF guard (service-guard.ts), read at most once a
   * minute per process: a page's AGS calls then cost no registration read.
   */
  serviceRegistration(issuer: string, clientId: string): Promise<RegisteredPlatform | null>;
  /**
   * A Bearer token for the platform's services with these scopes, cached in this process per
   * issuer, client id and scopes until shortly before it expires (token-cache.ts). Asked for one
   * AGS read scope, it asks the platform for both (one token for line items and results).
   */
  accessToken(issuer: string, clientId: string, scopes: string[], opts?: { refresh?: boolean }): Promise<{ token: string; scopes: string[] }>;
  /** Forgets every cached service token (tests; an administrator's key change). */
  forgetTokens(): void;
  /** The signed LtiDeepLinkingResponse JWT returning the chosen items to the platform, and where to post it. */
  deepLinkingResponse(reply: DeepLinkingReply): Promise<{ action: string; jwt: string }>;
  close(): Promise<void>;
}

export interface LtiProviderOptions {
  config: Pick<Config, 'ltiKey' | 'secureCookies' | 'publicUrl'>;
  dbUri: string;
  /** Our connection, for the pending logins. */
  conn: Connection;
  now: () => Date;
  /**
   * Called with the verified id_token claims of a successful launch or deep-linking request, and
   * the client id of the registration that verified it.
   */
  onLaunch: LaunchFlowDeps['onLaunch'];
  /** Called when a login or launch is refused; renders the refusal page. */
  onFailure(failure: LaunchFailure, req: Request, res: Response): void;
  /** Renders one of the tool's pages (the platform-storage steps of a login and a launch). */
  renderPage: LaunchFlowDeps['renderPage'];
  /** Logins per client IP and window. */
  loginRateLimit?: LaunchFlowDeps['loginRateLimit'];
}

/**
 * Reads a platform's keyset: 5 s at most, 1 MB at most, only on the registration's own hosts and
 * never a link-local/metadata address (url-guard.ts), redirect targets included.
 */
async function fetchJson(url: string, registration: { issuer: string; authUrl: string; tokenUrl: string; jwksUrl?: string }): Promise<unknown> {
  const policy = policyForRegistration(registration, "the platform's keyset URL");
  let res: globalThis.Response;
  // Redirects are followed here, each target checked first (at most 3).
  for (let hop = 0, current = url; ; hop++) {
    await checkPlatformUrl(current, policy);
    res = await fetch(current, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' }, redirect: 'manual' });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) break;
    if (hop >= 3) throw new Error('the keyset URL redirects more than 3 times');
    current = new URL(location, current).toString();
  }
  if (!res.ok) throw new Error(`HTTP ${res.status} from the keyset URL`);
  const text = await res.text();
  if (text.length > 1024 * 1024) throw new Error('the keyset is larger than 1 MB');
  return JSON.parse(text);
}

let setUp = false;

async function describePlatform(p: Awaited<ReturnType<typeof lti.getPlatform>>): Promise<RegisteredPlatform | null> {
  if (!p) return null;
  const auth = await p.platformAuthConfig();
  return {
    issuer: await p.platformUrl(),
    clientId: await p.platformClientId(),
    name: await p.platformName(),
    authUrl: await p.platformAuthEndpoint(),
    tokenUrl: await p.platformAccessTokenEndpoint(),
    jwksUrl: auth.method === 'JWK_SET' ? auth.key : undefined,
    publicKeyPem: auth.method === 'RSA_KEY' ? auth.key : undefined,
    active: await p.platformActive(),
    kid: await p.platformKid(),
    toolPublicKeyPem: await p.platformPublicKey(),
  };
}

interface LtijsPlatformDoc {
  platformUrl: string;
  clientId: string;
  authEndpoint: string;
  accesstokenEndpoint: string;
  kid: string;
  authConfig?: { method?: string; key?: string };
  status: Array<{ active?: boolean }>;
}

/**
 * What the login needs of a registration, in one command: ltijs's platform documents with their
 * status joined (ltijs reads them one after the other: Platform.platformActive). Read-only; the
 * documents are ltijs's own (Utils/Database.js: `platforms`, `platformstatuses`, neither encrypted),
 * and a registration without a status document is active, as ltijs says.
 */
async function flowPlatforms(issuer: string, clientId?: string): Promise<FlowPlatform[]> {
  const docs = await mongoose.connection
    .collection('platforms')
    .aggregate<LtijsPlatformDoc>([
      { $match: clientId ? { platformUrl: issuer, clientId } : { platformUrl: issuer } },
      { $lookup: { from: 'platformstatuses', localField: 'kid', foreignField: 'id', as: 'status' } },
    ])
    .toArray();
  return docs.map((d) => ({
    issuer: d.platformUrl,
    clientId: d.clientId,
    authUrl: d.authEndpoint,
    tokenUrl: d.accesstokenEndpoint,
    jwksUrl: d.authConfig?.method === 'JWK_SET' ? d.authConfig.key : undefined,
    publicKeyPem: d.authConfig?.method === 'RSA_KEY' ? d.authConfig.key : undefined,
    active: d.status.length === 0 || d.status[0]!.active === true,
  }));
}

/** Sets up ltijs inside our app. Call once per process. */
export async function createLtiProvider(opts: LtiProviderOptions): Promise<LtiProvider> {
  if (setUp) throw new Error('ltijs can be set up only once per process');
  setUp = true;
  lti.setup(
    opts.config.ltiKey,
    { url: opts.dbUri, connection: { serverSelectionTimeoutMS: 5000 } },
    {
      appRoute: LTI_ROUTES.launch,
      loginRoute: LTI_ROUTES.login,
      keysetRoute: LTI_ROUTES.keyset,
      dynRegRoute: LTI_ROUTES.dynamicRegistration,
      ltiaas: true,
      devMode: false,
      // ltijs sets no cookie any more (the login is ours, launch-flow.ts); keep its defaults strict.
      cookies: opts.config.secureCookies ? { secure: true, sameSite: 'None' } : { secure: false, sameSite: 'Lax' },
      cors: false,
    },
  );
  lti.onInvalidToken((req: Request, res: Response) => opts.onFailure(launchFailureFrom(res.locals.err), req, res));
  lti.onSessionTimeout((req: Request, res: Response) => opts.onFailure(launchFailureFrom(res.locals.err), req, res));
  lti.onUnregisteredPlatform((req: Request, res: Response) =>
    opts.onFailure(launchFailureFrom({ details: { message: 'UNREGISTERED_PLATFORM' } }), req, res),
  );
  lti.onInactivePlatform((req: Request, res: Response) =>
    opts.onFailure(launchFailureFrom({ details: { message: 'PLATFORM_NOT_ACTIVATED' } }), req, res),
  );
  // ltijs installs a SIGINT handler that calls process.exit(); main.ts owns shutdown, so drop it.
  const before = new Set(process.listeners('SIGINT'));
  await lti.deploy({ serverless: true, silent: true });
  for (const l of process.listeners('SIGINT')) if (!before.has(l)) process.removeListener('SIGINT', l);
  // Service tokens are cached in this process (token-cache.ts), never in ltijs's accesstokens.
  // Launches no longer go through ltijs: the names, emails, roles and custom claims that older
  // versions let it keep (idtokens, contexttokens, 24 h) are read by nothing; erase them now.
  await Promise.all(['idtokens', 'contexttokens', 'accesstokens'].map((name) => mongoose.connection.collection(name).deleteMany({})));

  const find = async (issuer: string, clientId: string) => describePlatform(await lti.getPlatform(issuer, clientId));
  const registrations = new Map<string, { at: number; platform: Promise<RegisteredPlatform | null> }>();
  const tokens = createTokenCache({ now: () => opts.now().getTime(), fetchToken: (issuer, clientId, scopes) => requestToken(issuer, clientId, scopes) });

  /** The client-credentials grant (IMS Security Framework §4.1), as ltijs's Auth.getAccessToken did, without storing the token. */
  async function requestToken(issuer: string, clientId: string, scopes: string[]): Promise<{ token: string; scopes: string[]; expiresInSeconds?: number }> {
    const p = await lti.getPlatform(issuer, clientId);
    if (!p) throw platformRemoved(issuer, clientId);
    const scope = scopes.join(' ');
    let status: number | undefined;
    let body = '';
    try {
      const [aud, kid, key, url] = await Promise.all([p.platformAuthorizationServer(), p.platformKid(), p.platformPrivateKey(), p.platformAccessTokenEndpoint()]);
      const assertion = await new SignJWT({ jti: randomBytes(18).toString('base64url') })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(createPrivateKey(key));
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
          scope,
        }),
        // the token URL was checked by the service guard; a redirect elsewhere is not followed
        redirect: 'manual',
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const t = JSON.parse(body) as { access_token?: unknown; scope?: unknown; expires_in?: unknown };
      if (typeof t.access_token !== 'string' || !t.access_token) throw new Error('the answer has no access_token');
      return {
        token: t.access_token,
        scopes: (typeof t.scope === 'string' && t.scope.trim() ? t.scope : scope).split(/\s+/).filter(Boolean),
        expiresInSeconds: typeof t.expires_in === 'number' ? t.expires_in : Number(t.expires_in) || undefined,
      };
    } catch (err) {
      let oauthError: string | undefined;
      try {
        oauthError = (JSON.parse(body) as { error?: string }).error;
      } catch {
        // not JSON: keep the raw text in the message
      }
      throw new TokenRefusedError(
        `The platform refused an access token for ${scopes.join(', ')}` +
          (status !== undefined && status >= 300 ? ` (HTTP ${status}: ${body.slice(0, 200)})` : `: ${(err as Error).message}`),
        // The AGS/NRPS client turns invalid_scope into "ask the administrator to enable <service>".
        oauthError,
        {
          key: 'grades.syncError.tokenRefused',
          params: { scopes: scopes.join(', '), detail: status !== undefined && status >= 300 ? `HTTP ${status}: ${body.slice(0, 200)}` : (err as Error).message },
        },
      );
    }
  }

  const flow = createLaunchFlow({
    conn: opts.conn,
    now: opts.now,
    toolOrigin: new URL(opts.config.publicUrl).origin,
    launchUrl: `${opts.config.publicUrl}${LTI_BASE}${LTI_ROUTES.launch}`,
    secureCookies: opts.config.secureCookies,
    platformsOf: (issuer, clientId) => flowPlatforms(issuer, clientId),
    fetchJson,
    renderPage: opts.renderPage,
    onFailure: opts.onFailure,
    onLaunch: opts.onLaunch,
    loginRateLimit: opts.loginRateLimit,
  });

  const handler: RequestHandler = (req, res, next) => {
    // Express 5 computes req.query with a getter on its request prototype; ltijs's Express 4 app
    // swaps that prototype, after which req.query would vanish. Pin it as an own property.
    Object.defineProperty(req, 'query', { value: { ...req.query }, writable: true, configurable: true, enumerable: true });
    if (req.path === LTI_ROUTES.login) return flow.login(req, res, next);
    if (req.path === LTI_ROUTES.launch) return flow.launch(req, res, next);
    lti.app(req, res, next);
  };

  return {
    handler,
    async registerPlatform(reg, { active }) {
      const key = reg.jwksUrl ?? reg.publicKeyPem;
      if (!key) throw new Error(`platform ${reg.issuer}: needs a keyset URL or a public key`);
      const platform = await lti.registerPlatform({
        url: reg.issuer,
        name: reg.name,
        clientId: reg.clientId,
        authenticationEndpoint: reg.authUrl,
        accesstokenEndpoint: reg.tokenUrl,
        authorizationServer: reg.authorizationServer,
        authConfig: reg.jwksUrl ? { method: 'JWK_SET', key: reg.jwksUrl } : { method: 'RSA_KEY', key: reg.publicKeyPem! },
      });
      await platform.platformActive(active);
      return (await describePlatform(platform))!;
    },
    async listPlatforms() {
      const all = await lti.getAllPlatforms();
      return (await Promise.all(all.map(describePlatform))).filter((p): p is RegisteredPlatform => p !== null);
    },
    findPlatform: find,
    async setPlatformActive(issuer, clientId, active) {
      const p = await lti.getPlatform(issuer, clientId);
      if (p) await p.platformActive(active);
    },
    async serviceRegistration(issuer, clientId) {
      const key = `${issuer}\n${clientId}`;
      const now = Date.now();
      const hit = registrations.get(key);
      if (hit && now - hit.at < 60_000) return hit.platform;
      const platform = find(issuer, clientId);
      registrations.set(key, { at: now, platform });
      platform.catch(() => registrations.delete(key));
      return platform;
    },
    async accessToken(issuer, clientId, scopes, o) {
      return tokens.get(issuer, clientId, scopes, o);
    },
    forgetTokens: () => tokens.clear(),
    async deepLinkingResponse(reply) {
      const idtoken = {
        iss: reply.issuer,
        clientId: reply.clientId,
        deploymentId: reply.deploymentId,
        platformContext: { deepLinkingSettings: reply.settings },
      };
      const jwt = await lti.DeepLinking.createDeepLinkingMessage(idtoken, reply.items, reply.message ? { message: reply.message } : undefined);
      return { action: reply.settings.deep_link_return_url, jwt };
    },
    async close() {
      await lti.close({ silent: true });
    },
  };
}

/**
 * The ONLY file that imports ltijs. ltijs does the OIDC login, validates the id_token (signature
 * against the platform's keyset — refetched on every launch, so a platform that rotates its keys
 * just works — plus iss/aud/azp/exp/iat/nonce/state), keeps the tool's key pair per platform,
 * serves the keyset, and obtains service access tokens. Everything else in the tool receives plain
 * claims or a typed `Launch`.
 *
 * ltijs runs in "ltiaas" mode inside our express app: after validating the id_token it calls our
 * launch handler in the same request instead of redirecting with an `ltik` and a session cookie.
 * We then create our own session (src/lti/session.service.ts) whose token travels in the URL,
 * because LMS iframes are third-party contexts where browsers increasingly drop cookies.
 * ltijs is a process-wide singleton: it can be set up once per process.
 */
import { Provider as lti } from 'ltijs';
import { decodeJwt } from 'jose';
import mongoose from 'mongoose';
import type { Request, RequestHandler, Response } from 'express';
import type { Connection } from 'mongoose';
import type { Config } from '../config';
import { PlatformError } from '../errors';
import { TokenRefusedError } from '../http/platform-errors';
import { launchFailureFrom, type LaunchFailure } from './launch-errors';
import { consumeLogin, rememberLogin } from './login-state';

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
  /** A Bearer token for the platform's services with these scopes (cached by ltijs until it expires). */
  accessToken(issuer: string, clientId: string, scopes: string[], opts?: { refresh?: boolean }): Promise<{ token: string; scopes: string[] }>;
  /** An auto-submitting HTML form that returns the chosen items to the platform. */
  deepLinkingForm(reply: DeepLinkingReply): Promise<string>;
  close(): Promise<void>;
}

export interface LtiProviderOptions {
  config: Pick<Config, 'ltiKey' | 'secureCookies'>;
  dbUri: string;
  /** Our connection, for the login state ↔ nonce binding. */
  conn: Connection;
  now: () => Date;
  /** Called with the verified id_token claims of a successful launch or deep-linking request. */
  onLaunch(claims: Record<string, unknown>, req: Request, res: Response): Promise<void>;
  /** Called when ltijs refuses a launch or a login; renders the refusal page. */
  onFailure(failure: LaunchFailure, req: Request, res: Response): void;
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
      // LMS iframes are cross-site: the state cookie set at login must come back with the
      // platform's form POST, which needs SameSite=None; Secure. Over plain http (local
      // development) browsers refuse SameSite=None without Secure, so we fall back to Lax, which
      // works when the LMS and the tool share a site (the sandbox) or in a new window.
      cookies: opts.config.secureCookies ? { secure: true, sameSite: 'None' } : { secure: false, sameSite: 'Lax' },
      cors: false,
    },
  );
  const launch = async (_token: unknown, req: Request, res: Response) => {
    // ltijs has verified this id_token; we read all its claims (ltijs's token object drops some, like nonce).
    const claims = decodeJwt(String(req.body?.id_token ?? '')) as Record<string, unknown>;
    const expectedNonce = await consumeLogin(opts.conn, String(req.body?.state ?? ''), opts.now());
    if (!expectedNonce || expectedNonce !== claims.nonce) {
      opts.onFailure(launchFailureFrom({ details: { message: expectedNonce ? 'NONCE_MISMATCH' : 'MISSING_VALIDATION_COOKIE' } }), req, res);
      return;
    }
    await opts.onLaunch(claims, req, res);
  };
  const wrap = (fn: typeof launch) => (token: unknown, req: Request, res: Response, next: (e?: unknown) => void) =>
    fn(token, req, res).catch(next);
  lti.onConnect(wrap(launch));
  lti.onDeepLinking(wrap(launch));
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

  const find = async (issuer: string, clientId: string) => describePlatform(await lti.getPlatform(issuer, clientId));

  // Record the nonce ltijs sends with each login redirect (see login-state.ts).
  const handler: RequestHandler = (req, res, next) => {
    // Express 5 computes req.query with a getter on its request prototype; ltijs's Express 4 app
    // swaps that prototype, after which req.query would vanish. Pin it as an own property.
    Object.defineProperty(req, 'query', { value: { ...req.query }, writable: true, configurable: true, enumerable: true });
    if (req.path === LTI_ROUTES.login) {
      const redirect = res.redirect.bind(res) as (url: string) => void;
      (res as { redirect: unknown }).redirect = (url: string) => {
        const query = new URL(url, 'http://x').searchParams;
        const state = query.get('state');
        const nonce = query.get('nonce');
        if (!state || !nonce) return redirect(url);
        rememberLogin(opts.conn, state, nonce, opts.now()).then(() => redirect(url), next);
      };
    }
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
    async accessToken(issuer, clientId, scopes, o) {
      const p = await lti.getPlatform(issuer, clientId);
      if (!p) throw new PlatformError(`The platform ${issuer} (client ${clientId}) is no longer registered with the tool.`);
      // A token the platform no longer accepts (401): drop ltijs's cached copy so a new one is fetched.
      if (o?.refresh) await mongoose.connection.collection('accesstokens').deleteMany({ platformUrl: issuer, clientId, scopes: scopes.join(' ') });
      try {
        const t = await p.platformAccessToken(scopes.join(' '));
        return { token: t.access_token, scopes: (t.scope ?? scopes.join(' ')).split(/\s+/).filter(Boolean) };
      } catch (err) {
        const response = (err as { response?: { body?: unknown; statusCode?: number } }).response;
        let oauthError: string | undefined;
        try {
          oauthError = (JSON.parse(String(response?.body)) as { error?: string }).error;
        } catch {
          // not JSON: keep the raw text in the message
        }
        throw new TokenRefusedError(
          `The platform refused an access token for ${scopes.join(', ')}` +
            (response ? ` (HTTP ${response.statusCode}: ${String(response.body).slice(0, 200)})` : `: ${(err as Error).message}`),
          // The AGS/NRPS client turns invalid_scope into "ask the administrator to enable <service>".
          oauthError,
        );
      }
    },
    async deepLinkingForm(reply) {
      const idtoken = {
        iss: reply.issuer,
        clientId: reply.clientId,
        deploymentId: reply.deploymentId,
        platformContext: { deepLinkingSettings: reply.settings },
      };
      return lti.DeepLinking.createDeepLinkingForm(idtoken, reply.items, reply.message ? { message: reply.message } : undefined);
    },
    async close() {
      await lti.close({ silent: true });
    },
  };
}

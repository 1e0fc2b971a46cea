/**
 * The sandbox LMS: a real LTI 1.3 platform (OIDC launch, RS256 id_tokens, OAuth2 client
 * credentials, AGS, NRPS, deep linking, dynamic registration) as an express Router. The tool's
 * app mounts it at `/sandbox` outside production; the end-to-end tests launch from it.
 *
 * URL layout (relative to `baseUrl`, which is also the issuer):
 *   GET  /                                   course list (HTML)
 *   GET  /courses/:id                        course page: people, gradebook, "launch as", tool iframe
 *   POST /courses/:id/quirks | /scores       switch platform mode, set a grade (forms)
 *   GET  /launch?course&user[&link&dl&client&fault]   starts a launch: 302 to the tool's login URL
 *   GET|POST /auth                           OIDC authorization endpoint → auto-POST of id_token
 *   POST /token                              OAuth2 client credentials (JWT client assertion)
 *   GET  /jwks                               platform keyset
 *   GET  /.well-known/openid-configuration   Moodle-like platform configuration
 *   POST /register                           dynamic registration (one-time Bearer token)
 *   GET  /register-tool                      admin page: registers a tool in an iframe
 *   POST /deeplink/return                    deep linking response (form field JWT)
 *   /api/courses/:id/lineitems[/:item[/results|/scores]]   AGS
 *   GET  /api/courses/:id/memberships        NRPS
 *   /login/oauth2/*, /api/v1/courses/:id/...  Canvas mode: OAuth2 and the REST API (canvas-rest.routes.ts)
 *   GET  /accounts/site/developer_keys        Canvas mode: the developer keys page (canvas-admin.routes.ts)
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { JWK } from 'jose';
import { AccessTokens } from './access-tokens';
import { agsRoutes } from './ags.routes';
import { ClientRegistry, type SandboxClient } from './clients';
import { buildUrls, type LaunchUrlOptions, type SandboxContext } from './context';
import { deepLinkingRoutes } from './deep-linking.routes';
import { seedDemoCourses, type DemoCast } from './demo-seed';
import { esc, renderErrorPage } from './html';
import { ALL_SERVICE_SCOPES } from './lti-vocabulary';
import { moodleWsRoutes } from './moodle-ws.routes';
import { chamiloSoapRoutes, type ChamiloSoapSite } from './chamilo-soap.routes';
import { canvasRestRoutes } from './canvas-rest.routes';
import { CanvasSite } from './canvas-site';
import { canvasAdminRoutes } from './canvas-admin.routes';
import { canvasOpenidConfigurationUrl, canvasRegistrationRoutes, type CanvasRegistration } from './canvas-registration.routes';
import type { MoodleWsSite } from './moodle-ws.site';
import { nrpsRoutes } from './nrps.routes';
import { buildLaunchUrl, oidcRoutes } from './oidc.routes';
import { pageRoutes } from './pages.routes';
import { createPlatformKey } from './platform-keys';
import { RegistrationTokens, registrationRoutes } from './registration.routes';
import { platformStorageRoutes } from './platform-storage';
import { SandboxStore, type RequestLogEntry } from './sandbox.store';
import { createServiceGuard } from './service-guard';
import { tokenRoutes } from './token.routes';
import { ToolKeysets } from './tool-keysets';

export { SandboxStore } from './sandbox.store';
export type {
  CreateCourseOptions,
  CreatedCourse,
  FaultRule,
  FaultStatus,
  MemberStatus,
  RequestLogEntry,
  SandboxCourse,
  SandboxLineItem,
  SandboxMember,
  SandboxMembership,
  SandboxResourceLink,
  SandboxResult,
  SandboxUser,
} from './sandbox.store';
export type { QuirkMode, RateLimit } from './quirks';
export type { LaunchFault, LaunchUrlOptions } from './context';
export type { SandboxClient } from './clients';
export type { DemoCast } from './demo-seed';
export { BILBO_SCORES, demoScore, INACTIVE_LEARNER_INDEX } from './demo-seed';
export { readAutoPostForm } from './html';

/** The client id of the statically registered tool. */
export const DEFAULT_CLIENT_ID = 'sandbox-client';
/** Its deployment id (Moodle: the tool type id). */
export const DEFAULT_DEPLOYMENT_ID = '1';

export interface SandboxOptions {
  /** Absolute URL where the router is mounted, e.g. http://localhost:3000/sandbox (issuer = baseUrl). */
  baseUrl: string;
  tool: { name: string; loginUrl: string; launchUrl: string; keysetUrl: string; dynamicRegistrationUrl?: string; deepLinkingUrl?: string; canvasRedirectUri?: string };
  /** Scopes of the Canvas API key made for the tool at start (enforced); absent = no key is made. */
  canvasApiScopes?: readonly string[];
  /** Injectable clock (iat/exp, token expiry, score timestamps). Throttling uses the real clock. */
  now?: () => Date;
  /** Default true: create the three demo courses. */
  seedDemo?: boolean;
  /** For fetching the tool's keyset (tests). */
  fetch?: typeof fetch;
  /** The platform's private key as JWK (`Sandbox.privateKeyJwk` of an earlier run); generated when absent. */
  privateKeyJwk?: JWK;
  /** Chamilo mode's `$_configuration['security_key']` (random when absent). */
  chamiloSecurityKey?: string;
}

export interface Sandbox {
  router: express.Router;
  issuer: string;
  store: SandboxStore;
  /** What the tool registers statically for the default client. */
  registration: { issuer: string; clientId: string; authUrl: string; tokenUrl: string; jwksUrl: string; deploymentIds: string[] };
  /**
   * URL that starts a launch as this user (what the "launch as" button opens): it redirects to the
   * tool's login URL with iss, login_hint, target_link_uri, lti_message_hint, client_id and (not in
   * Chamilo mode) lti_deployment_id.
   */
  launchUrl(courseId: string, userId: string, opts?: LaunchUrlOptions): string;
  /**
   * Issues a one-time registration token and returns the URL to open at the tool (its dynamic
   * registration URL, or `toolUrl`, with `openid_configuration` and `registration_token`).
   */
  startDynamicRegistration(toolUrl?: string, opts?: { as?: 'canvas' }): { url: string; token: string; clientId: string; openidConfigurationUrl: string };
  /** What Canvas mode kept of each dynamic registration made the Canvas way (placements, privacy level). */
  canvasRegistrations: Map<string, CanvasRegistration>;
  /** A registration (static or dynamic) by client id. */
  getClient(clientId: string): SandboxClient | undefined;
  /** Who is who in the demo courses (absent when `seedDemo` is false). */
  demo?: DemoCast;
  /** The platform's private key, to pass back as `privateKeyJwk` after a restart. */
  privateKeyJwk: JWK;
  /**
   * Replaces the platform key pair (new kid), the way Chamilo does on every save of its LTI
   * settings: launches are signed with the new key and the keyset lists only it.
   */
  rotatePlatformKey(): Promise<string>;
  /** Moodle's web-service settings and tokens (REST server at `/webservice/rest/server.php`). */
  moodleWs: MoodleWsSite;
  /** Chamilo mode's SOAP gradebook service (main/webservices/gradebook.php) and its security key. */
  chamiloSoap: ChamiloSoapSite;
  /** Canvas mode's developer keys, OAuth2 grants, assignment groups and throttle (REST API at /api/v1, OAuth2 at /login/oauth2). */
  canvas: CanvasSite;
  /** The API developer key made at start for the tool (redirect URI = the tool's Canvas callback, the tool's scopes enforced). */
  canvasApiKey?: { clientId: string; secret: string };
}

/** Creates the sandbox platform (key pair, store, demo courses, router). */
export async function createSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const now = opts.now ?? (() => new Date());
  const urls = buildUrls(baseUrl);
  const key = await createPlatformKey(opts.privateKeyJwk);
  const store = new SandboxStore(now);
  const demo = opts.seedDemo === false ? undefined : seedDemoCourses(store);
  const clients = new ClientRegistry();
  const defaultClient = clients.add({
    clientId: DEFAULT_CLIENT_ID,
    deploymentId: DEFAULT_DEPLOYMENT_ID,
    name: opts.tool.name,
    loginUrl: opts.tool.loginUrl,
    targetLinkUri: opts.tool.launchUrl,
    deepLinkingUrl: opts.tool.deepLinkingUrl,
    redirectUris: [...new Set([opts.tool.launchUrl, ...(opts.tool.deepLinkingUrl ? [opts.tool.deepLinkingUrl] : [])])],
    jwksUrl: opts.tool.keysetUrl,
    scopes: [...ALL_SERVICE_SCOPES],
    dynamic: false,
  });

  let registrationTokens: RegistrationTokens | undefined;
  const startDynamicRegistration = (toolUrl?: string, startOpts: { as?: 'canvas' } = {}) => {
    const target = toolUrl ?? opts.tool.dynamicRegistrationUrl;
    if (!target) throw new Error('The tool has no dynamicRegistrationUrl; pass the URL to startDynamicRegistration(url).');
    const { token, clientId } = registrationTokens!.issue();
    const separator = target.includes('?') ? '&' : '?';
    // Canvas puts the registration token into the openid configuration URL too (canvas-registration.routes.ts).
    const configUrl = startOpts.as === 'canvas' ? canvasOpenidConfigurationUrl(baseUrl, token) : urls.openidConfiguration;
    const url = `${target}${separator}openid_configuration=${encodeURIComponent(configUrl)}&registration_token=${encodeURIComponent(token)}`;
    return { url, token, clientId, openidConfigurationUrl: configUrl };
  };
  const canvasRegistrations = new Map<string, CanvasRegistration>();

  const ctx: SandboxContext = {
    baseUrl,
    urls,
    store,
    now,
    key,
    clients,
    defaultClient,
    tokens: new AccessTokens(now),
    keysets: new ToolKeysets(opts.fetch ?? globalThis.fetch),
    dynamicRegistrationUrl: opts.tool.dynamicRegistrationUrl,
    startDynamicRegistration,
    launchUrl: (courseId, userId, launchOpts) => buildLaunchUrl(ctx, courseId, userId, launchOpts),
  };
  registrationTokens = new RegistrationTokens(key, urls, clients, now);

  const canvas = new CanvasSite(now);
  const canvasApiKey = opts.tool.canvasRedirectUri && opts.canvasApiScopes
    ? canvas.addApiKey({ name: `${opts.tool.name} (grades)`, redirectUris: [opts.tool.canvasRedirectUri], scopes: [...opts.canvasApiScopes] })
    : undefined;

  const router = express.Router();
  router.use(recordAndFault(store, now));
  router.use(canvasRestRoutes(ctx, canvas));
  router.use(canvasAdminRoutes(ctx, canvas));
  router.get('/jwks', (_req, res) => {
    res.json({ keys: [ctx.key.publicJwk] });
  });
  const guard = createServiceGuard(ctx);
  router.use(oidcRoutes(ctx));
  router.use(tokenRoutes(ctx));
  router.use(agsRoutes(ctx, guard));
  router.use(nrpsRoutes(ctx, guard));
  const moodleWs = moodleWsRoutes(ctx);
  router.use(moodleWs.router);
  const chamiloSoap = chamiloSoapRoutes(ctx, { securityKey: opts.chamiloSecurityKey });
  router.use(chamiloSoap.router);
  router.use(registrationRoutes(ctx, registrationTokens));
  router.use(canvasRegistrationRoutes(ctx, registrationTokens, clients, canvasRegistrations));
  router.use(deepLinkingRoutes(ctx));
  router.use(platformStorageRoutes());
  router.use(pageRoutes(ctx));
  router.use((req: Request, res: Response) => {
    if (req.path.startsWith('/api/')) return void res.status(404).json({ error: 'not_found', error_description: `No sandbox endpoint ${req.method} ${req.path}.` });
    res.status(404).type('html').send(renderErrorPage('Not found', 'not_found', `The sandbox LMS has no page ${req.path}.`, `${baseUrl}/`));
  });
  // Errors stay inside the sandbox: the tool's own error handler must never see the platform's faults.
  router.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const message = err instanceof Error ? err.message : String(err);
    if (res.headersSent) return;
    if (req.path.startsWith('/api/') || req.path === '/token' || req.path === '/register') return void res.status(status).json({ error: status < 500 ? 'invalid_request' : 'server_error', error_description: message });
    res.status(status).type('html').send(renderErrorPage('Sandbox error', status < 500 ? 'invalid_request' : 'server_error', message, `${baseUrl}/`));
  });

  return {
    router,
    issuer: urls.issuer,
    store,
    registration: {
      issuer: urls.issuer,
      clientId: defaultClient.clientId,
      authUrl: urls.auth,
      tokenUrl: urls.token,
      jwksUrl: urls.jwks,
      deploymentIds: [defaultClient.deploymentId],
    },
    launchUrl: ctx.launchUrl,
    startDynamicRegistration,
    getClient: (clientId) => clients.get(clientId),
    demo,
    privateKeyJwk: key.privateJwk,
    moodleWs: moodleWs.site,
    chamiloSoap: chamiloSoap.site,
    canvas,
    canvasRegistrations,
    canvasApiKey: canvasApiKey ? { clientId: canvasApiKey.clientId, secret: canvasApiKey.secret } : undefined,
    async rotatePlatformKey() {
      ctx.key = await createPlatformKey();
      return ctx.key.kid;
    },
  };
}

/** How long an injected 'timeout' fault holds a request before answering 504. */
const HANG_MS = 120_000;

/** Logs every request in `store.requestLog` and plays the faults tests injected. */
function recordAndFault(store: SandboxStore, now: () => Date) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const courseMatch = /^\/api\/courses\/([^/]+)/.exec(req.path);
    const courseId = courseMatch ? decodeURIComponent(courseMatch[1]) : undefined;
    const entry: RequestLogEntry = { method: req.method, path: req.path, query: { ...(req.query as Record<string, unknown>) }, status: 0, courseId, at: now().toISOString() };
    let logged = false;
    const log = (status: number) => {
      if (logged) return;
      logged = true;
      entry.status = status;
      store.logRequest(entry);
    };
    res.on('finish', () => log(res.statusCode));
    res.on('close', () => log(res.writableFinished ? res.statusCode : 0));

    const fault = store.takeFault(courseId, req.url);
    if (fault === undefined) return next();
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === 'timeout') {
      const timer = setTimeout(() => {
        if (!res.headersSent) res.status(504).type('html').send('<h1>504 Gateway Timeout</h1>');
      }, HANG_MS);
      timer.unref();
      res.on('close', () => clearTimeout(timer));
      return;
    }
    const reason = fault === 500 ? 'Internal Server Error' : fault === 502 ? 'Bad Gateway' : 'Service Unavailable';
    res.status(fault).type('html').send(`<html><body><h1>${fault} ${esc(reason)}</h1></body></html>`);
  };
}

/**
 * The OIDC third-party login and the launch POST (IMS Security Framework 1.0 §5.1), handled by the
 * tool itself rather than by ltijs, so that nothing of a launch is stored before every check has
 * passed, refusals are pages a person can act on, and the launch survives browsers that drop
 * third-party cookies.
 *
 * `GET|POST /lti/login`: rate limited per client IP; the platform must be registered and active;
 * target_link_uri must be on the tool's own origin (it becomes the redirect back to us). We record
 * the login (login-state.ts), set a state cookie, and send the browser to the platform.
 *
 * `POST /lti/launch`: the login must be ours, unused and unexpired, and come back in the same
 * browser — proven by the state cookie or, when the LMS offers it (`lti_storage_target`, IMS
 * "LTI OIDC Login with LTI Client Side postMessages" and "postMessage Platform Storage"), by the
 * state the login page stored in the LMS's platform storage. Then the id_token is verified
 * (id-token.ts) against the registration the login was for.
 *
 * Cookies: over https the state cookie is `__Host-…; SameSite=None; Secure; Partitioned` — sent
 * back inside an LMS iframe on another site, kept in that site's partition (CHIPS) where
 * third-party cookies are otherwise blocked, and impossible to plant from a sibling subdomain.
 * Over http browsers refuse SameSite=None, so it is `SameSite=Lax`: fine when the LMS is on the
 * same site (the sandbox), never sent with an LMS's cross-site form POST (see cookieMissing()).
 */
import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Connection } from 'mongoose';
import { cookieMissing, LAUNCH_FAILURES, type LaunchFailure } from './launch-errors';
import { keyResolverFor, MAX_ID_TOKEN_BYTES, verifyIdToken } from './id-token';
import { consumeLogin, peekLogin, rememberLogin, type LoginState } from './login-state';
import { sharedRateLimitStore } from '../db/rate-limit-store';
import { createTranslator, pickLanguage } from '../i18n';

/** The platform-storage steps speak the browser's language: the launch (and its locale) is not read yet. */
function storagePageText(req: Request): { title: string; lang?: string } {
  const lang = req.get('accept-language');
  return { title: createTranslator(pickLanguage(lang))('app.storage.title'), ...(lang ? { lang } : {}) };
}

/** The registration facts the flow needs (from ltijs's platform store). */
export interface FlowPlatform {
  issuer: string;
  clientId: string;
  authUrl: string;
  tokenUrl: string;
  jwksUrl?: string;
  publicKeyPem?: string;
  active: boolean;
}

export interface LaunchFlowDeps {
  conn: Connection;
  now: () => Date;
  /** The tool's PUBLIC_URL origin. */
  toolOrigin: string;
  /** Where platforms post id_tokens (the redirect_uri the tool registers). */
  launchUrl: string;
  secureCookies: boolean;
  /** The issuer's registrations; only the one of `clientId` when it is given (one read fewer per other client). */
  platformsOf(issuer: string, clientId?: string): Promise<FlowPlatform[]>;
  /** Reads a platform keyset (JSON); the registration is given for the SSRF guard (its own hosts only). */
  fetchJson(url: string, registration: FlowPlatform): Promise<unknown>;
  /** Renders a page of the tool (views.render). */
  renderPage(page: string, data: Record<string, unknown>): string;
  onFailure(failure: LaunchFailure, req: Request, res: Response): void;
  onLaunch(claims: Record<string, unknown>, verified: { clientId: string }, req: Request, res: Response): Promise<void>;
  /** Logins per client IP and window (default 300 a minute: a class behind one NAT starting together). */
  loginRateLimit?: { windowMs: number; limit: number };
}

const STATE_COOKIE = (secure: boolean, state: string) => `${secure ? '__Host-' : ''}lti_state_${state}`;
const STORAGE_TARGET = /^(_parent|[A-Za-z0-9_.-]{1,64})$/;
/** The longest login or launch body read; a larger one is refused as "id_token too large". */
const LAUNCH_BODY_LIMIT = 256 * 1024;

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

function onOrigin(value: string, origin: string): URL | null {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin ? url : null;
  } catch {
    return null;
  }
}

function httpUrlOf(value: string): URL | null {
  try {
    return onOrigin(value, new URL(value).origin);
  } catch {
    return null;
  }
}

function hostOf(url: string | undefined): string[] {
  if (!url) return [];
  try {
    return [new URL(url).hostname];
  } catch {
    return [];
  }
}

/** Parses a login or launch body; a body over the limit is answered with the token-size refusal. */
function bodyParser(deps: LaunchFlowDeps): (req: Request, res: Response, next: NextFunction, then: () => void) => void {
  const parse = express.urlencoded({ extended: false, limit: LAUNCH_BODY_LIMIT, parameterLimit: 50 });
  return (req, res, next, then) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return then();
      if ((err as { type?: string }).type === 'entity.too.large') {
        const bytes = Number(req.headers['content-length']) || LAUNCH_BODY_LIMIT + 1;
        return deps.onFailure(LAUNCH_FAILURES.tokenTooLarge(bytes, MAX_ID_TOKEN_BYTES), req, res);
      }
      next(err);
    });
  };
}

export function createLaunchFlow(deps: LaunchFlowDeps): { login: RequestHandler; launch: RequestHandler } {
  const limit = deps.loginRateLimit ?? { windowMs: 60_000, limit: 300 };
  const limiter = rateLimit({
    windowMs: limit.windowMs,
    limit: limit.limit,
    // counted in MongoDB: every instance behind the load balancer sees the same hits
    store: sharedRateLimitStore(deps.conn, 'lti-login'),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, res) => deps.onFailure(LAUNCH_FAILURES.loginRateLimited(Math.ceil(limit.windowMs / 1000)), req, res),
  });
  const cookieOptions = (maxAgeMs?: number) =>
    deps.secureCookies
      ? { httpOnly: true, secure: true, sameSite: 'none' as const, partitioned: true, path: '/', maxAge: maxAgeMs }
      : { httpOnly: true, secure: false, sameSite: 'lax' as const, path: '/', maxAge: maxAgeMs };

  async function login(req: Request, res: Response): Promise<void> {
    const params = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    const p = (name: string) => first(params[name])?.slice(0, 4096);
    const missing = ['iss', 'login_hint', 'target_link_uri'].filter((n) => !p(n));
    if (missing.length) return deps.onFailure(LAUNCH_FAILURES.missingLoginParameters(missing), req, res);
    const target = onOrigin(p('target_link_uri')!, deps.toolOrigin);
    if (!target) return deps.onFailure(LAUNCH_FAILURES.badLoginTarget(deps.toolOrigin), req, res);

    const clientId = p('client_id');
    const all = await deps.platformsOf(p('iss')!, clientId);
    const candidates = clientId ? all.filter((x) => x.clientId === clientId) : all;
    if (candidates.length === 0) return deps.onFailure(LAUNCH_FAILURES.unknownPlatform(), req, res);
    if (candidates.length > 1) return deps.onFailure(LAUNCH_FAILURES.ambiguousClient(), req, res);
    const platform = candidates[0]!;
    if (!platform.active) return deps.onFailure(LAUNCH_FAILURES.inactivePlatform(), req, res);
    const authUrl = httpUrlOf(platform.authUrl);
    if (!authUrl) return deps.onFailure(LAUNCH_FAILURES.keysetUnavailable('the registered login URL is not an http(s) URL'), req, res);

    const storageTarget = p('lti_storage_target');
    const usesStorage = storageTarget !== undefined && STORAGE_TARGET.test(storageTarget);
    const login = await rememberLogin(
      deps.conn,
      {
        state: randomBytes(24).toString('base64url'),
        nonce: randomBytes(24).toString('base64url'),
        issuer: platform.issuer,
        clientId: platform.clientId,
        targetLinkUri: target.toString(),
        platform: {
          authUrl: platform.authUrl,
          tokenUrl: platform.tokenUrl,
          ...(platform.jwksUrl ? { jwksUrl: platform.jwksUrl } : {}),
          ...(platform.publicKeyPem ? { publicKeyPem: platform.publicKeyPem } : {}),
        },
        ...(usesStorage ? { storageTarget, storageOrigin: authUrl.origin } : {}),
      },
      deps.now(),
    );
    const query = new URLSearchParams({
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: platform.clientId,
      redirect_uri: deps.launchUrl,
      login_hint: p('login_hint')!,
      state: login.state,
      nonce: login.nonce,
    });
    for (const name of ['lti_message_hint', 'lti_deployment_id']) {
      const v = p(name);
      if (v) query.set(name, v);
    }
    for (const [k, v] of query) authUrl.searchParams.set(k, v);
    res.cookie(STATE_COOKIE(deps.secureCookies, login.state), '1', cookieOptions(login.expiresAt.getTime() - deps.now().getTime()));
    res.setHeader('Cache-Control', 'no-store');
    if (!usesStorage) return void res.redirect(302, authUrl.toString());
    // Platform storage: store the state in the LMS's frame, then go on to the LMS (login-storage page).
    res
      .type('html')
      // form-action also governs the redirects after the submit: Canvas's sso.canvaslms.com sends
      // the browser on to the school's own domain, so any https site (or this exact origin).
      .setHeader('Content-Security-Policy', `default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; base-uri 'none'; form-action ${authUrl.origin} https:`)
      .send(
        deps.renderPage('lti-storage', {
          ...storagePageText(req),
          mode: 'put',
          target: login.storageTarget,
          origin: login.storageOrigin,
          state: login.state,
          nonce: login.nonce,
          action: authUrl.origin + authUrl.pathname,
          fields: Object.fromEntries(authUrl.searchParams),
        }),
      );
  }

  function hasStateCookie(req: Request, state: string): boolean {
    const name = `${STATE_COOKIE(deps.secureCookies, state)}=`;
    return (req.headers.cookie ?? '').split(';').some((c) => c.trim().startsWith(name));
  }

  /** How this launch proves it comes back to the browser that logged in; a failure, a page already sent, or ok. */
  function binding(req: Request, res: Response, login: LoginState): 'ok' | 'sent' | LaunchFailure {
    if (hasStateCookie(req, login.state)) return 'ok';
    const body = req.body as Record<string, unknown>;
    if (login.storageTarget) {
      const fromStorage = first(body.lti_storage_state);
      if (fromStorage !== undefined) {
        // Only our own storage page may post this (a cross-site form could claim any value).
        const origin = req.headers.origin;
        if (origin !== deps.toolOrigin || fromStorage !== login.state) return LAUNCH_FAILURES.storageMismatch();
        return 'ok';
      }
      if (first(body.lti_storage_failed) === undefined) {
        res
          .type('html')
          .setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'")
          .setHeader('Cache-Control', 'no-store')
          .send(
            deps.renderPage('lti-storage', {
              ...storagePageText(req),
              mode: 'get',
              target: login.storageTarget,
              origin: login.storageOrigin,
              state: login.state,
              nonce: login.nonce,
              action: req.baseUrl + req.path,
              idToken: first(body.id_token),
              // What the browser said of the LMS's POST, for advice if storage fails too.
              fetchSite: first(req.headers['sec-fetch-site']),
              fetchDest: first(req.headers['sec-fetch-dest']),
            }),
          );
        return 'sent';
      }
    }
    // After a failed storage step the request is our own page's: judge by the LMS's POST.
    const retried = first(body.lti_storage_failed) !== undefined;
    return cookieMissing({
      secureCookies: deps.secureCookies,
      fetchSite: first(retried ? body.lti_fetch_site : req.headers['sec-fetch-site']),
      fetchDest: first(retried ? body.lti_fetch_dest : req.headers['sec-fetch-dest']),
      storageOffered: Boolean(login.storageTarget),
    });
  }

  async function launch(req: Request, res: Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const idToken = first(body.id_token);
    const state = first(body.state) ?? '';
    if (!idToken) {
      // An OIDC error answer (e.g. login_required) instead of a token: say what the LMS said.
      const error = first(body.error);
      if (error) {
        await consumeLogin(deps.conn, state, deps.now());
        return deps.onFailure(LAUNCH_FAILURES.platformError(error, first(body.error_description)), req, res);
      }
      return deps.onFailure(LAUNCH_FAILURES.noIdToken(), req, res);
    }
    if (Buffer.byteLength(idToken) > MAX_ID_TOKEN_BYTES) {
      await consumeLogin(deps.conn, state, deps.now());
      return deps.onFailure(LAUNCH_FAILURES.tokenTooLarge(Buffer.byteLength(idToken), MAX_ID_TOKEN_BYTES), req, res);
    }
    let login: LoginState | null;
    if (/^[A-Za-z0-9_-]{1,128}$/.test(state) && hasStateCookie(req, state)) {
      // The browser that logged in (its state cookie): one step, the login is used up at once.
      login = await consumeLogin(deps.conn, state, deps.now());
      res.clearCookie(STATE_COOKIE(deps.secureCookies, state), cookieOptions());
      if (!login) return deps.onFailure(LAUNCH_FAILURES.unknownState(), req, res);
    } else {
      const pending = await peekLogin(deps.conn, state, deps.now());
      if (!pending) return deps.onFailure(LAUNCH_FAILURES.unknownState(), req, res);
      const bound = binding(req, res, pending);
      if (bound === 'sent') return;
      // From here the login is used up, whatever the outcome: a refused launch cannot be retried.
      login = await consumeLogin(deps.conn, state, deps.now());
      res.clearCookie(STATE_COOKIE(deps.secureCookies, pending.state), cookieOptions());
      if (bound !== 'ok') return deps.onFailure(bound, req, res);
      if (!login) return deps.onFailure(LAUNCH_FAILURES.unknownState(), req, res);
    }

    // The registration as the login read it (login-state.ts); a login recorded before logins kept it reads it now.
    const platform: FlowPlatform | undefined = login.platform
      ? { issuer: login.issuer, clientId: login.clientId, active: true, ...login.platform }
      : (await deps.platformsOf(login.issuer)).find((x) => x.clientId === login.clientId);
    if (!platform) return deps.onFailure(LAUNCH_FAILURES.unknownPlatform(), req, res);
    if (!platform.active) return deps.onFailure(LAUNCH_FAILURES.inactivePlatform(), req, res);
    const result = await verifyIdToken({
      token: idToken,
      expected: {
        issuer: platform.issuer,
        clientId: platform.clientId,
        hosts: [platform.issuer, platform.authUrl, platform.tokenUrl, platform.jwksUrl].flatMap(hostOf),
      },
      nonce: login.nonce,
      toolOrigin: deps.toolOrigin,
      resolveKey: keyResolverFor(platform, (url) => deps.fetchJson(url, platform), () => deps.now().getTime()),
      now: deps.now(),
    });
    if (!result.ok) return deps.onFailure(result.failure, req, res);
    await deps.onLaunch(result.claims, { clientId: result.clientId }, req, res);
  }

  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    (req, res, next: NextFunction) => {
      fn(req, res).catch(next);
    };
  const parse = bodyParser(deps);
  return {
    login: (req, res, next) => void limiter(req, res, () => parse(req, res, next, () => wrap(login)(req, res, next))),
    launch: (req, res, next) => parse(req, res, next, () => wrap(launch)(req, res, next)),
  };
}

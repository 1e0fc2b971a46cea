/**
 * The launch: `GET /launch` (the "launch as" button) starts the OIDC third-party login at the
 * tool; `GET|POST /auth` is the authorization endpoint, strict like a real platform, which
 * answers with an auto-submitting form carrying the signed id_token to the registered redirect_uri.
 */
import express, { type Request, type Response } from 'express';
import { generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { deploymentIdFor, firstString, LAUNCH_FAULTS, type LaunchFault, type LaunchUrlOptions, type SandboxContext } from './context';
import { renderAutoPostForm, renderErrorPage } from './html';
import { buildLaunchClaims } from './id-token';
import { CLAIM } from './lti-vocabulary';
import { storageTargetFor } from './platform-storage';
import { QUIRKS } from './quirks';
import { signPlatformJwt } from './platform-keys';

/** What the platform remembers about a launch between login initiation and authorization. */
interface MessageHint {
  /** course id */
  c: string;
  /** resource link id */
  l?: string;
  /** deep linking */
  d?: 1;
  /** client id */
  k: string;
  /** deliberate fault */
  f?: LaunchFault;
}

function encodeHint(hint: MessageHint): string {
  return Buffer.from(JSON.stringify(hint)).toString('base64url');
}

function decodeHint(value: string): MessageHint | undefined {
  try {
    const hint = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as MessageHint;
    if (typeof hint.c !== 'string' || typeof hint.k !== 'string') return undefined;
    if (hint.f !== undefined && !LAUNCH_FAULTS.includes(hint.f)) return undefined;
    return hint;
  } catch {
    return undefined;
  }
}

/** The URL of `GET /launch` for this person (what `Sandbox.launchUrl` returns). */
export function buildLaunchUrl(ctx: SandboxContext, courseId: string, userId: string, opts: LaunchUrlOptions = {}): string {
  const params = new URLSearchParams({ course: courseId, user: userId });
  if (opts.resourceLinkId) params.set('link', opts.resourceLinkId);
  if (opts.deepLinking) params.set('dl', '1');
  if (opts.clientId) params.set('client', opts.clientId);
  if (opts.fault) params.set('fault', opts.fault);
  return `${ctx.baseUrl}/launch?${params.toString()}`;
}

function refuse(ctx: SandboxContext, res: Response, status: number, error: string, description: string): void {
  res.status(status).type('html').send(renderErrorPage('Launch refused by the sandbox LMS', error, description, ctx.baseUrl + '/'));
}

let strayKey: Promise<CryptoKey> | undefined;
/** A key the tool has never seen, for the `bad-signature` fault. */
function foreignKey(): Promise<CryptoKey> {
  strayKey ??= generateKeyPair('RS256').then((pair) => pair.privateKey);
  return strayKey;
}

async function signLaunch(ctx: SandboxContext, claims: JWTPayload, fault: LaunchFault | undefined): Promise<string> {
  if (fault === 'bad-signature') {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: ctx.key.kid, typ: 'JWT' }).sign(await foreignKey());
  }
  return signPlatformJwt(ctx.key, claims);
}

function applyFault(claims: JWTPayload & Record<string, unknown>, fault: LaunchFault | undefined): void {
  switch (fault) {
    case 'expired':
      claims.iat = (claims.iat ?? 0) - 7200;
      claims.exp = (claims.iat ?? 0) + 60;
      break;
    case 'wrong-audience':
      claims.aud = 'some-other-tool';
      claims.azp = 'some-other-tool';
      break;
    case 'wrong-issuer':
      claims.iss = `${claims.iss}/not-this-platform`;
      break;
    case 'wrong-nonce':
      claims.nonce = `${claims.nonce}-tampered`;
      break;
    case 'unknown-deployment':
      claims[CLAIM.deploymentId] = 'deployment-the-tool-never-saw';
      break;
    case 'missing-message-type':
      delete claims[CLAIM.messageType];
      break;
    default:
      break;
  }
}

export function oidcRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();

  router.get('/launch', (req: Request, res: Response) => {
    const courseId = firstString(req.query.course) ?? '';
    const userId = firstString(req.query.user) ?? '';
    const course = ctx.store.getCourse(courseId);
    const user = ctx.store.getUser(userId);
    const client = ctx.clients.get(firstString(req.query.client) ?? ctx.defaultClient.clientId);
    if (!course) return refuse(ctx, res, 404, 'unknown_course', `There is no course ${courseId} in this sandbox.`);
    if (!user || !ctx.store.getMembership(course.id, user.id)) return refuse(ctx, res, 400, 'not_enrolled', `User ${userId} is not enrolled in ${course.title}.`);
    if (!client) return refuse(ctx, res, 400, 'unknown_client', `No tool is registered with client id ${firstString(req.query.client)}.`);
    const linkId = firstString(req.query.link);
    const link = linkId ? course.resourceLinks.find((l) => l.id === linkId) : course.resourceLinks[0];
    if (!link) return refuse(ctx, res, 400, 'unknown_resource_link', `Course ${course.title} has no resource link ${linkId}.`);
    const deepLinking = firstString(req.query.dl) === '1';
    const fault = firstString(req.query.fault) as LaunchFault | undefined;
    if (fault !== undefined && !LAUNCH_FAULTS.includes(fault)) return refuse(ctx, res, 400, 'unknown_fault', `Unknown launch fault ${fault}; use one of ${LAUNCH_FAULTS.join(', ')}.`);

    const hint: MessageHint = { c: course.id, l: link.id, k: client.clientId, ...(deepLinking ? { d: 1 as const } : {}), ...(fault ? { f: fault } : {}) };
    const params = new URLSearchParams({
      iss: ctx.urls.issuer,
      login_hint: user.id,
      target_link_uri: deepLinking ? (client.deepLinkingUrl ?? client.targetLinkUri) : (link.url ?? client.targetLinkUri),
      lti_message_hint: encodeHint(hint),
      client_id: client.clientId,
    });
    // Chamilo's login initiation carries no lti_deployment_id (platforms.md §6).
    if (QUIRKS[course.quirks].sendsDeploymentIdInLogin) params.set('lti_deployment_id', deploymentIdFor(course, client));
    const storageTarget = storageTargetFor(course.quirks);
    if (storageTarget) params.set('lti_storage_target', storageTarget);
    const separator = client.loginUrl.includes('?') ? '&' : '?';
    res.redirect(302, `${client.loginUrl}${separator}${params.toString()}`);
  });

  const authorize = async (req: Request, res: Response) => {
    const source = (req.method === 'POST' ? req.body : req.query) as Record<string, unknown>;
    const p = (name: string) => firstString(source?.[name]);
    const scope = p('scope');
    if (!scope || !scope.split(' ').includes('openid')) return refuse(ctx, res, 400, 'invalid_scope', `scope must be "openid" (got ${JSON.stringify(scope ?? null)}).`);
    if (p('response_type') !== 'id_token') return refuse(ctx, res, 400, 'unsupported_response_type', `response_type must be "id_token" (got ${JSON.stringify(p('response_type') ?? null)}).`);
    const clientId = p('client_id');
    const client = clientId ? ctx.clients.get(clientId) : undefined;
    if (!client) return refuse(ctx, res, 400, 'unauthorized_client', `client_id ${JSON.stringify(clientId ?? null)} is not registered with this platform.`);
    const redirectUri = p('redirect_uri');
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
      return refuse(ctx, res, 400, 'invalid_redirect_uri', `redirect_uri ${JSON.stringify(redirectUri ?? null)} is not registered for client ${client.clientId} (registered: ${client.redirectUris.join(', ')}).`);
    }
    if (p('response_mode') !== 'form_post') return refuse(ctx, res, 400, 'invalid_request', `response_mode must be "form_post" (got ${JSON.stringify(p('response_mode') ?? null)}).`);
    if (p('prompt') !== 'none') return refuse(ctx, res, 400, 'invalid_request', `prompt must be "none" (got ${JSON.stringify(p('prompt') ?? null)}).`);
    const nonce = p('nonce');
    if (!nonce) return refuse(ctx, res, 400, 'invalid_request', 'nonce is missing.');
    const hint = decodeHint(p('lti_message_hint') ?? '');
    if (!hint) return refuse(ctx, res, 400, 'invalid_request', 'lti_message_hint is missing or was not issued by this platform.');
    if (hint.k !== client.clientId) return refuse(ctx, res, 400, 'invalid_request', `This launch was started for client ${hint.k}, not ${client.clientId}.`);
    const course = ctx.store.getCourse(hint.c);
    if (!course) return refuse(ctx, res, 400, 'invalid_request', `The course ${hint.c} of this launch no longer exists.`);
    const user = ctx.store.getUser(p('login_hint') ?? '');
    const membership = user ? ctx.store.getMembership(course.id, user.id) : undefined;
    if (!user || !membership) return refuse(ctx, res, 400, 'login_required', `login_hint ${JSON.stringify(p('login_hint') ?? null)} is not a member of ${course.title}.`);
    if (membership.status !== 'Active') return refuse(ctx, res, 403, 'access_denied', `${user.name}'s enrolment in ${course.title} is not active.`);
    const resourceLink = course.resourceLinks.find((l) => l.id === hint.l) ?? course.resourceLinks[0];
    if (!resourceLink) return refuse(ctx, res, 400, 'invalid_request', `Course ${course.title} has no resource link.`);

    const deepLinking = hint.d === 1;
    const claims = buildLaunchClaims(ctx, {
      course,
      user,
      membership,
      client,
      resourceLink,
      deepLinking,
      nonce,
      deepLinkingData: deepLinking ? Buffer.from(JSON.stringify({ c: course.id, k: client.clientId, u: user.id })).toString('base64url') : undefined,
    });
    applyFault(claims, hint.f);
    const idToken = await signLaunch(ctx, claims, hint.f);
    const fields: Record<string, string> = { id_token: idToken };
    const state = p('state');
    if (state !== undefined) fields.state = state;
    // Canvas sends lti_storage_target with the launch too (platform-storage.ts).
    const storageTarget = storageTargetFor(course.quirks);
    if (storageTarget) fields.lti_storage_target = storageTarget;
    res.status(200).type('html').set('Cache-Control', 'no-store').send(renderAutoPostForm(redirectUri, fields, `Opening ${client.name}…`));
  };
  router.get('/auth', authorize);
  router.post('/auth', express.urlencoded({ extended: false }), authorize);
  return router;
}

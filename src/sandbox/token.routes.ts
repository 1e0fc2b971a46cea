/**
 * `POST /token`: OAuth2 client credentials with a JWT client assertion signed by the tool
 * (LTI Security Framework §4.1). Verified against the tool's keyset; replayed `jti`s are refused.
 */
import express, { type Request, type Response } from 'express';
import { decodeJwt } from 'jose';
import { ACCESS_TOKEN_LIFETIME_SECONDS } from './access-tokens';
import type { SandboxContext } from './context';
import { ALL_SERVICE_SCOPES, CLIENT_ASSERTION_TYPE } from './lti-vocabulary';

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

export function tokenRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  router.post('/token', express.urlencoded({ extended: false }), express.json(), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : undefined);
    if (field('grant_type') !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials.');
    if (field('client_assertion_type') !== CLIENT_ASSERTION_TYPE) return oauthError(res, 400, 'invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`);
    const assertion = field('client_assertion');
    if (!assertion) return oauthError(res, 400, 'invalid_client', 'client_assertion is missing.');

    let claimedClientId: string | undefined;
    try {
      const unverified = decodeJwt(assertion);
      claimedClientId = unverified.sub ?? unverified.iss;
    } catch {
      return oauthError(res, 400, 'invalid_client', 'client_assertion is not a JWT.');
    }
    const client = claimedClientId ? ctx.clients.get(claimedClientId) : undefined;
    if (!client) return oauthError(res, 401, 'invalid_client', `No tool is registered with client id ${JSON.stringify(claimedClientId ?? null)}.`);

    let payload;
    try {
      payload = await ctx.keysets.verify(assertion, client.jwksUrl, {
        issuer: client.clientId,
        subject: client.clientId,
        // The token endpoint URL is what the spec asks for; some tools send the issuer, which Moodle tolerates.
        // Canvas's token endpoint is /login/oauth2/token (canvas-rest.routes.ts forwards the LTI grant here);
        // its assertions name that URL or the `authorization_server` Canvas advertises, its host
        // (lib/canvas/oauth/client_credentials_provider.rb accepts both).
        audience: [ctx.urls.token, ctx.urls.issuer, ...(req.originalUrl.split('?')[0]!.endsWith('/login/oauth2/token') ? [`${ctx.baseUrl}/login/oauth2/token`, new URL(ctx.baseUrl).host] : [])],
        currentDate: ctx.now(),
        requiredClaims: ['exp', 'iat', 'jti'],
        clockTolerance: 5,
      });
    } catch (err) {
      return oauthError(res, 401, 'invalid_client', `client_assertion rejected: ${(err as Error).message}`);
    }
    if (!ctx.tokens.claimJti(client.clientId, String(payload.jti), payload.exp ?? 0)) {
      return oauthError(res, 400, 'invalid_grant', `client_assertion jti ${String(payload.jti)} was already used.`);
    }

    const requested = (field('scope') ?? '').split(/\s+/).filter(Boolean);
    if (requested.length === 0) return oauthError(res, 400, 'invalid_scope', 'scope is missing.');
    const granted = requested.filter((scope, i) => requested.indexOf(scope) === i && ALL_SERVICE_SCOPES.includes(scope) && client.scopes.includes(scope));
    if (granted.length === 0) return oauthError(res, 400, 'invalid_scope', `None of the requested scopes is granted to client ${client.clientId}: ${requested.join(' ')}`);
    const grant = ctx.tokens.issue(client.clientId, granted);
    res.set('Cache-Control', 'no-store').json({ access_token: grant.token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, scope: granted.join(' ') });
  });
  return router;
}

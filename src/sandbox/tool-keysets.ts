/**
 * The tools' public keys, fetched from their keyset URLs. Cached per URL and refetched when a
 * JWT names a `kid` the cache lacks (tools rotate keys), as a careful platform does.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyOptions } from 'jose';

export class KeysetError extends Error {}

export class ToolKeysets {
  private readonly cache = new Map<string, JSONWebKeySet>();

  constructor(private readonly fetchImpl: typeof fetch) {}

  /** Verifies an RS256 JWT against the keyset at `jwksUrl`; throws on any failure. */
  async verify(token: string, jwksUrl: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    const kid = decodeProtectedHeader(token).kid;
    let keyset = this.cache.get(jwksUrl);
    if (!keyset || (kid !== undefined && !keyset.keys.some((k) => k.kid === kid))) {
      keyset = await this.fetchKeyset(jwksUrl);
      this.cache.set(jwksUrl, keyset);
    }
    const { payload } = await jwtVerify(token, createLocalJWKSet(keyset), { algorithms: ['RS256', 'RS384', 'RS512'], ...options });
    return payload;
  }

  private async fetchKeyset(url: string): Promise<JSONWebKeySet> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: { Accept: 'application/json' } });
    } catch (err) {
      throw new KeysetError(`the tool's keyset ${url} could not be fetched (${(err as Error).message})`);
    }
    if (!response.ok) throw new KeysetError(`the tool's keyset ${url} answered HTTP ${response.status}`);
    const body = (await response.json().catch(() => undefined)) as JSONWebKeySet | undefined;
    if (!body || !Array.isArray(body.keys)) throw new KeysetError(`the tool's keyset ${url} is not a JWKS document`);
    return body;
  }
}

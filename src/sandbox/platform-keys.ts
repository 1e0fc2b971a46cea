/**
 * The sandbox platform's signing key: RS256, published with a `kid` at `/jwks`. Generated at
 * creation unless a private JWK is passed in (so launches survive a restart of the demo).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface PlatformKey {
  kid: string;
  privateKey: CryptoKey;
  /** The private key as JWK, to persist and pass back in later. */
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Generates an RSA key pair, or imports the given private JWK; the kid is the key's thumbprint. */
export async function createPlatformKey(privateJwk?: JWK): Promise<PlatformKey> {
  let jwk = privateJwk;
  if (!jwk) {
    const pair = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    jwk = await exportJWK(pair.privateKey);
  }
  const publicJwk: JWK = { kty: jwk.kty, n: jwk.n, e: jwk.e };
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const privateKey = (await importJWK({ ...jwk, alg: 'RS256' }, 'RS256')) as CryptoKey;
  return { kid, privateKey, privateJwk: { ...jwk, kid }, publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' } };
}

/** Signs a JWT with the platform key (RS256, `kid` in the header). */
export function signPlatformJwt(key: PlatformKey, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

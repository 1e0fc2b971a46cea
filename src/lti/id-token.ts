/**
 * The id_token of a launch, checked by the tool itself (IMS Security Framework 1.0 §5.1.3 and
 * LTI 1.3 core §5.3–5.4), before anything is stored. ltijs 5.9 checked less than the
 * specifications ask (an aud array without azp, a missing exp or iat, an iat in the future, a
 * foreign target_link_uri, a deep-linking request without settings all passed) and wrote the
 * token's personal data to its own collections before our checks ran; so ltijs no longer sees
 * launches at all. The checks here are pure apart from reading the platform's key.
 *
 * The client id of a launch is the one of the registration the login was started for and that
 * the token is verified against — never a value read from the token (`azp ?? aud[0]`).
 */
import { createPublicKey } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK, importSPKI, type JWK } from 'jose';
import { CLAIM } from './claims';
import { LAUNCH_FAILURES, type LaunchFailure } from './launch-errors';

/** Largest id_token accepted. Real ones are 2–20 KB; Canvas's with many custom fields stay far below. */
export const MAX_ID_TOKEN_BYTES = 64 * 1024;
/** Clock difference allowed between the LMS and the tool. */
export const CLOCK_SKEW_SECONDS = 60;
/** Oldest id_token accepted (the platform signs it the moment the browser is sent back to us). */
export const MAX_TOKEN_AGE_SECONDS = 300;

/** The registration an id_token must come from: what the login was started for. */
export interface ExpectedPlatform {
  issuer: string;
  clientId: string;
  /** Hosts of the registration (issuer, login, token and keyset URLs): deep-linking replies go only there. */
  hosts: string[];
}

export type TokenKey = Awaited<ReturnType<typeof importSPKI>>;

/**
 * Reads the key that signed a token: by kid from the keyset URL, or the registered PEM key.
 * `cached`: the key came from the keyset as read earlier; `fresh: true` reads the keyset again.
 */
export type KeyResolver = (kid: string | undefined, opts?: { fresh?: boolean }) => Promise<{ ok: true; key: TokenKey; cached?: boolean } | { ok: false; failure: LaunchFailure }>;

export interface VerifyInput {
  token: string;
  expected: ExpectedPlatform;
  /** The nonce the login asked the platform to sign. */
  nonce: string;
  /** The tool's own origin (PUBLIC_URL): target_link_uri must be on it. */
  toolOrigin: string;
  resolveKey: KeyResolver;
  now: Date;
}

export type VerifyResult = { ok: true; claims: Record<string, unknown>; clientId: string } | { ok: false; failure: LaunchFailure };

const refuse = (failure: LaunchFailure): VerifyResult => ({ ok: false, failure });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown, max = 255): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

function httpUrl(value: unknown): URL | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** Country-code second-level domains under which the registrable domain has three labels. */
const SECOND_LEVEL = new Set(['ac', 'co', 'com', 'edu', 'gov', 'net', 'org', 'sch']);

/** example.school.edu → school.edu; canvas.ox.ac.uk → ox.ac.uk; IP addresses and single labels stay whole. */
export function registrableDomain(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (/^[\d.]+$/.test(h) || h.includes(':') || !h.includes('.')) return h;
  const labels = h.split('.');
  const keep = labels.length >= 3 && labels.at(-1)!.length === 2 && SECOND_LEVEL.has(labels.at(-2)!) ? 3 : 2;
  return labels.slice(-keep).join('.');
}

/**
 * Whether a URL the platform gives us belongs to the platform: same host as one of its
 * registration's URLs, or the same registrable domain (Canvas Cloud's issuer is
 * canvas.instructure.com while a school's deep-linking return URL is on school.instructure.com).
 */
export function onPlatformHost(url: URL, hosts: string[]): boolean {
  const host = url.hostname.toLowerCase();
  return hosts.some((h) => h.toLowerCase() === host || registrableDomain(h) === registrableDomain(host));
}

function checkAudience(payload: Record<string, unknown>, clientId: string): LaunchFailure | null {
  const aud = payload.aud;
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? (aud as string[]) : null;
  if (!list || !list.includes(clientId)) return LAUNCH_FAILURES.wrongAudience(clientId);
  // OIDC Core §3.1.3.7 and IMS Security §5.1.3: several audiences need azp, and azp must be us.
  if (list.length > 1 && payload.azp === undefined) return LAUNCH_FAILURES.audienceWithoutAzp();
  if (payload.azp !== undefined && payload.azp !== clientId) return LAUNCH_FAILURES.wrongAzp(clientId);
  return null;
}

function checkTimes(payload: Record<string, unknown>, now: Date): LaunchFailure | null {
  const t = now.getTime() / 1000;
  const { exp, iat, nbf } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return LAUNCH_FAILURES.missingTime('exp');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return LAUNCH_FAILURES.missingTime('iat');
  if (exp + CLOCK_SKEW_SECONDS <= t) return LAUNCH_FAILURES.expired();
  if (iat - CLOCK_SKEW_SECONDS > t) return LAUNCH_FAILURES.inFuture('iat');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf - CLOCK_SKEW_SECONDS > t)) return LAUNCH_FAILURES.inFuture('nbf');
  if (t - iat > MAX_TOKEN_AGE_SECONDS + CLOCK_SKEW_SECONDS) return LAUNCH_FAILURES.tooOld();
  return null;
}

function checkLtiClaims(payload: Record<string, unknown>, input: VerifyInput): LaunchFailure | null {
  if (payload[CLAIM.version] === undefined) return LAUNCH_FAILURES.missingClaim('version');
  if (payload[CLAIM.version] !== '1.3.0') return LAUNCH_FAILURES.wrongVersion();
  const type = payload[CLAIM.messageType];
  if (type === undefined) return LAUNCH_FAILURES.missingClaim('message_type');
  if (type !== 'LtiResourceLinkRequest' && type !== 'LtiDeepLinkingRequest') return LAUNCH_FAILURES.wrongMessageType(String(type));
  if (!nonEmpty(payload[CLAIM.deploymentId])) return LAUNCH_FAILURES.missingClaim('deployment_id');
  if (!nonEmpty(payload.sub)) return LAUNCH_FAILURES.missingClaim('sub');
  const roles = payload[CLAIM.roles];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) return LAUNCH_FAILURES.missingClaim('roles');
  for (const claim of [CLAIM.context, CLAIM.custom, CLAIM.launchPresentation, CLAIM.ags, CLAIM.nrps]) {
    if (payload[claim] !== undefined && !isObject(payload[claim])) return LAUNCH_FAILURES.invalidClaim(claim.split('/').pop()!, 'not an object');
  }

  const target = payload[CLAIM.targetLinkUri];
  if (type === 'LtiResourceLinkRequest') {
    const link = payload[CLAIM.resourceLink];
    if (!isObject(link) || !nonEmpty(link.id)) return LAUNCH_FAILURES.missingClaim('resource_link');
    if (target === undefined) return LAUNCH_FAILURES.missingClaim('target_link_uri');
  }
  if (target !== undefined) {
    const url = httpUrl(target);
    if (!url || url.origin !== input.toolOrigin) return LAUNCH_FAILURES.foreignTargetLink(input.toolOrigin);
  }

  if (type === 'LtiDeepLinkingRequest') {
    const dl = payload[CLAIM.deepLinkingSettings];
    if (!isObject(dl)) return LAUNCH_FAILURES.badDeepLinking('the request has no deep_linking_settings');
    const returnUrl = httpUrl(dl.deep_link_return_url);
    if (!returnUrl) return LAUNCH_FAILURES.badDeepLinking('deep_link_return_url is not an http(s) URL');
    if (!onPlatformHost(returnUrl, input.expected.hosts)) {
      return LAUNCH_FAILURES.badDeepLinking(`deep_link_return_url is not on the platform's site (${returnUrl.hostname.slice(0, 100)})`);
    }
    if (!Array.isArray(dl.accept_types) || dl.accept_types.length === 0 || !dl.accept_types.every((a) => typeof a === 'string')) {
      return LAUNCH_FAILURES.badDeepLinking('accept_types is missing');
    }
    if (!dl.accept_types.includes('ltiResourceLink')) return LAUNCH_FAILURES.badDeepLinking('the platform does not accept an LTI resource link here');
    if (dl.data !== undefined && (typeof dl.data !== 'string' || dl.data.length > 4096)) return LAUNCH_FAILURES.badDeepLinking('data is not a short string');
  }
  return null;
}

/** Verifies a launch id_token against the registration its login was for. */
export async function verifyIdToken(input: VerifyInput): Promise<VerifyResult> {
  const { token, expected } = input;
  if (Buffer.byteLength(token) > MAX_ID_TOKEN_BYTES) return refuse(LAUNCH_FAILURES.tokenTooLarge(Buffer.byteLength(token), MAX_ID_TOKEN_BYTES));
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return refuse(LAUNCH_FAILURES.malformed());
  }
  if (token.split('.').length !== 3) return refuse(LAUNCH_FAILURES.malformed());
  // Decided before any key is read: "none", HS256 (signed with a public key as secret) and the rest.
  if (header.alg !== 'RS256') return refuse(LAUNCH_FAILURES.algorithm(String(header.alg ?? '')));
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  let key = await input.resolveKey(kid);
  if (!key.ok) return key;
  let payload: Record<string, unknown>;
  try {
    let verified: Awaited<ReturnType<typeof compactVerify>>;
    try {
      verified = await compactVerify(token, key.key, { algorithms: ['RS256'] });
    } catch (err) {
      // A key read earlier that does not match: the platform may have replaced the key under the
      // same kid. The keyset as it is now decides.
      if (!key.cached || (err as { code?: string }).code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw err;
      key = await input.resolveKey(kid, { fresh: true });
      if (!key.ok) return key;
      verified = await compactVerify(token, key.key, { algorithms: ['RS256'] });
    }
    const parsed: unknown = JSON.parse(new TextDecoder().decode(verified.payload));
    if (!isObject(parsed)) return refuse(LAUNCH_FAILURES.malformed());
    payload = parsed;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return refuse(LAUNCH_FAILURES.badSignature());
    return refuse(LAUNCH_FAILURES.malformed());
  }

  if (payload.iss !== expected.issuer) return refuse(LAUNCH_FAILURES.wrongIssuer());
  const failure =
    checkAudience(payload, expected.clientId) ??
    checkTimes(payload, input.now) ??
    (typeof payload.nonce !== 'string' || payload.nonce !== input.nonce ? LAUNCH_FAILURES.nonceMismatch() : null) ??
    checkLtiClaims(payload, input);
  if (failure) return refuse(failure);
  return { ok: true, claims: payload, clientId: expected.clientId };
}

/** A pasted PEM public key, SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`). */
async function importPem(pem: string): Promise<TokenKey> {
  try {
    return await importSPKI(pem.trim(), 'RS256');
  } catch {
    const jwk = createPublicKey(pem).export({ format: 'jwk' }) as JWK;
    return (await importJWK({ ...jwk, alg: 'RS256' }, 'RS256')) as TokenKey;
  }
}

/**
 * How long a platform's keyset, as read, verifies its launches before it is read again. Every
 * launch read it before (one request to the platform and a key import each); a key the platform
 * adds is used at once (an unknown kid reads the keyset again), one it replaces under the same kid
 * too (a signature that fails with a key read earlier is checked against the keyset read again),
 * and one it withdraws is accepted for at most this long, as with a library's remote keyset cache.
 */
export const KEYSET_CACHE_MS = 60_000;
const MAX_CACHED_KEYS = 1000;
/** registration + jwksUrl + kid → the imported key and when the keyset was read. Per process. */
const keysetCache = new Map<string, { key: TokenKey; at: number }>();
const pemKeys = new Map<string, TokenKey>();

/** Forgets the keys read from platforms' keysets (tests). */
export function forgetPlatformKeys(): void {
  keysetCache.clear();
  pemKeys.clear();
}

/** Resolves keys from a registered keyset URL or PEM key. `fetchJson` reads the keyset (injected: the SSRF guard lives there). */
export function keyResolverFor(
  auth: { issuer?: string; clientId?: string; jwksUrl?: string; publicKeyPem?: string },
  fetchJson: (url: string) => Promise<unknown>,
  clock: () => number = Date.now,
): KeyResolver {
  return async (kid, opts = {}) => {
    try {
      if (auth.publicKeyPem) {
        let key = pemKeys.get(auth.publicKeyPem);
        if (!key) {
          key = await importPem(auth.publicKeyPem);
          if (pemKeys.size >= MAX_CACHED_KEYS) pemKeys.clear();
          pemKeys.set(auth.publicKeyPem, key);
        }
        return { ok: true, key };
      }
      if (!auth.jwksUrl) return { ok: false, failure: LAUNCH_FAILURES.keysetUnavailable('no keyset URL or key is registered') };
      if (!kid) return { ok: false, failure: LAUNCH_FAILURES.noKid() };
      // per registration: the keyset was read under its registration's address rules (url-guard.ts)
      const cacheKey = `${auth.issuer ?? ''}\n${auth.clientId ?? ''}\n${auth.jwksUrl}\n${kid}`;
      const hit = keysetCache.get(cacheKey);
      if (hit && !opts.fresh && clock() - hit.at < KEYSET_CACHE_MS) return { ok: true, key: hit.key, cached: true };
      keysetCache.delete(cacheKey);
      let body: unknown;
      try {
        body = await fetchJson(auth.jwksUrl);
      } catch (err) {
        return { ok: false, failure: LAUNCH_FAILURES.keysetUnavailable((err as Error).message.slice(0, 200)) };
      }
      const keys = isObject(body) && Array.isArray(body.keys) ? (body.keys as unknown[]) : null;
      if (!keys) return { ok: false, failure: LAUNCH_FAILURES.keysetUnavailable('the answer is not a JWK set') };
      const jwk = keys.find((k) => isObject(k) && k.kid === kid) as JWK | undefined;
      if (!jwk || (jwk.kty !== undefined && jwk.kty !== 'RSA')) return { ok: false, failure: LAUNCH_FAILURES.keyNotFound() };
      const key = (await importJWK({ ...jwk, alg: 'RS256' }, 'RS256')) as TokenKey;
      if (keysetCache.size >= MAX_CACHED_KEYS) keysetCache.clear();
      keysetCache.set(cacheKey, { key, at: clock() });
      return { ok: true, key };
    } catch {
      return { ok: false, failure: LAUNCH_FAILURES.keyNotFound() };
    }
  };
}

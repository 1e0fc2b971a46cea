/**
 * The platform's keyset, read once a minute instead of at every launch (src/lti/id-token.ts,
 * KEYSET_CACHE_MS): a key the platform adds, replaces or withdraws still decides as the
 * specification asks: the keyset as the platform publishes it decides.
 */
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { CLAIM } from '../../src/lti/claims';
import { forgetPlatformKeys, KEYSET_CACHE_MS, keyResolverFor, verifyIdToken } from '../../src/lti/id-token';

const ISSUER = 'https://lms.example';
const TOOL = 'https://tool.example';

async function platformKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } as JWK };
}

function launchToken(key: { kid: string; privateKey: CryptoKey | Parameters<SignJWT['sign']>[0] }, nowS: number) {
  return new SignJWT({
    nonce: 'n-1',
    sub: 'learner-1',
    [CLAIM.version]: '1.3.0',
    [CLAIM.messageType]: 'LtiResourceLinkRequest',
    [CLAIM.deploymentId]: '1',
    [CLAIM.roles]: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
    [CLAIM.resourceLink]: { id: 'link-1' },
    [CLAIM.targetLinkUri]: `${TOOL}/lti/launch`,
  })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuer(ISSUER)
    .setAudience('client-1')
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + 300)
    .sign(key.privateKey);
}

describe('Launch: the platform keyset, read at most once a minute', () => {
  let clock = Date.parse('2026-12-01T12:00:00Z');
  let published: JWK[] = [];
  let reads = 0;
  const fetchJson = async () => {
    reads++;
    return { keys: published };
  };
  const verify = async (token: string) =>
    verifyIdToken({
      token,
      expected: { issuer: ISSUER, clientId: 'client-1', hosts: ['lms.example'] },
      nonce: 'n-1',
      toolOrigin: TOOL,
      resolveKey: keyResolverFor({ issuer: ISSUER, clientId: 'client-1', jwksUrl: `${ISSUER}/jwks` }, fetchJson, () => clock),
      now: new Date(clock),
    });
  const refusal = (r: Awaited<ReturnType<typeof verify>>) => (r.ok ? 'accepted' : r.failure.message);

  beforeEach(() => {
    forgetPlatformKeys();
    reads = 0;
    clock = Date.parse('2026-12-01T12:00:00Z');
  });

  it('verifies the next launches with the key it read, without asking the platform again', async () => {
    const k = await platformKey('k1');
    published = [k.jwk];
    for (let i = 0; i < 3; i++) expect(refusal(await verify(await launchToken(k, clock / 1000)))).to.equal('accepted');
    expect(reads).to.equal(1);
  });

  it('reads the keyset again for a kid it has not seen (a key the platform added)', async () => {
    const k1 = await platformKey('k1');
    const k2 = await platformKey('k2');
    published = [k1.jwk];
    expect(refusal(await verify(await launchToken(k1, clock / 1000)))).to.equal('accepted');
    published = [k1.jwk, k2.jwk];
    expect(refusal(await verify(await launchToken(k2, clock / 1000)))).to.equal('accepted');
    expect(reads).to.equal(2);
  });

  it('follows a key replaced under the same kid: the keyset read again decides', async () => {
    const old = await platformKey('k1');
    const replaced = await platformKey('k1');
    published = [old.jwk];
    expect(refusal(await verify(await launchToken(old, clock / 1000)))).to.equal('accepted');
    published = [replaced.jwk];
    expect(refusal(await verify(await launchToken(replaced, clock / 1000)))).to.equal('accepted');
    // and the withdrawn key no longer verifies anything
    expect(refusal(await verify(await launchToken(old, clock / 1000)))).to.match(/not signed by the platform/);
  });

  it('refuses a token signed by another key under a kid it knows, reading the keyset again to be sure', async () => {
    const k = await platformKey('k1');
    const forged = await platformKey('k1');
    published = [k.jwk];
    expect(refusal(await verify(await launchToken(k, clock / 1000)))).to.equal('accepted');
    expect(refusal(await verify(await launchToken(forged, clock / 1000)))).to.match(/not signed by the platform/);
    expect(reads).to.equal(2);
  });

  it('stops accepting a key the platform withdrew once a minute has passed', async () => {
    const k1 = await platformKey('k1');
    published = [k1.jwk];
    expect(refusal(await verify(await launchToken(k1, clock / 1000)))).to.equal('accepted');
    published = [];
    clock += KEYSET_CACHE_MS;
    expect(refusal(await verify(await launchToken(k1, clock / 1000)))).to.match(/not in the platform's keyset/);
  });
});

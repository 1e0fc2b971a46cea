/**
 * The service token cache (src/lti/token-cache.ts): a token is reused per issuer, client and
 * scopes until shortly before it expires; one token serves both AGS read scopes; a refused pair
 * falls back to the scope alone; a 401 refresh replaces the token.
 */
import { expect } from 'chai';
import { TokenRefusedError } from '../../src/http/platform-errors';
import { SCOPE } from '../../src/lti/claims';
import { createTokenCache, type IssuedToken } from '../../src/lti/token-cache';

function harness(answer: (scopes: string[], n: number) => IssuedToken | Error = (scopes, n) => ({ token: `t${n}`, scopes, expiresInSeconds: 3600 })) {
  let now = 1_000_000;
  const asked: string[][] = [];
  const cache = createTokenCache({
    now: () => now,
    async fetchToken(_issuer, _client, scopes) {
      asked.push(scopes);
      const a = answer(scopes, asked.length);
      if (a instanceof Error) throw a;
      return a;
    },
  });
  return { cache, asked, advance: (ms: number) => (now += ms) };
}

describe('Service token cache', () => {
  it('reuses a token until a minute before it expires, then asks for a new one', async () => {
    const h = harness();
    expect((await h.cache.get('iss', 'c', [SCOPE.membershipReadonly])).token).to.equal('t1');
    h.advance(3600_000 - 60_001);
    expect((await h.cache.get('iss', 'c', [SCOPE.membershipReadonly])).token).to.equal('t1');
    h.advance(2);
    expect((await h.cache.get('iss', 'c', [SCOPE.membershipReadonly])).token).to.equal('t2');
    expect(h.asked).to.have.length(2);
  });

  it('keeps tokens apart per issuer and client id', async () => {
    const h = harness();
    await h.cache.get('iss', 'c', [SCOPE.score]);
    await h.cache.get('iss', 'other', [SCOPE.score]);
    await h.cache.get('iss2', 'c', [SCOPE.score]);
    await h.cache.get('iss', 'c', [SCOPE.score]);
    expect(h.asked).to.have.length(3);
  });

  it('asks once for both AGS read scopes and serves either from that token', async () => {
    const h = harness();
    const items = await h.cache.get('iss', 'c', [SCOPE.lineItemReadonly]);
    const results = await h.cache.get('iss', 'c', [SCOPE.resultReadonly]);
    expect(items.token).to.equal('t1');
    expect(results.token).to.equal('t1');
    expect(h.asked).to.deep.equal([[SCOPE.lineItemReadonly, SCOPE.resultReadonly]]);
  });

  it('shares one request between simultaneous callers', async () => {
    const h = harness();
    const got = await Promise.all([1, 2, 3].map(() => h.cache.get('iss', 'c', [SCOPE.resultReadonly])));
    expect(got.map((g) => g.token)).to.deep.equal(['t1', 't1', 't1']);
    expect(h.asked).to.have.length(1);
  });

  it('falls back to the scope alone when the platform refuses the pair (Canvas), and does not ask for the pair again', async () => {
    const h = harness((scopes, n) => (scopes.length > 1 ? new TokenRefusedError('refused', 'invalid_scope') : { token: `t${n}`, scopes }));
    expect((await h.cache.get('iss', 'c', [SCOPE.resultReadonly])).token).to.equal('t2');
    expect((await h.cache.get('iss', 'c', [SCOPE.lineItemReadonly])).token).to.equal('t3');
    expect(h.asked).to.deep.equal([[SCOPE.lineItemReadonly, SCOPE.resultReadonly], [SCOPE.resultReadonly], [SCOPE.lineItemReadonly]]);
  });

  it('asks for the scope alone when the pair was granted without it (Moodle keeps the permitted part)', async () => {
    const h = harness((scopes, n) => ({ token: `t${n}`, scopes: scopes.filter((s) => s !== SCOPE.lineItemReadonly) }));
    expect((await h.cache.get('iss', 'c', [SCOPE.resultReadonly])).token).to.equal('t1');
    const items = await h.cache.get('iss', 'c', [SCOPE.lineItemReadonly]);
    expect(h.asked.at(-1)).to.deep.equal([SCOPE.lineItemReadonly]);
    expect(items.token).to.equal('t2');
  });

  it('replaces a token the platform no longer accepts (refresh after a 401)', async () => {
    const h = harness();
    expect((await h.cache.get('iss', 'c', [SCOPE.resultReadonly])).token).to.equal('t1');
    expect((await h.cache.get('iss', 'c', [SCOPE.resultReadonly], { refresh: true })).token).to.equal('t2');
    expect((await h.cache.get('iss', 'c', [SCOPE.lineItemReadonly])).token).to.equal('t2');
  });

  it('does not keep a failure: the next call asks again', async () => {
    let fail = true;
    const h = harness((scopes, n) => (fail ? new Error('network down') : { token: `t${n}`, scopes }));
    expect(await h.cache.get('iss', 'c', [SCOPE.score]).catch((e: Error) => e.message)).to.equal('network down');
    fail = false;
    expect((await h.cache.get('iss', 'c', [SCOPE.score])).token).to.equal('t2');
  });

  it('uses an hour when the platform names no lifetime', async () => {
    const h = harness((scopes, n) => ({ token: `t${n}`, scopes }));
    await h.cache.get('iss', 'c', [SCOPE.score]);
    h.advance(3600_000 - 61_000);
    expect((await h.cache.get('iss', 'c', [SCOPE.score])).token).to.equal('t1');
  });
});

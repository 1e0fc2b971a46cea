import { expect } from 'chai';
import { FakeToolKey, SCOPES, startHarness, type Harness } from './harness';

describe('sandbox LMS: POST /token', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('grants a bearer token for a client assertion signed with the tool key', async () => {
    const res = await h.requestToken(`${SCOPES.lineItemReadonly} ${SCOPES.nrps}`);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).to.include({ token_type: 'Bearer', expires_in: 3600, scope: `${SCOPES.lineItemReadonly} ${SCOPES.nrps}` });
    expect(body.access_token).to.be.a('string').with.length.above(20);
  });

  it('accepts the issuer as audience too', async () => {
    const res = await h.requestToken(SCOPES.score, await h.assertion({ aud: h.sandbox.issuer }));
    expect(res.status).to.equal(200);
  });

  it('refuses an assertion signed with a key that is not in the tool keyset', async () => {
    const stranger = await FakeToolKey.create();
    stranger.kid = h.tool.key.kid;
    const res = await h.requestToken(SCOPES.score, await h.assertion({}, stranger));
    expect(res.status).to.equal(401);
    expect(await res.json()).to.include({ error: 'invalid_client' });
  });

  it('refuses a replayed jti', async () => {
    const assertion = await h.assertion({ jti: 'only-once' });
    expect((await h.requestToken(SCOPES.score, assertion)).status).to.equal(200);
    const replay = await h.requestToken(SCOPES.score, assertion);
    expect(replay.status).to.equal(400);
    expect(await replay.json()).to.include({ error: 'invalid_grant' });
  });

  it('refuses an expired assertion, a wrong audience and an unknown client', async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const expired = await h.requestToken(SCOPES.score, await h.assertion({ iat: past, exp: past + 60 }));
    expect(expired.status).to.equal(401);
    const wrongAud = await h.requestToken(SCOPES.score, await h.assertion({ aud: 'https://elsewhere.example/token' }));
    expect(wrongAud.status).to.equal(401);
    const unknown = await h.requestToken(SCOPES.score, await h.assertion({ clientId: 'nobody' }));
    expect(unknown.status).to.equal(401);
    expect(await unknown.json()).to.include({ error: 'invalid_client' });
  });

  it('grants only the known scopes of those requested, and refuses when none is left', async () => {
    const res = await h.requestToken(`${SCOPES.resultReadonly} https://example.org/scope/everything openid`);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { scope: string }).scope).to.equal(SCOPES.resultReadonly);
    const none = await h.requestToken('https://example.org/scope/everything');
    expect(none.status).to.equal(400);
    expect(await none.json()).to.include({ error: 'invalid_scope' });
  });

  it('refetches the tool keyset when the tool rotates its key (unknown kid)', async () => {
    expect((await h.requestToken(SCOPES.score)).status).to.equal(200);
    const fetchesBefore = h.tool.key.keysetRequests;
    await h.tool.key.rotate();
    expect((await h.requestToken(SCOPES.score)).status).to.equal(200);
    expect(h.tool.key.keysetRequests).to.equal(fetchesBefore + 1);
    expect((await h.requestToken(SCOPES.score)).status).to.equal(200);
    expect(h.tool.key.keysetRequests, 'cached after the refetch').to.equal(fetchesBefore + 1);
  });
});

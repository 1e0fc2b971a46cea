import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';

describe('POST /admin/login: guessing the administrator secret', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  // the test app sits "behind a proxy on loopback" (TRUST_PROXY=loopback): X-Forwarded-For names the client
  const login = (ip: string, secret: string) =>
    fetch(`${t.baseUrl}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: new URLSearchParams({ secret }),
      redirect: 'manual',
    });

  it('locks a client out after 5 wrong secrets: 429 with Retry-After, even for the right secret, and no session cookie', async () => {
    const ip = '198.51.100.21';
    for (let i = 0; i < 5; i++) {
      const res = await login(ip, `wrong-guess-${i}-0123456789`);
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal('/admin?failed=1');
    }
    const locked = await login(ip, 'wrong-guess-5-0123456789');
    expect(locked.status).to.equal(429);
    expect(Number(locked.headers.get('retry-after'))).to.equal(15 * 60);
    expect(await locked.text()).to.match(/^Too many wrong administrator secrets\. Sign-in is locked for 15 minutes/);
    const right = await login(ip, t.config.adminSecret);
    expect(right.status).to.equal(429);
    expect(right.headers.getSetCookie()).to.deep.equal([]);
  });

  it('does not count right secrets, and does not lock out other clients', async () => {
    for (let i = 0; i < 8; i++) expect((await login('198.51.100.22', t.config.adminSecret)).status).to.equal(303);
    expect((await login('198.51.100.23', 'wrong-guess-0123456789')).status).to.equal(303);
    const ok = await login('198.51.100.23', t.config.adminSecret);
    expect(ok.status).to.equal(303);
    expect(ok.headers.get('location')).to.equal('/admin');
  });
});

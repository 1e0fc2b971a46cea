/** /admin/credentials: the signing keys and their rotation, for the administrator only. */
import { expect } from 'chai';
import { allKeys, currentKey, credentialUrls } from '../../src/credentials';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { all, parseHtml } from '../support/html';

describe('POST /admin/credentials/rotate', function () {
  this.timeout(30_000);
  let t: TestApp;
  let admin: HttpBrowser;
  before(async () => {
    t = await startTestApp();
    admin = new HttpBrowser();
    expect((await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    await currentKey({ conn: t.db.connection, ltiKey: t.config.ltiKey, urls: credentialUrls(t.config.publicUrl), now: () => new Date() });
  });

  it('refuses anyone without the administrator cookie, and changes no key', async () => {
    const before = (await allKeys(t.db.connection)).map((k) => k._id);
    const res = await new HttpBrowser().request(`${t.baseUrl}/admin/credentials/rotate`, { form: {} });
    expect(res.status).to.equal(401);
    expect((await allKeys(t.db.connection)).map((k) => k._id)).to.deep.equal(before);
  });

  it('makes a new key sign and keeps the old one in the issuer profile', async () => {
    const old = (await allKeys(t.db.connection)).find((k) => k.current === 'current')!;
    const res = await admin.request(`${t.baseUrl}/admin/credentials/rotate`, { form: {}, headers: { origin: new URL(t.baseUrl).origin } });
    expect(res.status).to.equal(303);
    const page = parseHtml(await (await admin.request(`${t.baseUrl}/admin/credentials`)).text());
    const rows = all(page, 'tr[data-key]').map((r) => [r.getAttribute('data-key'), r.textContent.includes('signs now')]);
    expect(rows).to.deep.include([old._id, false]);
    expect(rows.filter(([, current]) => current)).to.have.length(1);
    const profile = (await (await fetch(`${t.baseUrl}/issuer`)).json()) as { assertionMethod: string[] };
    expect(profile.assertionMethod).to.include(credentialUrls(t.config.publicUrl).key(old._id));
    expect(profile.assertionMethod.length).to.equal(rows.length);
  });
});

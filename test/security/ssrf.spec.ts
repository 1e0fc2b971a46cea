import { expect } from 'chai';
import { Types } from 'mongoose';
import { courseModel } from '../../src/courses/course.model';
import { PlatformError, userMessage } from '../../src/errors';
import { createTranslator } from '../../src/i18n';
import { checkPlatformUrl, policyForRegistration, UnsafePlatformUrlError, type UrlPolicy } from '../../src/lti/advantage/url-guard';
import { guardedServiceAccess } from '../../src/lti/service-guard';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf } from '../support/browser';
import { LTI, registerAttackerPlatform, startAttackerPlatform, type AttackerPlatform } from './support/attacker-platform';
import { countWrites } from './support/state';

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&#x3D;/g, '=')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
const AGS_SCOPE = ['https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly', 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly'];

async function refusal(url: string, policy: UrlPolicy): Promise<string> {
  try {
    await checkPlatformUrl(url, policy);
  } catch (err) {
    expect(err).to.be.instanceOf(UnsafePlatformUrlError);
    return (err as Error).message;
  }
  throw new Error(`${url} was allowed`);
}

describe('url-guard: which platform URLs the tool fetches', () => {
  const publicReg = policyForRegistration({ issuer: 'https://moodle.school.edu', authUrl: 'https://moodle.school.edu/mod/lti/auth.php', tokenUrl: 'https://moodle.school.edu/mod/lti/token.php', jwksUrl: 'https://moodle.school.edu/mod/lti/certs.php' });
  const resolvesTo = (address: string): UrlPolicy['lookup'] => async () => [{ address, family: address.includes(':') ? 6 : 4 }];

  it("allows the registration's own host when it resolves to a public or campus address", async () => {
    await checkPlatformUrl('https://moodle.school.edu/mod/lti/services.php/2/lineitems', { ...publicReg, lookup: resolvesTo('203.0.113.7') });
    await checkPlatformUrl('https://moodle.school.edu/x', { ...publicReg, lookup: resolvesTo('10.1.2.3') });
  });

  it('refuses link-local, metadata and unspecified addresses, whatever the host list says', async () => {
    const anyHost: UrlPolicy = { allowLoopback: true };
    expect(await refusal('http://169.254.169.254/latest/meta-data/', anyHost)).to.include('169.254.169.254 is a link-local, metadata or unspecified address');
    expect(await refusal('http://[fe80::1]/x', anyHost)).to.include('link-local');
    expect(await refusal('http://[::ffff:169.254.169.254]/x', anyHost)).to.include('link-local');
    expect(await refusal('http://0.0.0.0:27017/', anyHost)).to.include('unspecified');
    expect(await refusal('http://metadata.google.internal/computeMetadata/v1/', anyHost)).to.include('cloud metadata host');
    expect(await refusal('http://100.100.100.200/latest/meta-data/', anyHost)).to.include('metadata');
  });

  it('checks the address a name resolves to (a registration host pointing at the metadata service)', async () => {
    expect(await refusal('https://moodle.school.edu/x', { ...publicReg, lookup: resolvesTo('169.254.169.254') })).to.include('169.254.169.254');
    expect(await refusal('https://moodle.school.edu/x', { ...publicReg, lookup: resolvesTo('fe80::abcd') })).to.include('fe80::abcd');
    expect(await refusal('https://moodle.school.edu/x', { ...publicReg, lookup: resolvesTo('127.0.0.1') })).to.include('loopback');
  });

  it("refuses hosts that are not the registration's, non-http schemes and credentials in URLs", async () => {
    expect(await refusal('https://evil.example/lineitems', publicReg)).to.include("evil.example is not one of the registration's hosts (moodle.school.edu)");
    expect(await refusal('file:///etc/passwd', publicReg)).to.include('only http and https URLs are fetched, not file:');
    expect(await refusal('gopher://moodle.school.edu/x', publicReg)).to.include('not gopher:');
    expect(await refusal('https://user:pw@moodle.school.edu/x', publicReg)).to.include('credentials');
  });

  it('allows loopback only when the registration itself is on loopback', async () => {
    const local = policyForRegistration({ issuer: 'http://127.0.0.1:8080', authUrl: 'http://127.0.0.1:8080/auth', tokenUrl: 'http://127.0.0.1:8080/token' });
    await checkPlatformUrl('http://127.0.0.1:8080/ags', local);
    const mixed = policyForRegistration({ issuer: 'https://moodle.school.edu', tokenUrl: 'http://127.0.0.1:27017/token' });
    expect(await refusal('http://127.0.0.1:27017/token', mixed)).to.include('loopback');
  });
});

describe("guardedServiceAccess: the token URL is checked before ltijs posts its client assertion", () => {
  it('refuses a link-local token URL without asking ltijs for a token', async () => {
    let asked = 0;
    const lti = {
      findPlatform: async () => ({ issuer: 'https://lms.example', clientId: 'c', name: 'x', authUrl: 'https://lms.example/auth', tokenUrl: 'http://169.254.169.254/token', jwksUrl: 'https://lms.example/jwks', active: true, kid: 'k', toolPublicKeyPem: '' }),
      accessToken: async () => {
        asked++;
        return { token: 't', scopes: [] };
      },
    };
    const access = guardedServiceAccess(lti, 'https://lms.example', 'c', async () => [{ address: '203.0.113.9', family: 4 }]);
    let error: unknown;
    await access.getToken(['s']).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(UnsafePlatformUrlError);
    expect((error as Error).message).to.include("The tool refused to fetch the platform's token URL http://169.254.169.254/token");
    expect(asked).to.equal(0);
    await access.checkUrl('https://lms.example/ags');
    expect(await access.checkUrl('https://other.example/ags').catch((e: Error) => e.message)).to.include('other.example is not one of');
  });

  it('a registration removed meanwhile is said in the reader\'s language, and no token is asked', async () => {
    let asked = 0;
    const lti = { findPlatform: async () => null, accessToken: async () => ((asked++), { token: 't', scopes: [] }) };
    const error = await guardedServiceAccess(lti, 'https://lms.example', 'c7').getToken(['s']).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PlatformError);
    expect((error as PlatformError).message).to.equal("The LMS https://lms.example (client c7) is no longer registered with the tool: the tool's administrator registers it again on /admin.");
    expect(userMessage(error as PlatformError, createTranslator('de'))).to.equal('Das LMS https://lms.example (Client c7) ist beim Werkzeug nicht mehr registriert: Die Administration des Werkzeugs registriert es auf /admin erneut.');
    expect(asked).to.equal(0);
  });
});

describe('Grade sync: platform URLs from an id_token are fetched only on the registration\'s hosts', function () {
  let t: TestApp;
  let lms: AttackerPlatform;
  const clientId = 'ssrf-client';

  before(async () => {
    t = await startTestApp();
    lms = await startAttackerPlatform();
    await registerAttackerPlatform(t.app.lti, lms, { clientId });
  });
  after(() => lms?.close());

  /** A teacher launch carrying these service URLs, then "Sync now"; returns the teacher page after the sync. */
  async function launchAndSync(context: string, lineitems: string, memberships: string): Promise<{ html: string; courseId: Types.ObjectId }> {
    const browser = new HttpBrowser();
    const page = await lms.launch(
      t.app.toolUrls,
      {
        clientId,
        claims: {
          [LTI.context]: { id: context, title: `SSRF ${context}` },
          [LTI.ags]: { scope: AGS_SCOPE, lineitems },
          [LTI.nrps]: { context_memberships_url: memberships, service_versions: ['2.0'] },
        },
      },
      browser,
    );
    expect(page.status, text(page.html).slice(0, 300)).to.equal(200);
    const session = sessionOf(page.url);
    const synced = await browser.open(`${t.baseUrl}/app/${session}/teacher/sync`, { form: {}, headers: { origin: t.baseUrl } });
    expect(synced.status).to.equal(200);
    await t.app.ctx.jobs.drain();
    const after = await browser.open(`${t.baseUrl}/app/${session}/teacher`);
    const course = await courseModel(t.db.connection).findOne({ issuer: lms.issuer, clientId, contextId: context }).lean();
    return { html: text(after.html), courseId: course!._id };
  }

  async function gradeData(courseId: Types.ObjectId): Promise<number[]> {
    // The launching teacher is recorded as teaching by the launch itself (src/grades/csv/usernames.ts),
    // not by the sync under test: count what a sync writes.
    const written = (c: string) => t.db.connection.collection(c).countDocuments(c === 'members' ? { courseId, teacherLaunchAt: { $exists: false } } : { courseId });
    return Promise.all(['lineitems', 'results', 'members'].map(written));
  }

  it("fetches service URLs on the platform's own host (the control: this test sees fetches)", async () => {
    lms.clearRequests();
    await launchAndSync('ssrf-ok', lms.serviceUrl('/ags/lineitems'), lms.serviceUrl('/nrps/memberships'));
    const paths = lms.requests.map((r) => r.path);
    expect(paths).to.include('/token').and.include('/ags/lineitems');
  });

  for (const [name, lineitems, memberships, message] of [
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', 'http://169.254.169.254/computeMetadata/v1/', '169.254.169.254 is not one of the registration\'s hosts (127.0.0.1)'],
    ['another host', 'http://internal.example/ags/lineitems', 'http://internal.example/nrps', "internal.example is not one of the registration's hosts (127.0.0.1)"],
    ['the same server under another name', 'LOCALHOST/ags/lineitems', 'LOCALHOST/nrps', "localhost is not one of the registration's hosts (127.0.0.1)"],
    ['a file: URL', 'file:///etc/passwd', 'file:///etc/shadow', 'only http and https URLs are fetched, not file:'],
  ] as const) {
    it(`refuses ${name}: no token asked for, nothing fetched, no grade data written, and the teacher is told why`, async () => {
      const port = new URL(lms.origin).port;
      const fix = (u: string) => u.replace('LOCALHOST', `http://localhost:${port}`);
      const tokensBefore = (await countWrites(t))['ltijs.accesstokens'];
      lms.clearRequests();
      const { html, courseId } = await launchAndSync(`ssrf-${name.replace(/\W+/g, '-')}`, fix(lineitems), fix(memberships));
      const fetched = lms.requests.map((r) => `${r.method} ${r.path}`).filter((r) => !r.startsWith('GET /auth') && !r.startsWith('GET /jwks'));
      expect(fetched, 'requests after the launch').to.deep.equal([]);
      expect((await countWrites(t))['ltijs.accesstokens']).to.equal(tokensBefore);
      expect(await gradeData(courseId)).to.deep.equal([0, 0, 0]);
      expect(html).to.include('The tool refused to fetch').and.include(message);
    });
  }

  it('checks every redirect target: follows one to its own host, refuses one to the metadata address', async () => {
    const own = lms.serviceUrl(`/redirect?to=${encodeURIComponent(lms.serviceUrl('/ags/moved'))}`);
    const metadata = lms.serviceUrl(`/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`);
    lms.clearRequests();
    const { html, courseId } = await launchAndSync('ssrf-redirect', own, metadata);
    const paths = lms.requests.map((r) => r.path);
    expect(paths).to.include('/ags/moved');
    expect(html).to.include('The tool refused to fetch the service URL http://169.254.169.254/latest/meta-data/');
    expect(await gradeData(courseId)).to.deep.equal([0, 0, 0]);
  });
});

describe("Launch: the platform's keyset is fetched only on the registration's hosts", function () {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  it('refuses a launch whose registered keyset URL is the metadata address, writing nothing', async () => {
    const p = await startAttackerPlatform();
    try {
      await t.app.lti.registerPlatform(
        { issuer: p.issuer, clientId: 'ssrf-jwks-1', name: 'Metadata keyset', authUrl: p.authUrl, tokenUrl: p.tokenUrl, jwksUrl: 'http://169.254.169.254/latest/meta-data/' },
        { active: true },
      );
      const before = await countWrites(t);
      const page = await p.launch(t.app.toolUrls, { clientId: 'ssrf-jwks-1' });
      expect(page.status).to.equal(401);
      expect(text(page.html)).to.include("The tool refused to fetch the platform's keyset URL http://169.254.169.254/latest/meta-data/");
      expect(await countWrites(t)).to.deep.equal(before);
    } finally {
      await p.close();
    }
  });

  it("refuses a loopback keyset for a registration that is not on loopback, fetching nothing", async () => {
    const p = await startAttackerPlatform({ issuer: 'https://lms.example' });
    try {
      await t.app.lti.registerPlatform(
        { issuer: p.issuer, clientId: 'ssrf-jwks-2', name: 'Loopback keyset', authUrl: p.authUrl, tokenUrl: 'https://lms.example/token', jwksUrl: p.jwksUrl() },
        { active: true },
      );
      p.clearRequests();
      const page = await p.launch(t.app.toolUrls, { clientId: 'ssrf-jwks-2' });
      expect(page.status).to.equal(401);
      expect(text(page.html)).to.include('is this machine (loopback)');
      expect(p.requests.map((r) => r.path)).to.deep.equal(['/auth']);
    } finally {
      await p.close();
    }
  });

  it('follows a keyset redirect on its own host and launches (the control)', async () => {
    const p = await startAttackerPlatform();
    try {
      await t.app.lti.registerPlatform(
        { issuer: p.issuer, clientId: 'ssrf-jwks-3', name: 'Moved keyset', authUrl: p.authUrl, tokenUrl: p.tokenUrl, jwksUrl: p.serviceUrl(`/redirect?to=${encodeURIComponent(p.jwksUrl())}`) },
        { active: true },
      );
      const page = await p.launch(t.app.toolUrls, { clientId: 'ssrf-jwks-3' });
      expect(page.status, text(page.html).slice(0, 300)).to.equal(200);
    } finally {
      await p.close();
    }
  });
});

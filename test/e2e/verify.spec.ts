import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import type { Types } from 'mongoose';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { issueModel, type IssueDoc } from '../../src/certificates/issue.model';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { errorHandler } from '../../src/web/middleware/error-handler';
import { verifyRouter } from '../../src/web/verify.routes';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';
import { TEACHER, defineCertificate, issueFor, launchAs, pdfText, sandboxCourse, syncGrades, toolCourse } from '../support/e2e';

const FULL = [10, 10, 10, 10];

/** Each test speaks from its own client address, so the per-IP rate limit of one never trips another. */
let nextIp = 1;
function clientIp(): string {
  const n = nextIp++;
  return `198.51.100.${n}`;
}

describe('The verification page (R2)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let courseId: Types.ObjectId;
  let publicDef: DefinitionDoc;
  let privateDef: DefinitionDoc;
  let learners: Array<{ userId: string; name: string }>;

  before(async () => {
    t = await startTestApp();
    const c = sandboxCourse(t, { scores: Array.from({ length: 10 }, () => FULL), title: 'Elvish for Beginners' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    publicDef = await defineCertificate(t, courseId, { public: true, title: 'Elvish Certificate', template: { showScore: true } });
    privateDef = await defineCertificate(t, courseId, { public: false, title: 'Private Certificate' });
    learners = c.learnerIds.map((id) => {
      const u = t.sandbox.store.getUser(id)!;
      return { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name };
    });
  });

  async function get(path: string, headers: Record<string, string> = {}) {
    return fetch(`${t.baseUrl}${path}`, { headers: { 'x-forwarded-for': clientIp(), ...headers }, redirect: 'manual' });
  }

  describe('a public certificate', () => {
    let valid: IssueDoc;
    before(async () => {
      valid = await issueFor(t, courseId, publicDef, learners[0]!);
    });

    it('shows the name, course, dates, issuer, score and the PDF link', async () => {
      const res = await get(`/verify/${valid.code}`);
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.include('data-status="valid"');
      expect(html).to.include(valid.learnerName);
      expect(html).to.include('Elvish for Beginners');
      expect(html).to.include('University of Rivendell');
      expect(html).to.include('100%');
      expect(html).to.include(`/verify/${valid.code}.pdf`);
    });

    it('answers machines in JSON', async () => {
      const res = await get(`/verify/${valid.code}.json`);
      expect(res.status).to.equal(200);
      const body = await res.json();
      expect(body).to.deep.include({ code: valid.code, status: 'valid', valid: true, public: true });
      expect(body.certificate).to.deep.include({ learnerName: valid.learnerName, courseTitle: 'Elvish for Beginners', issuerName: 'University of Rivendell', scorePercent: 100 });
      expect(body.pdfUrl).to.equal(`${t.baseUrl}/verify/${valid.code}.pdf`);
    });

    it('accepts the code however it is typed (lower case, spaces, no dashes)', async () => {
      const typed = valid.code.toLowerCase().replace(/-/g, ' ');
      const res = await get(`/verify?code=${encodeURIComponent(typed)}`);
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal(`/verify/${valid.code}`);
    });

    it('serves its PDF', async () => {
      const res = await get(`/verify/${valid.code}.pdf`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/pdf');
      expect(pdfText(Buffer.from(await res.arrayBuffer()))).to.include(valid.code);
    });
  });

  it('says when a certificate has expired', async () => {
    const c = await issueFor(t, courseId, publicDef, learners[1]!);
    await issueModel(t.db.connection).updateOne({ _id: c._id }, { $set: { expiresAt: new Date(Date.now() - 86_400_000) } });
    const body = await (await get(`/verify/${c.code}.json`)).json();
    expect(body).to.deep.include({ status: 'expired', valid: false });
    const html = await (await get(`/verify/${c.code}`)).text();
    expect(html).to.include('data-status="expired"');
    expect(html).to.include('it has expired');
  });

  it('says when a certificate was revoked, with the date, and offers no PDF', async () => {
    const c = await issueFor(t, courseId, publicDef, learners[2]!);
    await revokeCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date('2025-06-01T12:00:00Z') });
    const body = await (await get(`/verify/${c.code}.json`)).json();
    expect(body).to.deep.include({ status: 'revoked', valid: false, revokedAt: '2025-06-01T12:00:00.000Z' });
    expect(body).not.to.have.property('pdfUrl');
    const html = await (await get(`/verify/${c.code}`)).text();
    expect(html).to.include('Withdrawn on 1 June 2025');
    expect((await get(`/verify/${c.code}.pdf`)).status).to.equal(404);
  });

  it('leads from a superseded certificate to the newer version', async () => {
    const old = await issueFor(t, courseId, publicDef, learners[3]!);
    const { certificate: newer } = await reissueCertificate(t.db.connection, { courseId, issueId: old._id, by: TEACHER, now: () => new Date(), random: randomBytes });
    const body = await (await get(`/verify/${old.code}.json`)).json();
    expect(body).to.deep.include({ status: 'superseded', valid: false });
    expect(body.newerVersion).to.deep.equal({ code: newer.code, status: 'valid', verifyUrl: `${t.baseUrl}/verify/${newer.code}` });
    const html = await (await get(`/verify/${old.code}`)).text();
    expect(html).to.include('data-status="superseded"');
    expect(html).to.include(`href="${t.baseUrl}/verify/${newer.code}"`);
  });

  it('shows only the status, no personal data and no PDF, when the course keeps certificates private', async () => {
    const c = await issueFor(t, courseId, privateDef, learners[4]!);
    const body = await (await get(`/verify/${c.code}.json`)).json();
    expect(body).to.deep.equal({ code: c.code, status: 'valid', valid: true, public: false, verifyUrl: `${t.baseUrl}/verify/${c.code}` });
    const html = await (await get(`/verify/${c.code}`)).text();
    expect(html).to.include('data-status="valid"');
    expect(html).not.to.include(c.learnerName);
    expect(html).not.to.include('Elvish for Beginners');
    expect((await get(`/verify/${c.code}.pdf`)).status).to.equal(404);
  });

  it('shows only the status when the administrator switched public certificates off', async () => {
    const c = await issueFor(t, courseId, publicDef, learners[5]!);
    // The shared app has PUBLIC_CERTIFICATES=true: this is the same router with the switch off.
    const app = express();
    app.use(verifyRouter({ ...t.app.ctx, config: { ...t.config, publicCertificates: false } }));
    app.use(errorHandler(t.app.ctx.views));
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body = await (await fetch(`${base}/verify/${c.code}.json`)).json();
      expect(body).to.deep.equal({ code: c.code, status: 'valid', valid: true, public: false, verifyUrl: `${t.baseUrl}/verify/${c.code}` });
      const html = await (await fetch(`${base}/verify/${c.code}`)).text();
      expect(html).not.to.include(c.learnerName);
      expect((await fetch(`${base}/verify/${c.code}.pdf`)).status).to.equal(404);
    } finally {
      server.close();
    }
  });

  describe('an unknown code', () => {
    it('answers 404 JSON, the same for an unknown, a near-miss and a malformed code', async () => {
      const known = await issueFor(t, courseId, publicDef, learners[6]!);
      const last = known.code.slice(-1);
      const nearMiss = known.code.slice(0, -1) + (last === '0' ? '1' : '0');
      const bodies: unknown[] = [];
      for (const code of ['ZZZZ-ZZZZ-ZZZZ-ZZZZ', nearMiss, 'not-a-code', 'UUUU-UUUU-UUUU-UUUU']) {
        const res = await get(`/verify/${encodeURIComponent(code)}.json`);
        expect(res.status, code).to.equal(404);
        bodies.push(await res.json());
      }
      expect(bodies.every((b) => JSON.stringify(b) === JSON.stringify(bodies[0]))).to.equal(true);
      expect(bodies[0]).to.deep.equal({ error: { code: 'not_found', message: 'No certificate has this code. Check that you typed it exactly as printed on the certificate.', details: { what: 'certificate' } } });
      const page = await get(`/verify/${nearMiss}`);
      expect(page.status).to.equal(404);
      expect(await page.text()).to.include('No certificate found');
    });

    it('takes as long to answer as a known code', async () => {
      const known = await issueFor(t, courseId, publicDef, learners[7]!);
      const time = async (code: string) => {
        const started = performance.now();
        await (await get(`/verify/${code}.json`)).arrayBuffer();
        return performance.now() - started;
      };
      const median = async (code: string) => {
        const runs: number[] = [];
        for (let i = 0; i < 5; i++) runs.push(await time(code));
        return runs.sort((a, b) => a - b)[2]!;
      };
      const knownMs = await median(known.code);
      const unknownMs = await median('ZZZZ-ZZZZ-ZZZZ-ZZZ1');
      const malformedMs = await median('nonsense');
      // The floor (120 ms) dominates both; what is left is noise, not a signal.
      for (const ms of [knownMs, unknownMs, malformedMs]) expect(ms).to.be.at.least(115);
      expect(Math.abs(knownMs - unknownMs)).to.be.below(40);
      expect(Math.abs(knownMs - malformedMs)).to.be.below(40);
    });
  });

  it('limits each client to 30 lookups a minute (429 JSON with a clear message)', async () => {
    const ip = '203.0.113.77';
    const statuses = await Promise.all(
      Array.from({ length: 31 }, () => fetch(`${t.baseUrl}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ.json`, { headers: { 'x-forwarded-for': ip } }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 404)).to.have.length(30);
    expect(statuses.filter((s) => s === 429)).to.have.length(1);
    const res = await fetch(`${t.baseUrl}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ.json`, { headers: { 'x-forwarded-for': ip } });
    expect(res.status).to.equal(429);
    const body = await res.json();
    expect(body.error.code).to.equal('rate_limited');
    expect(body.error.message).to.match(/Too many checks .* Wait a minute/);
    expect(res.headers.get('ratelimit-policy') ?? res.headers.get('ratelimit')).to.be.a('string');
    // another client is not affected
    expect((await get('/verify')).status).to.equal(200);
  });

  it('opens in a real browser: typing a code shows the certificate', async () => {
    const c = await issueFor(t, courseId, publicDef, learners[8]!);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setExtraHTTPHeaders({ 'x-forwarded-for': clientIp() });
      await page.goto(`${t.baseUrl}/verify`);
      await page.type('#code', c.code.toLowerCase());
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      expect(new URL(page.url()).pathname).to.equal(`/verify/${c.code}`);
      const text = await page.$eval('main', (m) => m.textContent ?? '');
      expect(text).to.include(c.learnerName);
      expect(text).to.include('This certificate is real and valid.');
    } finally {
      await browser.close();
    }
  });
});

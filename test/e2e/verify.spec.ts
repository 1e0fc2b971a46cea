/**
 * The public verification page (R2), route by route: `/verify` (type a code), `/verify/:code`
 * (people), `/verify/:code.json` (machines), `/verify/:code.pdf` (the certificate, when public).
 * Pages are read as parsed HTML (test/support/html.ts).
 */
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
import { attr, facts, form, maybe, one, parseHtml, text, type HTMLElement } from '../support/html';

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
  let nextLearner = 0;
  /** A certificate for a learner no other test uses. */
  const issue = (definition: DefinitionDoc) => issueFor(t, courseId, definition, learners[nextLearner++]!);

  before(async () => {
    t = await startTestApp();
    const c = sandboxCourse(t, { scores: Array.from({ length: 24 }, () => FULL), title: 'Elvish for Beginners' });
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
  async function page(path: string): Promise<{ status: number; doc: HTMLElement }> {
    const res = await get(path);
    return { status: res.status, doc: parseHtml(await res.text()) };
  }
  async function json(path: string) {
    const res = await get(path);
    return { status: res.status, body: await res.json() };
  }
  /** The result card of a verification page. */
  const resultOf = (doc: HTMLElement) => one(doc, 'section[data-result]');

  describe('GET /verify', () => {
    it('shows the form to type a code', async () => {
      const { status, doc } = await page('/verify');
      expect(status).to.equal(200);
      expect(form(doc, 'form[action="/verify"]')).to.deep.include({ method: 'get', fields: { code: '' } });
      expect(maybe(doc, 'section[data-result]')).to.equal(null);
    });

    it('sends a typed code to its page, however it is typed (lower case, spaces, no dashes)', async () => {
      const valid = await issue(publicDef);
      const typed = valid.code.toLowerCase().replace(/-/g, ' ');
      const res = await get(`/verify?code=${encodeURIComponent(typed)}`);
      expect(res.status).to.equal(303);
      expect(res.headers.get('location')).to.equal(`/verify/${valid.code}`);
    });
  });

  describe('GET /verify/:code', () => {
    let valid: IssueDoc;
    before(async () => {
      valid = await issue(publicDef);
    });

    it('shows a public certificate: valid, with name, course, issuer, score and the PDF link', async () => {
      const { status, doc } = await page(`/verify/${valid.code}`);
      expect(status).to.equal(200);
      const card = resultOf(doc);
      expect(attr(card, '[data-status]', 'data-status')).to.equal('valid');
      expect(facts(card)).to.deep.include({
        Certificate: 'Elvish Certificate',
        'Awarded to': valid.learnerName,
        Course: 'Elvish for Beginners',
        'Issued by': 'University of Rivendell',
        Score: '100%',
        'Verification code': valid.code,
      });
      expect(attr(card, 'a[data-pdf]', 'href')).to.equal(`${t.baseUrl}/verify/${valid.code}.pdf`);
    });

    it('says when a certificate has expired', async () => {
      const c = await issue(publicDef);
      await issueModel(t.db.connection).updateOne({ _id: c._id }, { $set: { expiresAt: new Date(Date.now() - 86_400_000) } });
      const card = resultOf((await page(`/verify/${c.code}`)).doc);
      expect(attr(card, '[data-status]', 'data-status')).to.equal('expired');
      expect(text(card, 'p.lead')).to.include('it has expired');
    });

    it('says when a certificate was withdrawn, with the date, and offers no PDF', async () => {
      const c = await issue(publicDef);
      await revokeCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date('2025-06-01T12:00:00Z') });
      const card = resultOf((await page(`/verify/${c.code}`)).doc);
      expect(attr(card, '[data-status]', 'data-status')).to.equal('revoked');
      expect(text(card, 'p.bad')).to.include('Withdrawn on 1 June 2025');
      expect(maybe(card, 'a[data-pdf]')).to.equal(null);
    });

    it('leads from a superseded certificate to the newer version', async () => {
      const old = await issue(publicDef);
      const { certificate: newer } = await reissueCertificate(t.db.connection, { courseId, issueId: old._id, by: TEACHER, now: () => new Date(), random: randomBytes });
      const card = resultOf((await page(`/verify/${old.code}`)).doc);
      expect(attr(card, '[data-status]', 'data-status')).to.equal('superseded');
      expect(attr(card, 'a[data-newer]', 'href')).to.equal(`${t.baseUrl}/verify/${newer.code}`);
      expect(text(card, 'a[data-newer]')).to.equal(newer.code);
    });

    it('confirms what and by whom but hides the holder\'s name when the course keeps certificates private and the holder has not chosen', async () => {
      const c = await issue(privateDef);
      const card = resultOf((await page(`/verify/${c.code}`)).doc);
      expect(attr(card, '[data-status]', 'data-status')).to.equal('valid');
      expect(card.getAttribute('data-name-shown')).to.equal('false');
      expect(text(card, '[data-title]')).to.equal('Private Certificate');
      expect(text(card, '[data-course]')).to.equal('Elvish for Beginners');
      expect(text(card, '[data-issuer]')).to.equal('University of Rivendell');
      expect(maybe(card, '[data-name-hidden]')).not.to.equal(null);
      expect(text(card)).not.to.include(c.learnerName);
      expect(maybe(card, 'a[data-pdf]')).to.equal(null);
      expect(maybe(card, 'a[data-credential]')).to.equal(null);
      expect(maybe(card, 'form[data-check-name]')).not.to.equal(null);
    });

    it('answers 404 with "No certificate found" for an unknown code, keeping what was typed in the form', async () => {
      const { status, doc } = await page('/verify/ZZZZ-ZZZZ-ZZZZ-ZZZ1');
      expect(status).to.equal(404);
      expect(text(doc, '[data-result="not-found"] h2')).to.equal('No certificate found');
      expect(form(doc, 'form[action="/verify"]').fields).to.deep.equal({ code: 'ZZZZ-ZZZZ-ZZZZ-ZZZ1' });
    });
  });

  describe('GET /verify/:code.json', () => {
    it('answers machines: status, details and the PDF link of a public certificate', async () => {
      const valid = await issue(publicDef);
      const { status, body } = await json(`/verify/${valid.code}.json`);
      expect(status).to.equal(200);
      expect(body).to.deep.include({ code: valid.code, status: 'valid', valid: true, public: true });
      expect(body.certificate).to.deep.include({ learnerName: valid.learnerName, courseTitle: 'Elvish for Beginners', issuerName: 'University of Rivendell', scorePercent: 100 });
      expect(body.pdfUrl).to.equal(`${t.baseUrl}/verify/${valid.code}.pdf`);
    });

    it('says expired, not valid, for an expired certificate', async () => {
      const c = await issue(publicDef);
      await issueModel(t.db.connection).updateOne({ _id: c._id }, { $set: { expiresAt: new Date(Date.now() - 86_400_000) } });
      expect((await json(`/verify/${c.code}.json`)).body).to.deep.include({ status: 'expired', valid: false });
    });

    it('says revoked with the date, and gives no PDF link', async () => {
      const c = await issue(publicDef);
      await revokeCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date('2025-06-01T12:00:00Z') });
      const { body } = await json(`/verify/${c.code}.json`);
      expect(body).to.deep.include({ status: 'revoked', valid: false, revokedAt: '2025-06-01T12:00:00.000Z' });
      expect(body).not.to.have.property('pdfUrl');
    });

    it('names the newer version of a superseded certificate', async () => {
      const old = await issue(publicDef);
      const { certificate: newer } = await reissueCertificate(t.db.connection, { courseId, issueId: old._id, by: TEACHER, now: () => new Date(), random: randomBytes });
      const { body } = await json(`/verify/${old.code}.json`);
      expect(body).to.deep.include({ status: 'superseded', valid: false });
      expect(body.newerVersion).to.deep.equal({ code: newer.code, status: 'valid', verifyUrl: `${t.baseUrl}/verify/${newer.code}` });
    });

    it('gives what and by whom of a private certificate, without the holder\'s name', async () => {
      const c = await issue(privateDef);
      const { body } = await json(`/verify/${c.code}.json`);
      expect(body).to.deep.include({ code: c.code, status: 'valid', valid: true, public: false, nameShown: false, verifyUrl: `${t.baseUrl}/verify/${c.code}` });
      expect(body.certificate).to.deep.include({ title: 'Private Certificate', courseTitle: 'Elvish for Beginners', issuerName: 'University of Rivendell' });
      expect(body.certificate).not.to.have.property('learnerName');
      expect(body).not.to.have.property('pdfUrl');
      expect(body).not.to.have.property('credentialUrl');
    });

    it('answers the same 404 for an unknown and a near-miss code, and 400 "not a verification code" for a malformed one', async () => {
      const known = await issue(publicDef);
      const last = known.code.slice(-1);
      const nearMiss = known.code.slice(0, -1) + (last === '0' ? '1' : '0');
      const bodies: unknown[] = [];
      for (const code of ['ZZZZ-ZZZZ-ZZZZ-ZZZZ', nearMiss]) {
        const res = await json(`/verify/${encodeURIComponent(code)}.json`);
        expect(res.status, code).to.equal(404);
        bodies.push(res.body);
      }
      expect(bodies[1]).to.deep.equal(bodies[0]);
      expect(bodies[0]).to.deep.equal({ error: { code: 'not_found', message: 'No certificate has this code. Check that you typed it exactly as printed on the certificate.', details: { what: 'certificate' } } });
      for (const code of ['not-a-code', 'UUUU-UUUU-UUUU-UUUU']) {
        const res = await json(`/verify/${encodeURIComponent(code)}.json`);
        expect(res.status, code).to.equal(400);
        expect((res.body as { error: { code: string; message: string } }).error).to.deep.include({ code: 'validation_error' });
        expect((res.body as { error: { message: string } }).error.message).to.match(/^A verification code has 16 letters and digits/);
      }
    });

    it('takes as long to answer an unknown code as a known one', async () => {
      const known = await issue(publicDef);
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
      // The floor (120 ms) dominates both; what is left is noise, not a signal.
      for (const ms of [knownMs, unknownMs]) expect(ms).to.be.at.least(115);
      expect(Math.abs(knownMs - unknownMs)).to.be.below(40);
    });
  });

  describe('GET /verify/:code.pdf', () => {
    it('serves the PDF of a public certificate', async () => {
      const valid = await issue(publicDef);
      const res = await get(`/verify/${valid.code}.pdf`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/pdf');
      expect(pdfText(Buffer.from(await res.arrayBuffer()))).to.include(valid.code);
    });

    it('is not found for a withdrawn certificate', async () => {
      const c = await issue(publicDef);
      await revokeCertificate(t.db.connection, { courseId, issueId: c._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date() });
      expect((await get(`/verify/${c.code}.pdf`)).status).to.equal(404);
    });

    it('is not found for a private certificate', async () => {
      const c = await issue(privateDef);
      expect((await get(`/verify/${c.code}.pdf`)).status).to.equal(404);
    });
  });

  describe('with public certificates switched off by the administrator', () => {
    let base: string;
    let server: Server;
    before(async () => {
      // The shared app has PUBLIC_CERTIFICATES=true: this is the same router with the switch off.
      const app = express();
      app.use(verifyRouter({ ...t.app.ctx, config: { ...t.config, publicCertificates: false } }));
      app.use(errorHandler(t.app.ctx.views));
      server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => void server.close());

    it('hides the holder\'s name of a certificate the course made public (unless the holder shows it), on the page, in JSON and without a PDF', async () => {
      const c = await issue(publicDef);
      const body = await (await fetch(`${base}/verify/${c.code}.json`)).json();
      expect(body).to.deep.include({ code: c.code, status: 'valid', valid: true, public: false, nameShown: false });
      expect(body.certificate).not.to.have.property('learnerName');
      const card = resultOf(parseHtml(await (await fetch(`${base}/verify/${c.code}`)).text()));
      expect(maybe(card, '[data-name-hidden]')).not.to.equal(null);
      expect(text(card)).not.to.include(c.learnerName);
      expect(text(card, '[data-title]')).to.equal('Elvish Certificate');
      expect((await fetch(`${base}/verify/${c.code}.pdf`)).status).to.equal(404);
    });
  });

  describe('rate limit', () => {
    it('allows each client 30 lookups a minute, then answers 429 JSON with a clear message', async () => {
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
    });

    it('does not hold one client\'s lookups against another', async () => {
      const ip = '203.0.113.78';
      await Promise.all(Array.from({ length: 31 }, () => fetch(`${t.baseUrl}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ.json`, { headers: { 'x-forwarded-for': ip } })));
      expect((await get('/verify')).status).to.equal(200);
    });
  });

  describe('journey: someone checks a printed certificate in a real browser', () => {
    it('types the code in lower case, submits, and reads that the certificate is real, with the name on it', async () => {
      const c = await issue(publicDef);
      const browser = await launchChromium();
      try {
        const p = await browser.newPage();
        await p.setExtraHTTPHeaders({ 'x-forwarded-for': clientIp() });
        await p.goto(`${t.baseUrl}/verify`);
        await p.type('#code', c.code.toLowerCase());
        await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
        expect(new URL(p.url()).pathname).to.equal(`/verify/${c.code}`);
        const shown = await p.$eval('main', (m) => m.textContent ?? '');
        expect(shown).to.include(c.learnerName);
        expect(shown).to.include('This certificate is real and valid.');
      } finally {
        await browser.close();
      }
    });
  });
});

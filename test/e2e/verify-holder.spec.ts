/**
 * The holder's side of #12: the name choice (asked at claim, changed on the certificate page),
 * "check a name" on the verification page, and the signed credential the learner downloads as
 * JSON and as a baked PNG, with an "Add to LinkedIn profile" link.
 */
import { expect } from 'chai';
import type { Types } from 'mongoose';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { issueModel } from '../../src/certificates/issue.model';
import { unbake } from '../../src/credentials';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, launchAs, sandboxCourse, syncGrades, toolCourse, type Launched } from '../support/e2e';
import { attr, maybe, one, parseHtml, text } from '../support/html';
import { schemaErrors, verifyIndependently } from '../credentials/independent-verifier';

const FULL = [10, 10, 10, 10];
let nextIp = 1;
const ip = () => `198.51.101.${nextIp++}`;

describe('The holder, their name and their signed credential (#12)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let c: ReturnType<typeof sandboxCourse>;
  let courseId: Types.ObjectId;
  let publicDef: DefinitionDoc;
  let privateDef: DefinitionDoc;
  let next = 0;

  before(async () => {
    t = await startTestApp();
    c = sandboxCourse(t, { scores: Array.from({ length: 12 }, () => FULL), title: 'Hobbit Studies' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    publicDef = await defineCertificate(t, courseId, { public: true, title: 'Hobbit Certificate', template: { showScore: true } });
    privateDef = await defineCertificate(t, courseId, { public: false, title: 'Quiet Certificate' });
  });

  /** A learner no other test uses, launched, who claims `definition` answering the name question. */
  async function claim(definition: DefinitionDoc, showName: boolean | 'not asked') {
    const learner = await launchAs(t, c.course.id, c.learnerIds[next++]!);
    const form: Record<string, string> = { definitionId: String(definition._id) };
    if (showName !== 'not asked') form.showNameAsked = '1';
    if (showName === true) form.showName = 'on';
    const res = await learner.browser.request(`${learner.app}/learner/claim`, { form });
    expect(res.status).to.equal(303);
    const certificatePath = res.headers.get('location')!;
    const issue = (await issueModel(t.db.connection).findOne({ definitionId: definition._id }).sort({ issuedAt: -1 }).lean())!;
    return { learner, certificateUrl: `${t.baseUrl}${certificatePath}`, issue };
  }

  const verifyPage = async (code: string) => parseHtml(await (await fetch(`${t.baseUrl}/verify/${code}`, { headers: { 'x-forwarded-for': ip() } })).text());

  describe('POST /learner/claim with the name question', () => {
    it('offers the question on the claim form, checked when the administrator and the course make certificates public', async () => {
      const learner = await launchAs(t, c.course.id, c.learnerIds[next++]!);
      const doc = parseHtml((await learner.browser.open(`${learner.app}/learner`)).html);
      const pub = one(doc, `section[data-definition-id="${String(publicDef._id)}"]`);
      const priv = one(doc, `section[data-definition-id="${String(privateDef._id)}"]`);
      expect(maybe(pub, 'input[data-show-name][checked]')).not.to.equal(null);
      expect(maybe(priv, 'input[data-show-name]')).not.to.equal(null);
      expect(maybe(priv, 'input[data-show-name][checked]')).to.equal(null);
      expect(text(pub, 'label')).to.equal('Show my name to people who verify this certificate');
    });

    it('hides the name on the verification page when the learner unticks it, even on a public certificate', async () => {
      const { issue } = await claim(publicDef, false);
      const card = one(await verifyPage(issue.code), '[data-result]');
      expect(card.getAttribute('data-name-shown')).to.equal('false');
      expect(text(card)).not.to.include(issue.learnerName);
      expect(maybe(card, 'a[data-pdf]')).to.equal(null);
      expect((await fetch(`${t.baseUrl}/credentials/${issue.code}`)).status).to.equal(404);
    });

    it('shows the name when the learner ticks it, even when the course keeps certificates private (no PDF then)', async () => {
      const { issue } = await claim(privateDef, true);
      const card = one(await verifyPage(issue.code), '[data-result]');
      expect(text(card, '[data-learner]')).to.equal(issue.learnerName);
      expect(maybe(card, 'a[data-pdf]')).to.equal(null);
      expect(attr(card, 'a[data-credential]', 'href')).to.equal(`${t.baseUrl}/credentials/${issue.code}`);
      const res = await fetch(`${t.baseUrl}/credentials/${issue.code}`);
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { credentialSubject: { name: string } }).credentialSubject.name).to.equal(issue.learnerName);
    });

    it('follows the administrator\'s switch while the learner has not been asked', async () => {
      const { issue } = await claim(publicDef, 'not asked');
      expect(text(one(await verifyPage(issue.code), '[data-result]'), '[data-learner]')).to.equal(issue.learnerName);
    });
  });

  describe('POST /certificates/:id/name-choice', () => {
    it('lets the learner change their mind later, on the certificate page', async () => {
      const { learner, certificateUrl, issue } = await claim(publicDef, true);
      const page = parseHtml((await learner.browser.open(certificateUrl)).html);
      expect(maybe(page, 'form[data-name-choice] input[data-show-name][checked]')).not.to.equal(null);
      const action = attr(page, 'form[data-name-choice]', 'action')!;
      const res = await learner.browser.request(`${t.baseUrl}${action}`, { form: {} });
      expect(res.status).to.equal(303);
      expect(text(one(await verifyPage(issue.code), '[data-result]'))).not.to.include(issue.learnerName);
      const again = parseHtml((await learner.browser.open(certificateUrl)).html);
      expect(maybe(again, 'form[data-name-choice] input[data-show-name][checked]')).to.equal(null);
      expect(text(again, 'form[data-name-choice] .muted')).to.match(/^Your name is hidden/);
    });

    it('refuses a teacher (only the holder decides), writing nothing', async () => {
      const { issue } = await claim(publicDef, true);
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      const res = await teacher.browser.request(`${teacher.app}/certificates/${String(issue._id)}/name-choice`, { form: {} });
      expect(res.status).to.equal(403);
      expect(text(one(await verifyPage(issue.code), '[data-result]'), '[data-learner]')).to.equal(issue.learnerName);
    });
  });

  describe('POST /verify/:code/name ("check a name")', () => {
    async function check(code: string, name: string, from = ip()) {
      const res = await fetch(`${t.baseUrl}/verify/${code}/name`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': from }, body: new URLSearchParams({ name }) });
      return { status: res.status, doc: parseHtml(await res.text()) };
    }

    it('says yes for the holder\'s name however it is typed (case, accents, spaces), no for another', async () => {
      const { issue } = await claim(privateDef, false);
      await issueModel(t.db.connection).updateOne({ _id: issue._id }, { $set: { learnerName: 'José García-Núñez' } });
      for (const typed of ['jose garcia nunez', '  JOSÉ   GARCÍA NÚÑEZ ', 'Jose\u0301 Garci\u0301a-Nu\u0301n\u0303ez']) {
        const { status, doc } = await check(issue.code, typed);
        expect(status, typed).to.equal(200);
        expect(attr(doc, '[data-name-check]', 'data-name-check'), typed).to.equal('yes');
        expect(text(doc, '[data-learner]')).not.to.include('José');
      }
      const { doc } = await check(issue.code, 'Jose Garcia');
      expect(attr(doc, '[data-name-check]', 'data-name-check')).to.equal('no');
      expect(text(doc, '[data-name-check]')).to.equal('No: this certificate was not issued to “Jose Garcia”.');
    });

    it('allows a client 10 checks in 15 minutes, then answers 429', async () => {
      const { issue } = await claim(privateDef, false);
      const from = ip();
      for (let i = 0; i < 10; i++) expect((await check(issue.code, `guess ${i}`, from)).status).to.equal(200);
      const { status, doc } = await check(issue.code, issue.learnerName, from);
      expect(status).to.equal(429);
      expect(text(doc)).to.include('Too many name checks from your address');
      expect((await check(issue.code, issue.learnerName)).status).to.equal(200);
    });

    it('refuses an empty name with 400', async () => {
      const { issue } = await claim(privateDef, false);
      expect((await check(issue.code, '   ')).status).to.equal(400);
    });
  });

  describe('GET /certificates/:id/credential.json and badge.png', () => {
    async function panel(l: Launched, url: string) {
      return one(parseHtml((await l.browser.open(url)).html), '[data-credential-panel]');
    }

    it('downloads a signed credential that an independent verifier accepts, and the same one baked into the badge', async () => {
      const { learner, certificateUrl, issue } = await claim(publicDef, true);
      const p = await panel(learner, certificateUrl);
      const jsonRes = await learner.browser.request(`${t.baseUrl}${attr(p, 'a[data-credential-json]', 'href')}`);
      expect(jsonRes.status).to.equal(200);
      expect(jsonRes.headers.get('content-disposition')).to.match(/^attachment; filename="?Hobbit-Certificate-/);
      const json = await jsonRes.text();
      const credential = JSON.parse(json) as Record<string, unknown>;
      expect(schemaErrors(credential)).to.deep.equal([]);
      const r = await verifyIndependently(credential);
      expect(r.errors).to.deep.equal([]);
      expect(r.signature).to.equal(true);
      const png = Buffer.from(await (await learner.browser.request(`${t.baseUrl}${attr(p, 'a[data-credential-png]', 'href')}`)).arrayBuffer());
      expect(png.subarray(1, 4).toString()).to.equal('PNG');
      expect(unbake(png)).to.equal(json);
      expect(issue.code).to.be.a('string');
    });

    it('fills the "Add to LinkedIn profile" link with the name, issuer, issue month, credential id and URL', async () => {
      const { learner, certificateUrl, issue } = await claim(publicDef, true);
      const href = attr(await panel(learner, certificateUrl), 'a[data-linkedin]', 'href')!;
      const u = new URL(href);
      expect(u.origin + u.pathname).to.equal('https://www.linkedin.com/profile/add');
      expect(Object.fromEntries(u.searchParams)).to.deep.equal({
        startTask: 'CERTIFICATION_NAME',
        name: 'Hobbit Certificate',
        organizationName: 'University of Rivendell',
        issueYear: String(issue.issuedAt.getUTCFullYear()),
        issueMonth: String(issue.issuedAt.getUTCMonth() + 1),
        certUrl: `${t.baseUrl}/verify/${issue.code}`,
        certId: issue.code,
      });
    });

    it('hands out no credential for a revoked certificate (409)', async () => {
      const { learner, issue } = await claim(publicDef, true);
      await issueModel(t.db.connection).updateOne({ _id: issue._id }, { $set: { status: 'revoked', revokedAt: new Date() }, $unset: { activeKey: 1 } });
      expect((await learner.browser.request(`${learner.app}/certificates/${String(issue._id)}/credential.json`)).status).to.equal(409);
    });
  });
});

/**
 * A learner's data (#14): the learner downloads it from their page, the administrator exports or
 * erases it on /admin/privacy. Erasure keeps what a verification needs (code, status, dates), so a
 * printed certificate still verifies, and removes or pseudonymises the rest, audit log included.
 * And a definition switched to public never exposes the certificates issued while it was private.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection, Types } from 'mongoose';
import { auditModel } from '../../src/certificates/audit.model';
import { definitionModel, type DefinitionDoc } from '../../src/certificates/definition.model';
import { issueModel, type IssueDoc } from '../../src/certificates/issue.model';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { bucketOf } from '../../src/documents/gridfs';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { privacyRequestModel } from '../../src/privacy/privacy-request.model';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { TEACHER, defineCertificate, issueFor, launchAs, pdfText, sandboxCourse, syncGrades, toolCourse, type Launched } from '../support/e2e';
import { parseHtml } from '../support/html';

const FULL = [10, 10, 10, 10];

let ip = 0;
const clientIp = () => `192.0.2.${(ip++ % 250) + 1}`;

/** The files of a ZIP, by name. */
function unzip(body: Buffer): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'privacy-zip-'));
  writeFileSync(join(dir, 'data.zip'), body);
  execFileSync('python3', ['-m', 'zipfile', '-e', join(dir, 'data.zip'), join(dir, 'out')]);
  const files = new Map<string, Buffer>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, 'out', rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else files.set(p, readFileSync(join(dir, 'out', p)));
    }
  };
  walk('');
  return files;
}

describe("A learner's data: export and erasure (#14)", function () {
  this.timeout(90_000);
  let t: TestApp;
  let conn: Connection;
  let courseId: Types.ObjectId;
  let publicDef: DefinitionDoc;
  let otherDef: DefinitionDoc;
  let learners: Array<{ userId: string; name: string; sandboxId: string }>;
  let admin: HttpBrowser;
  let c: ReturnType<typeof sandboxCourse>;

  before(async () => {
    t = await startTestApp();
    conn = t.db.connection;
    c = sandboxCourse(t, { scores: Array.from({ length: 5 }, () => FULL), title: 'Dwarvish Runes' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    publicDef = await defineCertificate(t, courseId, { public: true, title: 'Rune Reader' });
    otherDef = await defineCertificate(t, courseId, { public: true, title: 'Rune Writer' });
    learners = c.learnerIds.map((id) => {
      const u = t.sandbox.store.getUser(id)!;
      return { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name, sandboxId: id };
    });
    admin = new HttpBrowser();
    const signedIn = await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    expect(signedIn.status).to.equal(303);
  });

  const verifyJson = async (code: string) => {
    const res = await fetch(`${t.baseUrl}/verify/${code}.json`, { headers: { 'x-forwarded-for': clientIp() } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, raw: '' };
  };

  describe('export', () => {
    let learner: Launched;
    let certs: IssueDoc[];
    before(async () => {
      const l = learners[0]!;
      certs = [await issueFor(t, courseId, publicDef, l), await issueFor(t, courseId, otherDef, l)];
      await issueFor(t, courseId, publicDef, learners[1]!);
      learner = await launchAs(t, c.course.id, l.sandboxId);
    });

    it('the learner downloads, from a link on their page, a ZIP with their data as JSON and each certificate as a PDF', async () => {
      const link = parseHtml(learner.page.html).querySelector('#my-data a');
      expect(link?.getAttribute('href')).to.equal(`/app/${learner.session}/learner/my-data.zip`);
      const res = await learner.browser.request(`${t.baseUrl}${link!.getAttribute('href')}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/zip');
      expect(res.headers.get('content-disposition')).to.match(/^attachment; filename="my-data_.+\.zip"$/);
      const files = unzip(Buffer.from(await res.arrayBuffer()));
      expect([...files.keys()].sort()).to.deep.equal(['certificates/' + certs[0]!.code + '.pdf', 'certificates/' + certs[1]!.code + '.pdf', 'my-data.json'].sort());
      const data = JSON.parse(files.get('my-data.json')!.toString('utf8'));
      expect(data.subject).to.deep.equal({ platform: t.sandbox.issuer, userId: learners[0]!.userId });
      expect(data.roster).to.have.length(1);
      expect(data.roster[0]).to.include({ name: learners[0]!.name, course: 'Dwarvish Runes' });
      expect(data.grades).to.have.length(4);
      expect(data.grades.map((g: { scoreGiven: number }) => g.scoreGiven)).to.deep.equal([10, 10, 10, 10]);
      expect(data.certificates.map((x: { code: string; status: string }) => [x.code, x.status])).to.deep.equal(certs.map((x) => [x.code, 'active']));
      expect(data.auditLog.filter((a: { action: string }) => a.action === 'certificate_issued')).to.have.length(2);
      for (const cert of certs) expect(pdfText(files.get(`certificates/${cert.code}.pdf`)!)).to.include(learners[0]!.name);
      // nobody else's data
      expect(files.get('my-data.json')!.toString('utf8')).not.to.include(learners[1]!.name).and.not.include(`"${learners[1]!.userId}"`);
      const log = await privacyRequestModel(conn).find({ kind: 'export' }).lean();
      expect(log.at(-1)).to.deep.include({ issuer: t.sandbox.issuer, by: { kind: 'learner' } });
      expect(JSON.stringify(log)).not.to.include(`"${learners[0]!.userId}"`);
    });

    it('is for learners only: a teacher launch gets 403, no session gets 401, and nothing is logged', async () => {
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      const before = await privacyRequestModel(conn).countDocuments();
      expect((await teacher.browser.request(`${teacher.app}/learner/my-data.zip`)).status).to.equal(403);
      expect((await fetch(`${t.baseUrl}/app/${'x'.repeat(43)}/learner/my-data.zip`)).status).to.equal(401);
      expect(await privacyRequestModel(conn).countDocuments()).to.equal(before);
    });

    it('the administrator exports any learner by platform and LMS user id', async () => {
      const res = await admin.request(`${t.baseUrl}/admin/privacy/export`, { form: { issuer: t.sandbox.issuer, userId: learners[1]!.userId } });
      expect(res.status).to.equal(200);
      const data = JSON.parse(unzip(Buffer.from(await res.arrayBuffer())).get('my-data.json')!.toString('utf8'));
      expect(data.certificates).to.have.length(1);
      expect(data.roster[0].name).to.equal(learners[1]!.name);
      const page = await admin.request(`${t.baseUrl}/admin/privacy`);
      expect(await page.text()).to.include('Privacy log').and.include('export');
    });

    it("includes the learner's certifications, proofs, mail address and name choices (#11, #12), and nobody else's", async () => {
      const me = learners[1]!;
      const other = learners[0]!;
      const issuer = t.sandbox.issuer;
      const now = new Date();
      const award = (userId: string, name: string, code: string) => ({ issuer, clientId: 'c', certificationId: courseId, userId, learnerName: name, name: 'Data Steward', code, status: 'active', version: 1, completedAt: now, issuedAt: now, expiresAt: null, basis: [{ courseTitle: 'Course A', via: 'certificate', completedAt: now }] });
      await conn.collection('certification_awards').insertMany([award(me.userId, me.name, 'PRIV-AAAA-AAAA-AAAA'), award(other.userId, other.name, 'PRIV-BBBB-BBBB-BBBB')]);
      await conn.collection('certification_proofs').insertOne({ issuer, clientId: 'c', certificationId: courseId, userId: me.userId, learnerName: me.name, contentType: 'application/pdf', size: 1234, completedAt: now, submittedAt: now, status: 'rejected', reason: 'blurred scan' });
      await conn.collection('credential_holder_choices').insertMany([{ _id: `certification:${String(courseId)}:${me.userId}`, showName: false, decidedAt: now }, { _id: `certification:${String(courseId)}:${other.userId}`, showName: true, decidedAt: now }] as never);
      const res = await admin.request(`${t.baseUrl}/admin/privacy/export`, { form: { issuer, userId: me.userId } });
      expect(res.status).to.equal(200);
      const data = JSON.parse(unzip(Buffer.from(await res.arrayBuffer())).get('my-data.json')!.toString('utf8'));
      expect(data.certifications.map((a: { code: string }) => a.code)).to.deep.equal(['PRIV-AAAA-AAAA-AAAA']);
      expect(data.certifications[0].basis).to.deep.equal([{ course: 'Course A', via: 'certificate', completedAt: now.toISOString() }]);
      expect(data.proofs).to.have.length(1);
      expect(data.proofs[0]).to.include({ status: 'rejected', reason: 'blurred scan', learnerName: me.name });
      expect(data.nameOnVerification).to.deep.equal([{ record: `certification:${String(courseId)}`, showName: false, decidedAt: now.toISOString() }]);
      expect(data.mail).to.have.property('messages');
      expect(JSON.stringify(data)).not.to.include(other.name);
    });
  });

  describe('erasure', () => {
    let victim: { userId: string; name: string; sandboxId: string };
    let kept: IssueDoc;
    let revoked: IssueDoc;
    let session: Launched;
    let bystander: IssueDoc;
    before(async () => {
      victim = learners[2]!;
      session = await launchAs(t, c.course.id, victim.sandboxId);
      kept = await issueFor(t, courseId, publicDef, victim);
      revoked = await issueFor(t, courseId, otherDef, victim);
      await revokeCertificate(conn, { courseId, issueId: revoked._id, by: TEACHER, reason: `asked by ${victim.name}`, now: () => new Date() });
      // its PDF is stored, as after a download
      const pdf = await session.browser.request(`${session.app}/certificates/${kept._id}.pdf`);
      expect(pdf.status).to.equal(200);
      await pdf.arrayBuffer();
      bystander = (await issueModel(conn).findOne({ courseId, userId: learners[1]!.userId }).lean<IssueDoc>())!;
      // its signed Open Badges credential (the name inside) exists, as after someone fetched it
      const credential = await fetch(`${t.baseUrl}/credentials/${kept.code}`, { headers: { 'x-forwarded-for': clientIp() } });
      expect(credential.status).to.equal(200);
      expect(await credential.text()).to.include(victim.name);
    });

    it('refuses without the administrator secret, and when the confirmation differs, erasing nothing', async () => {
      const stranger = await fetch(`${t.baseUrl}/admin/privacy/erase`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ issuer: t.sandbox.issuer, userId: victim.userId, confirm: victim.userId }).toString(),
      });
      expect(stranger.status).to.equal(401);
      const mismatch = await admin.request(`${t.baseUrl}/admin/privacy/erase`, { form: { issuer: t.sandbox.issuer, userId: victim.userId, confirm: 'someone-else' } });
      expect(mismatch.status).to.equal(422);
      expect(await mismatch.text()).to.include('Nothing was erased');
      const unknown = await admin.request(`${t.baseUrl}/admin/privacy/erase`, { form: { issuer: t.sandbox.issuer, userId: 'nobody-here', confirm: 'nobody-here' } });
      expect(unknown.status).to.equal(404);
      expect((await issueModel(conn).findById(kept._id).lean())?.learnerName).to.equal(victim.name);
      expect(await memberModel(conn).countDocuments({ courseId, userId: victim.userId })).to.equal(1);
    });

    it('keeps code, status and dates so that the certificate still verifies, and removes the person everywhere else', async () => {
      const auditBefore = await auditModel(conn).countDocuments({ courseId });
      const theirEntries = (await auditModel(conn).find({ courseId, userId: victim.userId }, { _id: 1 }).lean()).map((a) => a._id);
      expect(await conn.collection('audit_details').countDocuments({ _id: { $in: theirEntries } }), 'their audit entries have personal parts').to.be.greaterThan(1);
      const res = await admin.request(`${t.baseUrl}/admin/privacy/erase`, { form: { issuer: t.sandbox.issuer, userId: victim.userId, confirm: victim.userId } });
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.include('Erased.');

      const after = (await issueModel(conn).find({ _id: { $in: [kept._id, revoked._id] } }).lean<IssueDoc[]>()).sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime());
      expect(after.map((x) => [x.code, x.status, x.issuedAt.getTime()])).to.deep.equal([
        [kept.code, 'active', kept.issuedAt.getTime()],
        [revoked.code, 'revoked', revoked.issuedAt.getTime()],
      ]);
      for (const x of after) {
        expect(x.learnerName).to.not.equal(victim.name);
        expect(x.learnerEmail).to.equal(undefined);
        expect(x.userId).to.match(/^erased-/);
        expect(x.erasedAt).to.be.instanceOf(Date);
        expect(x.pdfFileId).to.equal(undefined);
      }
      expect(after[1]!.revokedReason, 'the free-text reason named them').to.equal('asked by —');
      expect(await bucketOf(conn, 'pdfs').find({ 'metadata.issueId': String(kept._id) }).toArray(), 'the stored PDF (with the name) is gone').to.have.length(0);
      expect(await memberModel(conn).countDocuments({ courseId, userId: victim.userId })).to.equal(0);
      expect(await resultModel(conn).countDocuments({ courseId, userId: victim.userId })).to.equal(0);

      expect(await conn.collection('credentials').countDocuments({ _id: `certificate:${kept._id}` as never }), 'the signed credential with the name').to.equal(0);
      expect((await fetch(`${t.baseUrl}/credentials/${kept.code}`, { headers: { 'x-forwarded-for': clientIp() } })).status).to.equal(404);

      // the audit log keeps every entry, now about a pseudonym
      const audit = await auditModel(conn).find({ courseId }).lean();
      expect(audit).to.have.length(auditBefore);
      const auditText = JSON.stringify(audit);
      expect(auditText, auditText.slice(Math.max(0, auditText.indexOf(victim.name) - 600), auditText.indexOf(victim.name) + 100)).not.to.include(victim.name);
      expect(auditText).not.to.include(`"userId":"${victim.userId}"`);
      // the personal parts of the audit entries (audit_details): theirs are deleted, none names them
      expect(await conn.collection('audit_details').countDocuments({ _id: { $in: theirEntries } }), "the learner's audit_details rows").to.equal(0);
      expect(JSON.stringify(await conn.collection('audit_details').find({ courseId }).toArray())).not.to.include(victim.name);
      expect(await conn.collection('audit_details').countDocuments({ courseId }), "the others' rows stay").to.be.greaterThan(0);
      expect(audit.filter((a) => String(a.issueId) === String(kept._id) && a.action === 'certificate_issued')[0]?.userId).to.equal(after[0]!.userId);

      // their session is gone
      expect((await session.browser.request(`${session.app}/learner`)).status).to.equal(401);

      // a verification still answers: valid, with its dates, without anything about the person
      const v = await verifyJson(kept.code);
      expect(v.status).to.equal(200);
      expect(v.body).to.deep.include({ code: kept.code, status: 'valid', valid: true, public: false, nameShown: false, erased: true });
      const facts = v.body.certificate as Record<string, unknown>;
      expect(facts).to.deep.include({ title: 'Rune Reader', courseTitle: 'Dwarvish Runes', issuedAt: kept.issuedAt.toISOString() });
      expect(facts.learnerName).to.equal(undefined);
      expect(JSON.stringify(v.body)).not.to.include(victim.name);
      expect((await verifyJson(revoked.code)).body).to.deep.include({ status: 'revoked', valid: false });
      const page = await (await fetch(`${t.baseUrl}/verify/${kept.code}`, { headers: { 'x-forwarded-for': clientIp() } })).text();
      expect(page).not.to.include(victim.name);
      expect((await fetch(`${t.baseUrl}/verify/${kept.code}.pdf`, { headers: { 'x-forwarded-for': clientIp() } })).status, 'no PDF with the name').to.equal(404);

      // the others are untouched
      const other = (await issueModel(conn).findById(bystander._id).lean<IssueDoc>())!;
      expect(other.learnerName).to.equal(learners[1]!.name);
      expect((await verifyJson(other.code)).body).to.deep.include({ public: true });
      expect(await memberModel(conn).countDocuments({ courseId, userId: learners[1]!.userId })).to.equal(1);

      // the privacy log records the erasure under the pseudonym, never the user id
      const log = await privacyRequestModel(conn).findOne({ kind: 'erasure' }).sort({ at: -1 }).lean();
      expect(log?.pseudonym).to.equal(after[0]!.userId);
      expect(JSON.stringify(log)).not.to.include(`"${victim.userId}"`);
    });
  });

  describe('visibility at issue time', () => {
    it('a definition switched to public does not expose the certificates issued while it was private', async () => {
      const def = await defineCertificate(t, courseId, { public: false, title: 'Secret Runes' });
      const whilePrivate = await issueFor(t, courseId, def, learners[3]!);
      expect(whilePrivate.publicAtIssue).to.equal(false);
      await definitionModel(conn).updateOne({ _id: def._id }, { $set: { public: true } });
      const whilePublic = await issueFor(t, courseId, (await definitionModel(conn).findById(def._id).lean<DefinitionDoc>())!, learners[4]!);
      expect(whilePublic.publicAtIssue).to.equal(true);

      const hidden = await verifyJson(whilePrivate.code);
      expect(hidden.body).to.deep.include({ status: 'valid', public: false, nameShown: false });
      expect((hidden.body.certificate as { learnerName?: string }).learnerName).to.equal(undefined);
      expect(JSON.stringify(hidden.body)).not.to.include(learners[3]!.name);
      const shown = await verifyJson(whilePublic.code);
      expect(shown.body).to.deep.include({ public: true, nameShown: true });
      expect((shown.body.certificate as { learnerName: string }).learnerName).to.equal(learners[4]!.name);
    });
  });
});

/**
 * External certifications (R8): the learner sends proof with their completion date, an approver
 * approves (issuing the certification with that date) or rejects with a reason the learner sees,
 * the learner sends again; recurring ones remind before expiry and renew with a new proof. Every
 * bad upload is refused with its status and message and leaves nothing stored; a learner can
 * never see or decide anyone else's proof.
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import { PNG } from 'pngjs';
import { PDFDocument } from 'pdf-lib';
import { awardModel } from '../../src/certifications/award.model';
import { certificationAuditModel } from '../../src/certifications/certification-audit';
import { certificationModel, type CertificationDoc } from '../../src/certifications/certification.model';
import { proofModel } from '../../src/certifications/external/proof.model';
import { sniffProof } from '../../src/certifications/external/proof-file';
import { startTestApp, type TestApp } from '../support/app';
import { sessionOf } from '../support/browser';
import { LTI, registerAttackerPlatform, startAttackerPlatform } from '../security/support/attacker-platform';
import { launchAs, sandboxCourse, subjectOf, type Launched } from '../support/e2e';
import { all, attr, parseHtml, text } from '../support/html';

const DAY = 24 * 3600 * 1000;

async function pdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.addPage([595, 842]).drawText('First aid certificate — Red Cross', { x: 50, y: 780, size: 18 });
  return Buffer.from(await doc.save());
}

function png(): Buffer {
  const image = new PNG({ width: 30, height: 20 });
  image.data.fill(200);
  return PNG.sync.write(image);
}

/** A structurally complete baseline JPEG (SOI, APP0, DQT, SOF0 1×1, DHT, SOS, data, EOI). */
function jpeg(): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, ((body.length + 2) >> 8) & 0xff, (body.length + 2) & 0xff, ...body];
  return Buffer.from([
    0xff, 0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...seg(0xdb, [0x00, ...new Array(64).fill(1)]),
    ...seg(0xc0, [8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]),
    ...seg(0xda, [1, 1, 0, 0, 63, 0]),
    0x00, 0x3f,
    0xff, 0xd9,
  ]);
}

describe('External certifications: proof, approval, resubmission (R8)', function () {
  this.timeout(90_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const conn = () => t.db.connection;

  interface Scene {
    cert: CertificationDoc;
    learner: Launched;
    learnerEmail: string;
    learnerSub: string;
    other: Launched;
    otherSub: string;
    teacher: Launched;
    teacherEmail: string;
  }

  /** A course with two learners and a teacher, and an external certification of their platform assigned as asked. */
  async function scene(opts: { recurring?: boolean; assignTo?: 'both' | 'first' } = {}): Promise<Scene> {
    const c = sandboxCourse(t, { scores: [[10], [10]] });
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
    const other = await launchAs(t, c.course.id, c.learnerIds[1]!);
    const learnerSub = subjectOf(t, c, c.learnerIds[0]!);
    const otherSub = subjectOf(t, c, c.learnerIds[1]!);
    const teacherSub = subjectOf(t, c, c.teacherIds[0]!);
    const now = new Date();
    const cert = await certificationModel(conn()).create({
      issuer: t.sandbox.issuer,
      clientId: t.sandbox.registration.clientId,
      name: `First aid ${new Types.ObjectId().toHexString().slice(-6)}`,
      overview: 'A first aid course from the Red Cross or an equivalent.',
      issuerName: 'Shire Academy',
      kind: 'external',
      validity: opts.recurring ? { kind: 'recurring', validForMonths: 12, renewalWindowDays: 30 } : { kind: 'perpetual' },
      onCourseRevoked: 'keep',
      // assigned to this scene's learners only: "everyone" would reach other spec files' learners on the shared sandbox
      assignment: { everyone: false, userIds: opts.assignTo === 'first' ? [learnerSub] : [learnerSub, otherSub] },
      version: 1,
      publishedAt: now,
      archivedAt: null,
      createdAt: now,
      createdBy: { kind: 'teacher', userId: teacherSub, name: 'Gandalf' },
      updatedAt: now,
      updatedBy: { kind: 'teacher', userId: teacherSub, name: 'Gandalf' },
    });
    const store = t.sandbox.store;
    return {
      cert: cert.toObject(),
      learner,
      learnerEmail: store.getUser(c.learnerIds[0]!)!.email.toLowerCase(),
      learnerSub,
      other,
      otherSub,
      teacher,
      teacherEmail: store.getUser(c.teacherIds[0]!)!.email.toLowerCase(),
    };
  }

  async function send(l: Launched, cert: { _id: Types.ObjectId }, file: Buffer | null, opts: { completedAt?: string; name?: string; type?: string } = {}): Promise<Response> {
    const form = new FormData();
    form.set('completedAt', opts.completedAt ?? '2026-10-15');
    if (file) form.set('file', new Blob([new Uint8Array(file)], { type: opts.type ?? 'application/pdf' }), opts.name ?? 'proof.pdf');
    return fetch(`${l.app}/certifications/${String(cert._id)}/proof`, { method: 'POST', body: form, redirect: 'manual', headers: { origin: t.baseUrl } });
  }

  const post = (l: Launched, path: string, form: Record<string, string> = {}) =>
    fetch(`${l.app}${path}`, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual', headers: { origin: t.baseUrl, 'content-type': 'application/x-www-form-urlencoded' } });

  async function stored(cert: { _id: Types.ObjectId }) {
    const files = await conn().db!.collection('proofs.files').countDocuments({ 'metadata.certificationId': String(cert._id) });
    return { proofs: await proofModel(conn()).countDocuments({ certificationId: cert._id }), files };
  }

  describe('a proof approved', () => {
    it('issues the certification with the learner\'s completion date, tells the approver and the learner, and audits both steps', async () => {
      const s = await scene({ recurring: true });
      const form = parseHtml((await s.learner.browser.open(`${s.learner.app}/certifications/${String(s.cert._id)}/proof`)).html);
      expect(attr(form, 'form[enctype="multipart/form-data"]', 'action')).to.equal(`/app/${s.learner.session}/certifications/${String(s.cert._id)}/proof`);

      const sent = await send(s.learner, s.cert, await pdf());
      expect(sent.status).to.equal(303);
      const after = parseHtml((await s.learner.browser.open(new URL(sent.headers.get('location')!, t.baseUrl).toString())).html);
      expect(text(after, '[data-notice]')).to.equal('Thank you: your proof has been sent for review.');
      expect(all(after, 'tr[data-status="pending"]')).to.have.length(1);

      // the approver's queue, and the file inline with safe headers
      // the teacher pages link to the queue
      const home = parseHtml((await s.teacher.browser.open(`${s.teacher.app}/teacher`)).html);
      expect(new URL(attr(home, "a[data-proofs-queue]", "href")!, `${s.teacher.app}/teacher/`).pathname).to.equal(`/app/${s.teacher.session}/proofs`);
      const queue = parseHtml((await s.teacher.browser.open(`${s.teacher.app}/proofs`)).html);
      const card = all(queue, 'article[data-proof-id]').find((a) => text(a, 'h2').includes(s.cert.name))!;
      expect(text(card, 'p')).to.include('Completed on 15 October 2026');
      const file = await fetch(new URL(attr(card, 'a[data-file]', 'href')!, t.baseUrl));
      expect(file.status).to.equal(200);
      expect(file.headers.get('content-type')).to.equal('application/pdf');
      expect(file.headers.get('content-disposition')).to.match(/^inline; filename="proof-[0-9a-f]{24}\.pdf"$/);
      expect(file.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(file.headers.get('content-security-policy')).to.include("default-src 'none'").and.not.include('script-src');
      expect(Buffer.from(await file.arrayBuffer()).subarray(0, 5).toString()).to.equal('%PDF-');
      await t.app.mail.flush();
      const [arrived] = await t.smtp.waitFor((m) => m.to.includes(s.teacherEmail) && m.subject.includes(s.cert.name));
      expect(arrived!.subject).to.equal(`Proof to review: ${s.cert.name}`);
      // the queue is inside a launch: the mail says where to find it instead of a link that cannot open it
      expect(arrived!.text).to.include('choose “Proofs to review”');
      expect(arrived!.links).to.deep.equal([]);

      const proofId = card.getAttribute('data-proof-id')!;
      const approved = await post(s.teacher, `/proofs/${proofId}/approve`);
      expect(approved.status).to.equal(303);
      const award = (await awardModel(conn()).findOne({ certificationId: s.cert._id, userId: s.learnerSub }).lean())!;
      expect(award).to.include({ status: 'active', kind: 'external', version: 1 });
      expect(award.completedAt.toISOString()).to.equal('2026-10-15T00:00:00.000Z');
      expect(award.expiresAt!.toISOString()).to.equal('2027-10-15T00:00:00.000Z');
      const actions = (await certificationAuditModel(conn()).find({ certificationId: s.cert._id }).sort({ at: 1, _id: 1 }).lean()).map((a) => a.action);
      expect(actions).to.include.members(['proof_submitted', 'award_issued', 'proof_approved']);

      await t.app.mail.flush();
      const [mail] = await t.smtp.waitFor((m) => m.to.includes(s.learnerEmail) && m.subject.startsWith('Proof approved'));
      expect(mail!.text).to.include('completed on 15 October 2026');
      expect(mail!.links).to.deep.equal([`${t.baseUrl}/verify/${award.code}`]);
    });

    it('answers 409 to a second decision on the same proof and changes nothing', async () => {
      const s = await scene();
      await send(s.learner, s.cert, png(), { type: 'image/png', name: 'proof.png' });
      const proof = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      expect((await post(s.teacher, `/proofs/${String(proof._id)}/approve`)).status).to.equal(303);
      const again = await post(s.teacher, `/proofs/${String(proof._id)}/reject`, { reason: 'Changed my mind' });
      expect(again.status).to.equal(409);
      expect(await again.text()).to.include('This proof has already been approved.');
      expect(await awardModel(conn()).countDocuments({ certificationId: s.cert._id })).to.equal(1);
      expect((await proofModel(conn()).findById(proof._id).lean())!.status).to.equal('approved');
    });
  });

  describe('a proof rejected, then sent again', () => {
    it('shows the learner the reason, mails it, takes a new proof and approves that one', async () => {
      const s = await scene();
      await send(s.learner, s.cert, await pdf());
      const first = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      const rejected = await post(s.teacher, `/proofs/${String(first._id)}/reject`, { reason: 'The scan is unreadable; send a sharper one.' });
      expect(rejected.status).to.equal(303);
      const page = parseHtml((await s.learner.browser.open(`${s.learner.app}/certifications/${String(s.cert._id)}/proof`)).html);
      expect(text(page, `tr[data-proof-id="${String(first._id)}"] [data-reason]`)).to.equal('Reason: The scan is unreadable; send a sharper one.');
      await t.app.mail.flush();
      const [mail] = await t.smtp.waitFor((m) => m.to.includes(s.learnerEmail) && m.subject.startsWith('Proof not accepted'));
      expect(mail!.text).to.include('Reason: The scan is unreadable; send a sharper one.');

      expect((await send(s.learner, s.cert, jpeg(), { type: 'image/jpeg', name: 'photo.jpg', completedAt: '2026-11-02' })).status).to.equal(303);
      const second = (await proofModel(conn()).findOne({ certificationId: s.cert._id, status: 'pending' }).lean())!;
      expect(second.contentType).to.equal('image/jpeg');
      expect((await post(s.teacher, `/proofs/${String(second._id)}/approve`)).status).to.equal(303);
      const award = (await awardModel(conn()).findOne({ certificationId: s.cert._id, userId: s.learnerSub }).lean())!;
      expect(award.completedAt.toISOString()).to.equal('2026-11-02T00:00:00.000Z');
      expect(await awardModel(conn()).countDocuments({ certificationId: s.cert._id })).to.equal(1);
    });

    it('refuses a second proof while one waits (409), keeping no file of it', async () => {
      const s = await scene();
      await send(s.learner, s.cert, await pdf());
      const again = await send(s.learner, s.cert, await pdf());
      expect(again.status).to.equal(409);
      expect(await again.text()).to.include('A proof of yours is already waiting for a decision.');
      expect(await stored(s.cert)).to.deep.equal({ proofs: 1, files: 1 });
    });
  });

  describe('recurring', () => {
    it('reminds before expiry by mail, expires, and renews with a new proof as a new version', async () => {
      const s = await scene({ recurring: true });
      await send(s.learner, s.cert, await pdf(), { completedAt: new Date(Date.now() - 365 * DAY + 7 * DAY).toISOString().slice(0, 10) });
      const proof = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      await post(s.teacher, `/proofs/${String(proof._id)}/approve`);
      const first = (await awardModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      // 12 months from a completion 358 days ago: it expires in about a week
      const daysLeft = Math.round((first.expiresAt!.getTime() - Date.now()) / DAY);
      expect(daysLeft).to.be.within(6, 8);
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      const [reminder] = await t.smtp.waitFor((m) => m.to.includes(s.learnerEmail) && m.subject.includes('Expires in'));
      expect(reminder!.subject).to.equal(`Expires in 7 days: ${s.cert.name}`);
      expect(reminder!.links).to.deep.equal([`${t.baseUrl}/verify/${first.code}`]);

      // it expires (the date moves past), the page says so, and the reminder on expiry arrives
      await awardModel(conn()).updateOne({ _id: first._id }, { $set: { expiresAt: new Date(Date.now() - 3600_000) } });
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      await t.smtp.waitFor((m) => m.to.includes(s.learnerEmail) && m.subject === `Expired today: ${s.cert.name}`);

      // renewal: a new proof within the window, approved, is version 2; the first is superseded
      expect((await send(s.learner, s.cert, await pdf(), { completedAt: new Date().toISOString().slice(0, 10) })).status).to.equal(303);
      const renewal = (await proofModel(conn()).findOne({ certificationId: s.cert._id, status: 'pending' }).lean())!;
      await post(s.teacher, `/proofs/${String(renewal._id)}/approve`);
      const versions = await awardModel(conn()).find({ certificationId: s.cert._id }).sort({ version: 1 }).lean();
      expect(versions.map((a) => [a.version, a.status])).to.deep.equal([[1, 'superseded'], [2, 'active']]);
      expect(String(versions[1]!.supersedes)).to.equal(String(first._id));
    });

    it('refuses a new proof before the renewal window opens (409 naming the date)', async () => {
      const s = await scene({ recurring: true });
      await send(s.learner, s.cert, await pdf(), { completedAt: new Date().toISOString().slice(0, 10) });
      const proof = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      await post(s.teacher, `/proofs/${String(proof._id)}/approve`);
      const early = await send(s.learner, s.cert, await pdf());
      expect(early.status).to.equal(409);
      const earlyText = await early.text();
      expect(earlyText).to.match(/You already hold this certification\. You can send a new proof to renew it from \d+ \w+ \d{4}\./);
      expect(await stored(s.cert)).to.deep.equal({ proofs: 1, files: 1 });
    });
  });

  describe('bad uploads: the status, the message, and nothing stored', () => {
    let s: Scene;
    before(async () => {
      s = await scene();
    });
    const cases: Array<[string, () => Promise<Buffer> | Buffer, Partial<{ type: string; name: string }>, number, string]> = [
      ['a text file named .pdf', () => Buffer.from('Hello, this is my certificate.\n'), { name: 'proof.pdf', type: 'application/pdf' }, 415, 'This is not a PDF, PNG or JPEG file.'],
      ['an HTML page declared as image/png', () => Buffer.from('<html><script>alert(1)</script></html>'), { name: 'proof.png', type: 'image/png' }, 415, 'This is not a PDF, PNG or JPEG file.'],
      ['a "PDF" that is only its header', () => Buffer.from('%PDF-1.7\n%garbage\n'), {}, 400, 'This file says it is a PDF but cannot be read as one.'],
      ['a PNG signature followed by junk', () => Buffer.concat([png().subarray(0, 33), Buffer.alloc(200, 7)]), { name: 'p.png', type: 'image/png' }, 400, 'This file says it is a PNG but cannot be read as one.'],
      ['a JPEG cut off before its image data', () => jpeg().subarray(0, 60), { name: 'p.jpg', type: 'image/jpeg' }, 400, 'This file says it is a JPG but cannot be read as one.'],
      ['a GIF', () => Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;', 'latin1'), { name: 'p.gif', type: 'image/gif' }, 415, 'This is not a PDF, PNG or JPEG file.'],
      ['an empty file', () => Buffer.alloc(0), {}, 400, 'The file is empty.'],
    ];
    for (const [what, make, opts, status, message] of cases) {
      it(`refuses ${what} with ${status}`, async () => {
        const res = await send(s.learner, s.cert, await make(), opts);
        expect(res.status).to.equal(status);
        expect(await res.text()).to.include(message);
        expect(await stored(s.cert)).to.deep.equal({ proofs: 0, files: 0 });
      });
    }

    it('refuses a file above UPLOAD_MAX_BYTES with 413 naming the limit', async () => {
      const big = Buffer.concat([await pdf(), Buffer.alloc(t.config.uploadMaxBytes + 10, 0x20)]);
      const res = await send(s.learner, s.cert, big);
      expect(res.status).to.equal(413);
      expect(await res.text()).to.include(`larger than ${t.config.uploadMaxBytes / 1024 / 1024} MB`);
      expect(await stored(s.cert)).to.deep.equal({ proofs: 0, files: 0 });
    });

    it('refuses no file and a date in the future with 400', async () => {
      expect((await send(s.learner, s.cert, null)).status).to.equal(400);
      const future = await send(s.learner, s.cert, await pdf(), { completedAt: new Date(Date.now() + 3 * DAY).toISOString().slice(0, 10) });
      expect(future.status).to.equal(400);
      expect(await future.text()).to.include('The completion date cannot be in the future.');
      const notADate = await send(s.learner, s.cert, await pdf(), { completedAt: 'yesterday' });
      expect(notADate.status).to.equal(400);
      expect(await stored(s.cert)).to.deep.equal({ proofs: 0, files: 0 });
    });
  });

  describe('another learner (an attacker with a session of their own)', () => {
    it('cannot open, list or decide someone else\'s proof, nor send proof for a certification not assigned to them', async () => {
      const s = await scene({ assignTo: 'first' });
      await send(s.learner, s.cert, await pdf());
      const proof = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      const file = await fetch(`${s.other.app}/proofs/${String(proof._id)}/file`);
      expect(file.status).to.equal(404);
      expect(await file.text()).to.include('This proof does not exist.');
      expect((await fetch(`${s.other.app}/proofs`)).status).to.equal(403);
      expect((await post(s.other, `/proofs/${String(proof._id)}/approve`)).status).to.equal(403);
      expect((await post(s.learner, `/proofs/${String(proof._id)}/approve`)).status).to.equal(403);
      const notMine = await send(s.other, s.cert, await pdf());
      expect(notMine.status).to.equal(404);
      expect((await fetch(`${s.other.app}/certifications/${String(s.cert._id)}/proof`)).status).to.equal(404);
      // forged ids: not an id, an id of nothing, the certification's id as a proof id
      for (const id of ['not-an-id', new Types.ObjectId().toHexString(), String(s.cert._id)]) {
        expect((await post(s.teacher, `/proofs/${id}/approve`)).status).to.equal(404);
        expect((await fetch(`${s.other.app}/proofs/${id}/file`)).status).to.equal(404);
      }
      // nothing was written by any of it
      expect(await stored(s.cert)).to.deep.equal({ proofs: 1, files: 1 });
      expect((await proofModel(conn()).findById(proof._id).lean())!.status).to.equal('pending');
      expect(await awardModel(conn()).countDocuments({ certificationId: s.cert._id })).to.equal(0);
    });
  });

  describe('a teacher of another registration under the same issuer (a platform of the test\'s own)', () => {
    it('sees none of this registration\'s proofs and can neither open nor decide one (404), writing nothing', async () => {
      const s = await scene();
      await send(s.learner, s.cert, await pdf());
      const proof = (await proofModel(conn()).findOne({ certificationId: s.cert._id }).lean())!;
      const tenantB = await startAttackerPlatform({ issuer: t.sandbox.issuer });
      try {
        const clientId = `proofs-b-${Date.now()}`;
        await registerAttackerPlatform(t.app.lti, tenantB, { clientId, name: 'Tenant B' });
        const page = await tenantB.launch(t.app.toolUrls, {
          clientId,
          deploymentId: 'b-deployment',
          claims: { [LTI.context]: { id: `ctx-b-${Date.now()}`, title: 'Tenant B course' }, [LTI.roles]: [LTI.instructor] },
        });
        expect(page.status).to.equal(200);
        const app = `${t.baseUrl}/app/${sessionOf(page.url)}`;
        const queue = parseHtml(await (await fetch(`${app}/proofs`)).text());
        expect(all(queue, `article[data-proof-id="${String(proof._id)}"]`)).to.have.length(0);
        expect((await fetch(`${app}/proofs/${String(proof._id)}/file`)).status).to.equal(404);
        const decided = await fetch(`${app}/proofs/${String(proof._id)}/approve`, { method: 'POST', redirect: 'manual', headers: { origin: t.baseUrl } });
        expect(decided.status).to.equal(404);
        expect(await decided.text()).to.include('This proof does not exist.');
        expect((await fetch(`${app}/certifications/${String(s.cert._id)}/proof`)).status).to.be.oneOf([403, 404]);
        expect((await proofModel(conn()).findById(proof._id).lean())!.status).to.equal('pending');
        expect(await awardModel(conn()).countDocuments({ certificationId: s.cert._id })).to.equal(0);
      } finally {
        await tenantB.close();
      }
    });
  });

  describe('sniffProof', () => {
    it('tells a real PDF, PNG and JPEG from files that only start like one', async () => {
      expect(await sniffProof(await pdf())).to.deep.equal({ ok: true, type: 'application/pdf' });
      expect(await sniffProof(png())).to.deep.equal({ ok: true, type: 'image/png' });
      expect(await sniffProof(jpeg())).to.deep.equal({ ok: true, type: 'image/jpeg' });
      const broken = await pdf();
      expect(await sniffProof(broken.subarray(0, Math.floor(broken.length / 3)))).to.deep.include({ ok: false, reason: 'damaged' });
    });
  });
});

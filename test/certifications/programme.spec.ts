/**
 * Internal certifications (R7, R9): a programme of courses is issued the moment the last needed
 * course certificate is claimed, re-evaluated when one it rests on is revoked, and renewed as a
 * new version once it is completed again after its renewal window opened. Real launches, real
 * claims from the sandbox.
 */
import { expect } from 'chai';
import { addMonths } from '../../src/certificates/certificate-state';
import { issueModel } from '../../src/certificates/issue.model';
import { awardModel } from '../../src/certifications/award.model';
import { evaluateCertification, findAwardByCode } from '../../src/certifications/award.service';
import { certificationAuditModel } from '../../src/certifications/certification-audit';
import { certificationModel, type CertificationDoc } from '../../src/certifications/certification.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs, pdfText, syncGrades } from '../support/e2e';
import { all, attr, parseHtml, text } from '../support/html';
import { buildIssuedCertificate, random } from '../support/builders';
import { adminLaunch, buildWorld, programmeForm, type World, type WorldLearner } from './world';

describe('Programmes of courses (R7, R9)', function () {
  this.timeout(90_000);
  let t: TestApp;
  /** Four courses, a perpetual and a yearly certificate in each, nine learners: one per test. */
  let w: World;
  before(async () => {
    t = await startTestApp();
    w = await buildWorld(t, 4, { learners: 9, recurring: true });
  });
  const learner = (i: number) => w.learners[i]!;

  async function define(courses: World['courses'], input: NonNullable<Parameters<typeof programmeForm>[1]>): Promise<CertificationDoc> {
    const { browser, app } = await adminLaunch(t, w);
    const name = `${input.name ?? 'Programme'} ${Date.now()}`;
    const res = await browser.request(`${app}/certifications/manage`, { form: programmeForm(courses, { ...input, name }) });
    expect(res.status).to.equal(303);
    return (await certificationModel(t.db.connection).findOne({ name }).lean<CertificationDoc>())!;
  }

  /** Learner `who` launches course i and claims its certificate (the perpetual one unless told); returns the launch. */
  async function claim(who: WorldLearner, i: number, which: 'definition' | 'recurring' = 'definition') {
    const l = await launchAs(t, w.courses[i]!.sandboxId, who.id);
    const res = await l.browser.request(`${l.app}/learner/claim`, { form: { definitionId: String(w.courses[i]![which]!._id) } });
    expect(res.status, 'the claim succeeds').to.equal(303);
    return l;
  }

  const awardsOf = (cert: CertificationDoc, who: WorldLearner) => awardModel(t.db.connection).find({ certificationId: cert._id, userId: who.subject }).sort({ version: 1 }).lean();
  const perpetual = (courses: World['courses']) => courses.map((c) => String(c.definition._id));

  describe('2 of 4 mandatory courses', () => {
    it('is issued at the moment the second course certificate is claimed, with its own code, page and PDF', async () => {
      const me = learner(0);
      const cert = await define(w.courses, { minimum: 2, name: 'Two of four', definitionIds: perpetual(w.courses) });

      await claim(me, 0);
      expect(await awardsOf(cert, me), 'one course is not enough').to.have.length(0);
      const l = await claim(me, 2);
      const awards = await awardsOf(cert, me);
      expect(awards).to.have.length(1);
      expect(awards[0]).to.include({ status: 'active', version: 1, learnerName: awards[0]!.learnerName, kind: 'internal' });
      expect(awards[0]!.basis.map((b) => String(b.courseId))).to.deep.equal([String(w.courses[0]!.tool._id), String(w.courses[2]!.tool._id)]);
      expect(awards[0]!.expiresAt).to.equal(null);

      // the certification page (R11)
      const page = parseHtml((await l.browser.open(`${l.app}/certifications/${String(cert._id)}`)).html);
      expect(text(page, '[data-overview]')).to.equal('Handles personal data with care across the organisation.');
      expect(text(page, '[data-issuer]')).to.equal('Academy');
      expect(text(page, '[data-type]')).to.equal('Perpetual');
      expect(text(page, '[data-validity]')).to.equal('does not expire');
      expect(text(page, '[data-status]')).to.equal('Valid');
      expect(text(page, '[data-code]')).to.equal(awards[0]!.code);
      expect(all(page, '[data-basis] li')).to.have.length(2);
      // the PDF says the same
      const pdf = await l.browser.request(`${t.baseUrl}${attr(page, '[data-pdf]', 'href')}`);
      expect(pdf.status).to.equal(200);
      const words = await pdfText(Buffer.from(await pdf.arrayBuffer()));
      // the classic design letter-spaces its heading in capitals
      expect(words.replace(/\s+/g, '').toLowerCase()).to.contain(cert.name.replace(/\s+/g, '').toLowerCase());
      expect(words).to.contain('Handles personal data').and.contain('Academy').and.contain('Perpetual').and.contain(awards[0]!.code);
      // and the audit trail
      const audit = await certificationAuditModel(t.db.connection).find({ certificationId: cert._id, action: 'award_issued' }).lean();
      expect(audit.map((a) => a.userId)).to.deep.equal([me.subject]);
      expect((await findAwardByCode(t.db.connection, awards[0]!.code.toLowerCase(), new Date()))!.state).to.equal('active');
      // and /verify/<code>, the same address as course certificates, says the same
      const verify = parseHtml(await (await fetch(`${t.baseUrl}/verify/${awards[0]!.code}`)).text());
      expect(text(verify, '[data-status]')).to.equal('Valid');
      expect(text(verify, '[data-name]')).to.equal(cert.name);
      expect(text(verify, '[data-overview]')).to.equal('Handles personal data with care across the organisation.');
      expect(text(verify, '[data-type]')).to.equal('Perpetual');
      expect(text(verify, '[data-completed]')).to.equal(text(page, '[data-completed]'));
      const json = (await (await fetch(`${t.baseUrl}/verify/${awards[0]!.code}.json`)).json()) as { status: string; kind: string };
      expect(json).to.include({ status: 'valid', kind: 'certification' });
    });

    it('issues one award when the completing claim is sent twice at once', async () => {
      const me = learner(1);
      const cert = await define(w.courses.slice(0, 2), { name: 'Twice', definitionIds: perpetual(w.courses.slice(0, 2)) });
      await claim(me, 0);
      const l = await launchAs(t, w.courses[1]!.sandboxId, me.id);
      const form = { definitionId: String(w.courses[1]!.definition._id) };
      await Promise.all([l.browser.request(`${l.app}/learner/claim`, { form }), l.browser.request(`${l.app}/learner/claim`, { form })]);
      expect(await awardsOf(cert, me)).to.have.length(1);
    });

    it('is issued after a grade sync too, for a course certificate issued without a claim (generate all)', async () => {
      const me = learner(2);
      const courses = w.courses.slice(2, 4);
      const cert = await define(courses, { name: 'Synced', definitionIds: perpetual(courses) });
      for (const c of courses) {
        await syncGrades(t, c.tool);
        await buildIssuedCertificate(t.db.connection, { definition: c.definition, learner: { userId: me.subject, name: 'Bilbo Baggins' }, now: new Date() });
      }
      expect(await awardsOf(cert, me)).to.have.length(1);
    });
  });

  describe('after the administrator changes the certification', () => {
    it('shows its awards as issued under an older version, and re-issues them as new versions on request', async () => {
      const me = learner(8);
      const courses = w.courses.slice(0, 2);
      const cert = await define(courses, { name: 'Renamed', definitionIds: perpetual(courses) });
      await claim(me, 0);
      await claim(me, 1);
      const { browser, app } = await adminLaunch(t, w);
      const form = programmeForm(courses, { name: `${cert.name} (2027)`, definitionIds: perpetual(courses) });
      expect((await browser.request(`${app}/certifications/manage/${String(cert._id)}`, { form })).status).to.equal(303);
      const row = () => browser.open(`${app}/certifications/manage`).then((p) => all(parseHtml(p.html), 'tr[data-certification-id]').find((r) => r.getAttribute('data-certification-id') === String(cert._id))!);
      expect(text(await row(), '[data-stale]')).to.contain('1 issued under an older version');
      expect((await browser.request(`${app}/certifications/manage/${String(cert._id)}/reissue-stale`, { form: {} })).status).to.equal(303);
      const awards = await awardsOf(cert, me);
      expect(awards.map((a) => [a.version, a.status, a.name, a.certificationVersion])).to.deep.equal([
        [1, 'superseded', cert.name, 1],
        [2, 'active', `${cert.name} (2027)`, 2],
      ]);
      expect(attr(await row(), '[data-stale]', 'data-stale')).to.equal('0');
    });
  });

  describe('when a course certificate it rests on is revoked', () => {
    async function revokeFirst(me: WorldLearner) {
      const issue = await issueModel(t.db.connection).findOne({ courseId: w.courses[0]!.tool._id, definitionId: w.courses[0]!.definition._id, userId: me.subject, status: 'active' }).lean();
      const teacher = await launchAs(t, w.courses[0]!.sandboxId, w.courses[0]!.teacherId);
      const res = await teacher.browser.request(`${teacher.app}/teacher/certificates/${String(issue!._id)}/delete`, { form: { reason: 'Plagiarism' } });
      expect(res.status).to.equal(303);
    }

    it('revokes the certification (as chosen), and a new completion issues a new version', async () => {
      const me = learner(3);
      const courses = w.courses.slice(0, 3);
      const cert = await define(courses, { minimum: 2, onCourseRevoked: 'revoke', name: 'Cascade', definitionIds: perpetual(courses) });
      await claim(me, 0);
      await claim(me, 1);
      const [award] = await awardsOf(cert, me);
      await revokeFirst(me);
      const after = await awardModel(t.db.connection).findById(award!._id).lean();
      expect(after).to.include({ status: 'revoked', revokedReason: 'A course certificate it rests on was revoked.' });
      expect((await findAwardByCode(t.db.connection, award!.code, new Date()))!.state).to.equal('revoked');
      // the third course completes it again: version 2
      await claim(me, 2);
      const awards = await awardsOf(cert, me);
      expect(awards.map((a) => [a.version, a.status])).to.deep.equal([
        [1, 'revoked'],
        [2, 'active'],
      ]);
      const actions = (await certificationAuditModel(t.db.connection).find({ certificationId: cert._id, userId: me.subject }).sort({ at: 1, _id: 1 }).lean()).map((a) => a.action);
      expect(actions).to.deep.equal(['award_issued', 'award_revoked', 'award_issued']);
    });

    it('keeps the certification when the administrator chose so, and says so in the audit trail', async () => {
      const me = learner(4);
      const courses = w.courses.slice(0, 2);
      const cert = await define(courses, { onCourseRevoked: 'keep', name: 'Kept', definitionIds: perpetual(courses) });
      await claim(me, 0);
      await claim(me, 1);
      await revokeFirst(me);
      const awards = await awardsOf(cert, me);
      expect(awards.map((a) => a.status)).to.deep.equal(['active']);
      expect((await certificationAuditModel(t.db.connection).find({ certificationId: cert._id, action: 'award_kept' }).lean()).map((a) => a.userId)).to.deep.equal([me.subject]);
    });

    it('keeps it without a word when the other courses still complete the programme', async () => {
      const me = learner(5);
      const courses = w.courses.slice(0, 3);
      const cert = await define(courses, { minimum: 2, onCourseRevoked: 'revoke', name: 'Still complete', definitionIds: perpetual(courses) });
      await claim(me, 0);
      await claim(me, 1);
      await claim(me, 2);
      await revokeFirst(me);
      expect((await awardsOf(cert, me)).map((a) => a.status)).to.deep.equal(['active']);
    });
  });

  describe('recurring', () => {
    it('expires 12 months after completion and is renewed as a new version by completing again in the renewal window', async () => {
      const me = learner(6);
      const courses = w.courses.slice(0, 2);
      const cert = await define(courses, { type: 'recurring', months: 12, window: 60, name: 'Yearly', definitionIds: courses.map((c) => String(c.recurring!._id)) });
      // a year and a month ago the learner held both yearly course certificates, and the certification
      const then = addMonths(new Date(), -13);
      for (const c of courses) {
        await syncGrades(t, c.tool);
        await buildIssuedCertificate(t.db.connection, { definition: c.recurring!, learner: { userId: me.subject, name: 'Bilbo Baggins' }, now: then });
      }
      expect(await awardsOf(cert, me), 'expired course certificates complete nothing today').to.have.length(0);
      await evaluateCertification(t.db.connection, cert, { now: then, random, userIds: [me.subject] });
      const [old] = await awardsOf(cert, me);
      expect(old!.expiresAt!.toISOString()).to.equal(addMonths(old!.completedAt, 12).toISOString());

      // today: expired, on the page and in the list
      const l = await launchAs(t, w.courses[0]!.sandboxId, me.id);
      expect(text(parseHtml((await l.browser.open(`${l.app}/certifications/${String(cert._id)}`)).html), '[data-status]')).to.equal('Expired');

      // renewing one course certificate is not enough; the second renews the certification
      await claim(me, 0, 'recurring');
      expect(await awardsOf(cert, me)).to.have.length(1);
      await claim(me, 1, 'recurring');
      const awards = await awardsOf(cert, me);
      expect(awards.map((a) => [a.version, a.status])).to.deep.equal([
        [1, 'superseded'],
        [2, 'active'],
      ]);
      expect(awards[1]!.supersedes!.equals(old!._id)).to.equal(true);
      expect(awards[1]!.expiresAt!.getTime()).to.be.greaterThan(Date.now());
      // the old code still verifies: superseded, pointing to the new version
      const v = await findAwardByCode(t.db.connection, old!.code, new Date());
      expect(v!.state).to.equal('superseded');
      expect(v!.newest!.award.code).to.equal(awards[1]!.code);
      const verify = parseHtml(await (await fetch(`${t.baseUrl}/verify/${old!.code}`)).text());
      expect(text(verify, '[data-status]')).to.equal('Replaced by a newer version');
      expect(text(verify, '[data-newer]')).to.equal(awards[1]!.code);
      expect(text(verify, '[data-type]')).to.equal('Recurring: valid 12 months from completion');
      const page = parseHtml((await l.browser.open(`${l.app}/certifications/${String(cert._id)}`)).html);
      expect(text(page, '[data-status]')).to.equal('Valid');
      expect(all(page, '[data-history] li').map((li) => li.getAttribute('data-version'))).to.deep.equal(['2', '1']);
    });

    it('is not renewed by completions from before the renewal window opened', async () => {
      const me = learner(7);
      const courses = w.courses.slice(3, 4);
      const cert = await define(courses, { type: 'recurring', months: 12, window: 40, name: 'Not yet', definitionIds: perpetual(courses) });
      await syncGrades(t, courses[0]!.tool);
      const then = addMonths(new Date(), -11);
      await buildIssuedCertificate(t.db.connection, { definition: courses[0]!.definition, learner: { userId: me.subject, name: 'Bilbo Baggins' }, now: then });
      await evaluateCertification(t.db.connection, cert, { now: then, random, userIds: [me.subject] });
      // the window is open (expires in about a month, opens 40 days before) but the only completion is old
      await evaluateCertification(t.db.connection, cert, { now: new Date(), random, userIds: [me.subject] });
      expect((await awardsOf(cert, me)).map((a) => a.version)).to.deep.equal([1]);
    });
  });
});

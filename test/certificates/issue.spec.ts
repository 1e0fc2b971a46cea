import { expect } from 'chai';
import { Types } from 'mongoose';
import { useTestDatabase } from '../support/db';
import { listAudit } from '../../src/certificates/audit.service';
import { NotEligibleError, LearnerNameUnknownError } from '../../src/certificates/certificate.errors';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { addMonths } from '../../src/certificates/certificate-state';
import { attachPdf, claimCertificate, issueIfEligible } from '../../src/certificates/issue.service';
import { findByCode, getCertificate, listCourseCertificates, listLearnerCertificates } from '../../src/certificates/certificate.queries';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { revokeAll, revokeCertificate } from '../../src/certificates/revoke.service';
import { issueModel } from '../../src/certificates/issue.model';
import * as issueService from '../../src/certificates/issue.service';
import * as reissueService from '../../src/certificates/reissue.service';
import * as revokeService from '../../src/certificates/revoke.service';
import * as certificateQueries from '../../src/certificates/certificate.queries';
import { BILBO_SCORES, T0, random, seedCourse, buildDefinition, setScore, teacher } from '../support/builders';

const later = (days: number) => new Date(T0.getTime() + days * 86_400_000);

describe('issuing certificates', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  describe('claimCertificate (the learner\'s "Get your certificate")', () => {
    it('issues a certificate with the score, the per-item breakdown and a verification code', async () => {
      const course = await seedCourse(conn(), { scores: [[9, 8]], names: ['Frodo Baggins'] });
      const def = await buildDefinition(conn(), course.courseId);
      const { certificate, created } = await claimCertificate(conn(), {
        courseId: course.courseId,
        definitionId: def._id,
        learner: { userId: 'user-1', name: 'Frodo Baggins' },
        now: () => T0,
        random,
      });
      expect(created).to.equal(true);
      expect(certificate).to.include({ userId: 'user-1', learnerName: 'Frodo Baggins', courseTitle: 'Middle-earth Studies', status: 'active', version: 1 });
      expect(certificate.scorePercent).to.be.closeTo(85, 1e-9);
      expect(certificate.evaluation.items.map((i) => i.percent)).to.deep.equal([90, 80]);
      expect(certificate.code).to.match(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(certificate.definitionVersion).to.equal(1);
      expect(certificate.template).to.include({ design: 'classic', paper: 'A4' });
      expect(certificate.issuedAt.toISOString()).to.equal(T0.toISOString());
      expect(certificate.expiresAt).to.equal(null);
      const audit = await listAudit(conn(), course.courseId, { action: 'certificate_issued' });
      expect(audit.entries).to.have.length(1);
      expect(audit.entries[0]!.actor).to.deep.include({ kind: 'learner', userId: 'user-1' });
    });

    it('issues ONE certificate when the learner clicks twice (two claims at once)', async () => {
      const course = await seedCourse(conn(), { scores: [[10, 10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const claim = () => claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const results = await Promise.all([claim(), claim(), claim(), claim()]);
      expect(new Set(results.map((r) => String(r.certificate._id))).size).to.equal(1);
      expect(results.filter((r) => r.created)).to.have.length(1);
      expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(1);
      expect((await listAudit(conn(), course.courseId, { action: 'certificate_issued' })).entries).to.have.length(1);
    });

    it('returns the existing certificate on a later claim instead of issuing another', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const args = { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, random };
      const first = await claimCertificate(conn(), { ...args, now: () => T0 });
      const second = await claimCertificate(conn(), { ...args, now: () => later(1) });
      expect(second.created).to.equal(false);
      expect(second.certificate.code).to.equal(first.certificate.code);
    });

    it('refuses Bilbo at 85% after 9 of 10 activities while the all-graded guard is on, saying why', async () => {
      const course = await seedCourse(conn(), { scores: [BILBO_SCORES] });
      const def = await buildDefinition(conn(), course.courseId);
      const err = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Bilbo' }, now: () => T0, random }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(NotEligibleError);
      expect((err as NotEligibleError).reasons).to.deep.equal([{ code: 'not_all_graded', params: { missing: 1, total: 10 } }]);
      expect((err as NotEligibleError).status).to.equal(403);
      expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(0);
    });

    it('lets Bilbo claim at 85% with the guard off', async () => {
      const course = await seedCourse(conn(), { scores: [BILBO_SCORES] });
      const def = await buildDefinition(conn(), course.courseId, { requireAllGraded: false });
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Bilbo Baggins' }, now: () => T0, random });
      expect(certificate.scorePercent).to.be.closeTo(85, 1e-9);
      expect(certificate.evaluation.notices[0]).to.deep.equal({ code: 'ungraded_counted_as_zero', params: { missing: 1, total: 10 } });
    });

    it('refuses a learner below the threshold', async () => {
      const course = await seedCourse(conn(), { scores: [[5, 5]] });
      const def = await buildDefinition(conn(), course.courseId);
      const err = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Pippin' }, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotEligibleError);
      expect((err as NotEligibleError).reasons.map((r) => r.code)).to.deep.equal(['below_threshold']);
    });

    it('uses the roster name when the launch has none, and refuses when nobody knows the name', async () => {
      const course = await seedCourse(conn(), { scores: [[10], [10]], names: ['Meriadoc Brandybuck', ''] });
      const def = await buildDefinition(conn(), course.courseId);
      const a = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1' }, now: () => T0, random });
      expect(a.certificate.learnerName).to.equal('Meriadoc Brandybuck');
      const err = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-2' }, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(LearnerNameUnknownError);
    });

    it('sets the expiry of a recurring certificate to the issue date plus its months (R9)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId, { validity: { kind: 'recurring', validForMonths: 12 } });
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      expect(certificate.expiresAt!.toISOString()).to.equal('2026-05-03T10:00:00.000Z');
      expect((await findByCode(conn(), certificate.code, later(364)))!.state).to.equal('active');
      expect((await findByCode(conn(), certificate.code, later(365)))!.state).to.equal('expired');
    });

    it('refuses a claim on another course\'s definition as not found', async () => {
      const a = await seedCourse(conn(), { scores: [[10]] });
      const b = await seedCourse(conn(), { scores: [[10]] });
      const defB = await buildDefinition(conn(), b.courseId);
      const err = await claimCertificate(conn(), { courseId: a.courseId, definitionId: defB._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError);
    });
  });

  describe('revokeCertificate (the teacher\'s "delete one")', () => {
    it('revokes, keeps an audit record of what it said, and lets the learner claim again', async () => {
      const course = await seedCourse(conn(), { scores: [[10, 10]], names: ['Frodo Baggins'] });
      const def = await buildDefinition(conn(), course.courseId);
      const claim = () => claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Frodo Baggins' }, now: () => later(2), random });
      const first = (await claim()).certificate;
      const revoked = await revokeCertificate(conn(), { courseId: course.courseId, issueId: first._id, by: teacher, reason: 'Issued to the wrong person', now: () => later(1) });
      expect(revoked).to.include({ status: 'revoked', revokedReason: 'Issued to the wrong person' });
      expect(revoked.revokedBy).to.deep.equal(teacher);
      expect(revoked.activeKey).to.equal(undefined);

      const audit = (await listAudit(conn(), course.courseId, { action: 'certificate_revoked' })).entries;
      expect(audit).to.have.length(1);
      expect(audit[0]!.actor).to.deep.equal(teacher);
      expect(audit[0]!.details.reason).to.equal('Issued to the wrong person');
      expect(audit[0]!.details.certificate).to.deep.include({ code: first.code, learnerName: 'Frodo Baggins', scorePercent: 100, version: 1 });

      const again = await claim();
      expect(again.created).to.equal(true);
      expect(again.certificate.version).to.equal(2);
      expect(again.certificate.code).to.not.equal(first.code);
    });

    it('makes the revoked code verify as revoked, not as unknown', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      await revokeCertificate(conn(), { courseId: course.courseId, issueId: certificate._id, by: teacher, reason: 'mistake', now: () => T0 });
      const v = await findByCode(conn(), certificate.code.toLowerCase(), later(1));
      expect(v).to.not.equal(null);
      expect(v!.state).to.equal('revoked');
      expect(String(v!.certificate._id)).to.equal(String(certificate._id));
      expect(await findByCode(conn(), '0000-0000-0000-0000', T0)).to.equal(null);
      expect(await findByCode(conn(), 'not a code', T0)).to.equal(null);
    });

    it('requires a reason', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const err = await revokeCertificate(conn(), { courseId: course.courseId, issueId: certificate._id, by: teacher, reason: '  ', now: () => T0 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ValidationError);
      expect((err as ValidationError).details).to.deep.equal({ field: 'reason' });
      expect((await getCertificate(conn(), course.courseId, certificate._id)).status).to.equal('active');
    });

    it('does nothing the second time (no second audit entry)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const revoke = () => revokeCertificate(conn(), { courseId: course.courseId, issueId: certificate._id, by: teacher, reason: 'twice', now: () => T0 });
      await Promise.all([revoke(), revoke()]);
      expect((await listAudit(conn(), course.courseId, { action: 'certificate_revoked' })).entries).to.have.length(1);
    });
  });

  describe('a teacher of course A and the certificates of course B', () => {
    it('cannot open, revoke, re-issue or list them: each is "not found"', async () => {
      const a = await seedCourse(conn(), { scores: [[10]] });
      const b = await seedCourse(conn(), { scores: [[10]] });
      const defB = await buildDefinition(conn(), b.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: b.courseId, definitionId: defB._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const attempts: Array<() => Promise<unknown>> = [
        () => getCertificate(conn(), a.courseId, certificate._id),
        () => revokeCertificate(conn(), { courseId: a.courseId, issueId: certificate._id, by: teacher, reason: 'x', now: () => T0 }),
        () => reissueCertificate(conn(), { courseId: a.courseId, issueId: certificate._id, by: teacher, now: () => T0, random }),
        () => revokeAll(conn(), { courseId: a.courseId, definitionId: defB._id, by: teacher, reason: 'x', now: () => T0 }),
        () => attachPdf(conn(), { courseId: a.courseId, issueId: certificate._id, pdfFileId: 'f1' }),
        () => getCertificate(conn(), 'not-an-id', certificate._id),
      ];
      for (const attempt of attempts) expect(await attempt().then(() => 'done', (e: unknown) => e)).to.be.instanceOf(NotFoundError);
      expect(await listCourseCertificates(conn(), a.courseId)).to.deep.equal([]);
      expect((await getCertificate(conn(), b.courseId, certificate._id)).status).to.equal('active');
    });
  });

  describe('reissueCertificate', () => {
    it('creates version 2 with a new code; the old one is superseded and its code leads to the new one', async () => {
      const course = await seedCourse(conn(), { scores: [BILBO_SCORES], names: ['Bilbo Baggins'] });
      const def = await buildDefinition(conn(), course.courseId, { requireAllGraded: false });
      const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Bilbo Baggins' }, now: () => T0, random })).certificate;
      await setScore(conn(), course, 'user-1', 9, 10);
      const { certificate: v2, previous } = await reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => later(9), random });
      expect(v2).to.include({ version: 2, status: 'active' });
      expect(v2.scorePercent).to.be.closeTo(95, 1e-9);
      expect(v2.code).to.not.equal(v1.code);
      expect(String(v2.supersedes)).to.equal(String(v1._id));
      expect(previous).to.include({ status: 'superseded' });
      expect(String(previous.supersededBy)).to.equal(String(v2._id));

      const old = await findByCode(conn(), v1.code, later(10));
      expect(old!.state).to.equal('superseded');
      expect(old!.certificate.scorePercent).to.be.closeTo(85, 1e-9);
      expect(old!.newest!.state).to.equal('active');
      expect(old!.newest!.certificate.code).to.equal(v2.code);

      const audit = (await listAudit(conn(), course.courseId, { action: 'certificate_reissued' })).entries;
      expect(audit[0]!.details).to.deep.include({ previousCode: v1.code, code: v2.code, version: 2 });
      expect(await listLearnerCertificates(conn(), course.courseId, 'user-1')).to.have.length(2);
    });

    it('follows a chain of versions to the newest', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random })).certificate;
      const v2 = (await reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => T0, random })).certificate;
      const v3 = (await reissueCertificate(conn(), { courseId: course.courseId, issueId: v2._id, by: teacher, now: () => T0, random })).certificate;
      const v = await findByCode(conn(), v1.code, T0);
      expect(v!.newest!.certificate.code).to.equal(v3.code);
      expect(v3.version).to.equal(3);
    });

    it('re-issues once when two teachers click at the same time', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random })).certificate;
      const results = await Promise.allSettled([
        reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => T0, random }),
        reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => T0, random }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).to.be.instanceOf(ConflictError);
      expect(await issueModel(conn()).countDocuments({ definitionId: def._id, status: 'active' })).to.equal(1);
      expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(2);
    });

    it('refuses when the learner no longer qualifies, and leaves the certificate as it was', async () => {
      const course = await seedCourse(conn(), { scores: [[10, 10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random })).certificate;
      await setScore(conn(), course, 'user-1', 1, 2);
      const err = await reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotEligibleError);
      expect((await getCertificate(conn(), course.courseId, v1._id)).status).to.equal('active');
    });

    it('refuses to re-issue a revoked certificate', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random })).certificate;
      await revokeCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, reason: 'x', now: () => T0 });
      const err = await reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => T0, random }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConflictError);
    });
  });

  describe('revokeAll (the teacher\'s "delete all")', () => {
    it('revokes every valid certificate of the definition, audits the list, and leaves other definitions alone', async () => {
      const course = await seedCourse(conn(), { scores: [[10], [10], [10]] });
      const pass = await buildDefinition(conn(), course.courseId, { title: 'Pass', thresholdPercent: 60 });
      const distinction = await buildDefinition(conn(), course.courseId, { title: 'Distinction', thresholdPercent: 90 });
      for (const userId of course.userIds) {
        for (const def of [pass, distinction]) {
          await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId, name: userId }, now: () => T0, random });
        }
      }
      const { revoked } = await revokeAll(conn(), { courseId: course.courseId, definitionId: pass._id, by: teacher, reason: 'New term', now: () => later(1) });
      expect(revoked).to.equal(3);
      expect(await issueModel(conn()).countDocuments({ definitionId: pass._id, status: 'revoked' })).to.equal(3);
      expect(await issueModel(conn()).countDocuments({ definitionId: distinction._id, status: 'active' })).to.equal(3);
      const entry = (await listAudit(conn(), course.courseId, { action: 'certificates_revoked_all' })).entries[0]!;
      expect(entry.details).to.deep.include({ reason: 'New term', count: 3 });
      expect((entry.details.certificates as unknown[]).length).to.equal(3);
      expect((await revokeAll(conn(), { courseId: course.courseId, by: teacher, reason: 'all', now: () => later(1) })).revoked).to.equal(3);
      expect(await issueModel(conn()).countDocuments({ courseId: course.courseId, status: 'active' })).to.equal(0);
    });
  });

  describe('issueIfEligible', () => {
    it('reports not_eligible without throwing, for generate-all', async () => {
      const course = await seedCourse(conn(), { scores: [[1]] });
      const def = await buildDefinition(conn(), course.courseId);
      const r = await issueIfEligible(conn(), { courseId: course.courseId, definition: def, learner: { userId: 'user-1', name: 'X' }, issuedBy: teacher, now: () => T0, random });
      expect(r.outcome).to.equal('not_eligible');
      expect(r.certificate).to.equal(null);
    });

    it('retries with a new code when a random code collides with an existing one', async () => {
      const course = await seedCourse(conn(), { scores: [[10], [10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const fixed = () => new Uint8Array(10).fill(7);
      const a = await issueIfEligible(conn(), { courseId: course.courseId, definition: def, learner: { userId: 'user-1', name: 'A' }, issuedBy: teacher, now: () => T0, random: fixed });
      let calls = 0;
      const collidingOnce = (n: number) => (calls++ === 0 ? fixed() : random(n));
      const b = await issueIfEligible(conn(), { courseId: course.courseId, definition: def, learner: { userId: 'user-2', name: 'B' }, issuedBy: teacher, now: () => T0, random: collidingOnce });
      expect(b.outcome).to.equal('issued');
      expect(b.certificate!.code).to.not.equal(a.certificate!.code);
      expect(calls).to.equal(2);
    });
  });

  describe('records', () => {
    it('stores the PDF id once and nothing else changes', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      expect((await attachPdf(conn(), { courseId: course.courseId, issueId: certificate._id, pdfFileId: 'pdf-1' })).pdfFileId).to.equal('pdf-1');
      expect((await attachPdf(conn(), { courseId: course.courseId, issueId: certificate._id, pdfFileId: 'pdf-2' })).pdfFileId).to.equal('pdf-1');
    });

    it('offers no learner-facing way to delete or cancel a certificate (R3)', () => {
      const names = [issueService, reissueService, revokeService, certificateQueries].flatMap((m) => Object.keys(m));
      expect(names).to.include.members(['claimCertificate', 'revokeCertificate', 'reissueCertificate', 'findByCode']);
      expect(names.filter((n) => /delete|cancel|remove/i.test(n))).to.deep.equal([]);
    });

    it('computes expiry months on calendar days (31 January + 1 month = end of February)', () => {
      expect(addMonths(new Date('2025-01-31T09:00:00Z'), 1).toISOString()).to.equal('2025-02-28T09:00:00.000Z');
      expect(addMonths(new Date('2024-01-31T09:00:00Z'), 1).toISOString()).to.equal('2024-02-29T09:00:00.000Z');
      expect(addMonths(new Date('2025-05-03T10:00:00Z'), 24).toISOString()).to.equal('2027-05-03T10:00:00.000Z');
    });

    it('names a missing id as not found (not a cast error)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      expect(await getCertificate(conn(), course.courseId, new Types.ObjectId()).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
      expect(await getCertificate(conn(), course.courseId, 'zzz').catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
    });
  });
});

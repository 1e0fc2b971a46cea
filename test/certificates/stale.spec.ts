import { expect } from 'chai';
import { useTestDatabase } from '../support/db';
import { listAudit } from '../../src/certificates/audit.service';
import { updateDefinition } from '../../src/certificates/definition.service';
import { claimCertificate } from '../../src/certificates/issue.service';
import { findByCode, listLearnerCertificates } from '../../src/certificates/certificate.queries';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { issueModel } from '../../src/certificates/issue.model';
import { courseOverview } from '../../src/certificates/overview.service';
import { findStaleCertificates, reissueStale, runAfterSync } from '../../src/certificates/stale.service';
import { updateCertificateSettings } from '../../src/certificates/settings.service';
import { BILBO_SCORES, T0, random, seedCourse, buildDefinition, setScore, teacher } from '../support/builders';

const DAY = 86_400_000;
const at = (days: number) => new Date(T0.getTime() + days * DAY);

describe('stale certificates and re-issue (R5)', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  /** Bilbo claims at 85% with the guard off; returns the course, definition and certificate. */
  async function bilboClaims(extra: { autoReissue?: boolean } = {}) {
    const course = await seedCourse(conn(), { scores: [BILBO_SCORES, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]], names: ['Bilbo Baggins', 'Frodo Baggins'], ...extra });
    const def = await buildDefinition(conn(), course.courseId, { requireAllGraded: false });
    const claim = (userId: string, name: string) => claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId, name }, now: () => T0, random });
    const bilbo = (await claim('user-1', 'Bilbo Baggins')).certificate;
    const frodo = (await claim('user-2', 'Frodo Baggins')).certificate;
    return { course, def, bilbo, frodo };
  }

  it('finds nothing stale while the grades are what the certificates say', async () => {
    const { course } = await bilboClaims();
    expect(await findStaleCertificates(conn(), course.courseId, at(1))).to.deep.equal([]);
  });

  it('tells the seeds\' story: 85% after nine, the tenth graded 10/10, stale 85% -> 95%, re-issued, old code superseded', async () => {
    const { course, def, bilbo } = await bilboClaims();
    await setScore(conn(), course, 'user-1', 9, 10);

    const stale = await findStaleCertificates(conn(), course.courseId, at(1));
    expect(stale).to.have.length(1);
    expect(stale[0]!.certificate.userId).to.equal('user-1');
    expect(stale[0]!.comparison.issuedScore).to.be.closeTo(85, 1e-9);
    expect(stale[0]!.comparison.currentScore).to.be.closeTo(95, 1e-9);
    expect(stale[0]!.comparison.stillEligible).to.equal(true);
    expect(stale[0]!.definitionChanged).to.equal(false);

    const overview = await courseOverview(conn(), course.courseId, def._id, at(1));
    const row = overview.rows.find((r) => r.userId === 'user-1')!;
    expect(row.status).to.equal('stale');
    expect(overview.counts).to.include({ stale: 1, active: 1 });

    const result = await reissueStale(conn(), { courseId: course.courseId, by: teacher, now: () => at(2), random });
    expect(result.reissued).to.have.length(1);
    const v2 = result.reissued[0]!.certificate;
    expect(v2.scorePercent).to.be.closeTo(95, 1e-9);
    expect(v2.version).to.equal(2);

    const mine = await listLearnerCertificates(conn(), course.courseId, 'user-1');
    expect(mine.map((c) => [c.version, c.status])).to.deep.equal([
      [2, 'active'],
      [1, 'superseded'],
    ]);
    const old = await findByCode(conn(), bilbo.code, at(3));
    expect(old!.state).to.equal('superseded');
    expect(old!.newest!.certificate.code).to.equal(v2.code);
    expect(await findStaleCertificates(conn(), course.courseId, at(3))).to.deep.equal([]);
  });

  it('re-issues only the learners asked for', async () => {
    const { course } = await bilboClaims();
    await setScore(conn(), course, 'user-1', 9, 10);
    await setScore(conn(), course, 'user-2', 0, 5);
    expect(await findStaleCertificates(conn(), course.courseId, at(1))).to.have.length(2);
    const r = await reissueStale(conn(), { courseId: course.courseId, by: teacher, now: () => at(1), random, userIds: ['user-2'] });
    expect(r.reissued.map((x) => x.certificate.userId)).to.deep.equal(['user-2']);
    expect((await findStaleCertificates(conn(), course.courseId, at(1))).map((s) => s.certificate.userId)).to.deep.equal(['user-1']);
  });

  it('leaves a stale certificate of a learner who no longer qualifies as it is, and reports it', async () => {
    const { course, def } = await bilboClaims();
    for (let i = 0; i < 5; i++) await setScore(conn(), course, 'user-1', i, 2);
    const r = await reissueStale(conn(), { courseId: course.courseId, by: teacher, now: () => at(1), random });
    expect(r.reissued).to.have.length(0);
    expect(r.notEligible.map((s) => s.certificate.userId)).to.deep.equal(['user-1']);
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id, userId: 'user-1', status: 'active' })).to.equal(1);
  });

  it('sees a definition change (items or weights) as making certificates stale', async () => {
    const { course, def } = await bilboClaims();
    await updateDefinition(conn(), {
      courseId: course.courseId,
      definitionId: def._id,
      input: { title: 'Certificate of Achievement', issuerName: 'University of Rivendell', requireAllGraded: false, items: { mode: 'selected', items: course.lineItemIds.slice(0, 5).map((id) => ({ lineItemId: id, weight: 1 })) } },
      by: teacher,
      now: at(1),
      publicAllowed: true,
    });
    const stale = await findStaleCertificates(conn(), course.courseId, at(1));
    expect(stale.map((s) => [s.certificate.userId, s.definitionChanged])).to.deep.equal([
      ['user-1', true],
      ['user-2', true],
    ]);
  });

  it('ignores revoked certificates', async () => {
    const { course, bilbo } = await bilboClaims();
    await revokeCertificate(conn(), { courseId: course.courseId, issueId: bilbo._id, by: teacher, reason: 'x', now: () => at(1) });
    await setScore(conn(), course, 'user-1', 9, 10);
    expect(await findStaleCertificates(conn(), course.courseId, at(1))).to.deep.equal([]);
  });

  describe('runAfterSync', () => {
    it('changes nothing when the course does not re-issue automatically, and counts the stale ones', async () => {
      const { course } = await bilboClaims({ autoReissue: false });
      await setScore(conn(), course, 'user-1', 9, 10);
      const r = await runAfterSync(conn(), { courseId: course.courseId, now: () => at(1), random });
      expect(r).to.deep.equal({ autoReissue: false, stale: 1, reissued: 0, notEligible: 0, skipped: 0 });
      expect(await issueModel(conn()).countDocuments({ courseId: course.courseId, status: 'superseded' })).to.equal(0);
    });

    it('re-issues stale certificates after the sync when the course setting is on, audited as the system', async () => {
      const { course } = await bilboClaims({ autoReissue: false });
      await updateCertificateSettings(conn(), { courseId: course.courseId, settings: { autoReissue: true }, by: teacher, now: at(0) });
      await setScore(conn(), course, 'user-1', 9, 10);
      const r = await runAfterSync(conn(), { courseId: course.courseId, now: () => at(1), random });
      expect(r).to.include({ autoReissue: true, reissued: 1 });
      const audit = await listAudit(conn(), course.courseId, { action: 'certificate_reissued' });
      expect(audit.entries[0]!.actor.kind).to.equal('system');
      expect((await listAudit(conn(), course.courseId, { action: 'settings_changed' })).entries[0]!.details).to.deep.equal({
        changes: { autoReissue: { before: false, after: true } },
      });
      // running again finds nothing left to do
      expect(await runAfterSync(conn(), { courseId: course.courseId, now: () => at(2), random })).to.include({ stale: 0, reissued: 0 });
    });
  });
});

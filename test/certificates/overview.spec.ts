import { expect } from 'chai';
import type { Types } from 'mongoose';
import { useTestDatabase } from '../support/db';
import { memberModel } from '../../src/grades/member.model';
import { NotFoundError } from '../../src/errors';
import { claimCertificate } from '../../src/certificates/issue.service';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { issueModel } from '../../src/certificates/issue.model';
import { courseOverview } from '../../src/certificates/overview.service';
import { learnerOverview } from '../../src/certificates/learner-overview.service';
import { T0, random, seedCourse, buildDefinition, setScore, teacher } from '../support/builders';

const at = (days: number) => new Date(T0.getTime() + days * 86_400_000);

describe('the teacher overview', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  it('shows every learner with score, eligibility and certificate status (none, active, stale, expired, revoked)', async () => {
    const course = await seedCourse(conn(), {
      scores: [[10, 9], [5, 5], [9, 9], [10, 8], [10, 10], [9, 10]],
      names: ['Eowyn', 'Boromir', 'Celeborn', 'Arwen', 'Denethor', 'Faramir'],
      memberStatus: ['active', 'active', 'left', 'active', 'active', 'active'],
    });
    const def = await buildDefinition(conn(), course.courseId, { validity: { kind: 'recurring', validForMonths: 1 } });
    const claim = (userId: string, when: Date) =>
      claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId, name: userId }, now: () => when, random });
    await claim('user-1', at(20)); // Eowyn: active
    await claim('user-3', at(20)); // Celeborn: active, left the course since
    await claim('user-4', at(20)); // Arwen: stale after a grade change
    await setScore(conn(), course, 'user-4', 1, 10);
    const denethor = (await claim('user-5', at(20))).certificate;
    await revokeCertificate(conn(), { courseId: course.courseId, issueId: denethor._id, by: teacher, reason: 'x', now: () => at(21) });
    await claim('user-6', T0); // Faramir: issued on day 0 for one month -> expired by day 40

    const o = await courseOverview(conn(), course.courseId, def._id, at(40));
    expect(o.rows.map((r) => [r.name, r.status, r.eligible, r.memberStatus])).to.deep.equal([
      ['Arwen', 'stale', true, 'active'],
      ['Boromir', 'none', false, 'active'],
      ['Celeborn', 'active', true, 'left'],
      ['Denethor', 'revoked', true, 'active'],
      ['Eowyn', 'active', true, 'active'],
      ['Faramir', 'expired', true, 'active'],
    ]);
    expect(o.counts).to.deep.equal({ learners: 6, eligible: 5, none: 1, active: 2, stale: 1, expired: 1, superseded: 0, revoked: 1 });
    const arwen = o.rows[0]!;
    expect(arwen.comparison).to.include({ issuedScore: 90, currentScore: 100 });
    expect(arwen.certificate!.code).to.be.a('string');
    expect(arwen.email).to.equal('user-4@example.org');
    expect(o.rows[1]!.reasons.map((r) => r.code)).to.deep.equal(['below_threshold']);
    expect(o.rows[1]!.certificate).to.equal(null);
  });

  it('shows the current version after a re-issue, and someone no longer on the roster who holds a certificate', async () => {
    const course = await seedCourse(conn(), { scores: [[10], [10]], names: ['Legolas', 'Gimli'] });
    const def = await buildDefinition(conn(), course.courseId);
    const v1 = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Legolas' }, now: () => T0, random })).certificate;
    await reissueCertificate(conn(), { courseId: course.courseId, issueId: v1._id, by: teacher, now: () => at(1), random });
    await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-2', name: 'Gimli' }, now: () => T0, random });
    await memberModel(conn()).deleteOne({ courseId: course.courseId, userId: 'user-2' });

    const o = await courseOverview(conn(), course.courseId, def._id, at(2));
    const legolas = o.rows.find((r) => r.userId === 'user-1')!;
    expect(legolas.status).to.equal('active');
    expect(legolas.certificate!.version).to.equal(2);
    const gimli = o.rows.find((r) => r.userId === 'user-2')!;
    expect(gimli).to.include({ name: 'Gimli', memberStatus: 'unknown', status: 'active' });
  });

  it('does not show teachers as learners', async () => {
    const course = await seedCourse(conn(), { scores: [[10], [10]] });
    await memberModel(conn()).updateOne({ courseId: course.courseId, userId: 'user-2' }, { $set: { isLearner: false } });
    const def = await buildDefinition(conn(), course.courseId);
    const o = await courseOverview(conn(), course.courseId, def._id, T0);
    expect(o.rows.map((r) => r.userId)).to.deep.equal(['user-1']);
  });

  it('refuses a definition of another course', async () => {
    const a = await seedCourse(conn(), { scores: [[10]] });
    const b = await seedCourse(conn(), { scores: [[10]] });
    const defB = await buildDefinition(conn(), b.courseId);
    expect(await courseOverview(conn(), a.courseId, defB._id, T0).catch((e: unknown) => e)).to.be.instanceOf(NotFoundError);
  });

  describe('learnerOverview (the learner page)', () => {
    const statusesOf = async (courseId: Types.ObjectId, when: Date) => (await learnerOverview(conn(), courseId, 'user-1', when)).statuses;

    it('lists what the learner can claim first, then what they hold, then what they do not qualify for yet', async () => {
      const course = await seedCourse(conn(), { scores: [[10, 7]] });
      const pass = await buildDefinition(conn(), course.courseId, { title: 'Pass', thresholdPercent: 60 });
      const distinction = await buildDefinition(conn(), course.courseId, { title: 'Distinction', thresholdPercent: 90 });
      await buildDefinition(conn(), course.courseId, { title: 'Merit', thresholdPercent: 80 });
      await claimCertificate(conn(), { courseId: course.courseId, definitionId: pass._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
      const mine = await statusesOf(course.courseId, at(1));
      expect(mine.map((s) => [s.definition.title, s.state, s.status, s.canClaim])).to.deep.equal([
        ['Merit', 'claimable', 'none', true],
        ['Pass', 'held', 'active', false],
        ['Distinction', 'pending', 'none', false],
      ]);
      expect(mine[2]!.evaluation.reasons).to.deep.equal([{ code: 'below_threshold', params: { score: 85, threshold: 90 } }]);
      expect(String(mine[1]!.definition._id)).to.equal(String(pass._id));
      expect(String(mine[2]!.definition._id)).to.equal(String(distinction._id));

      await setScore(conn(), course, 'user-1', 1, 10);
      const later = await statusesOf(course.courseId, at(2));
      expect(later.map((s) => [s.definition.title, s.state, s.status, s.canClaim])).to.deep.equal([
        ['Distinction', 'claimable', 'none', true],
        ['Merit', 'claimable', 'none', true],
        ['Pass', 'held', 'stale', false],
      ]);
      expect(later[2]!.comparison).to.include({ issuedScore: 85, currentScore: 100 });
    });

    it('lists every certificate the learner was issued, newest first, with the page\'s statuses', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId);
      const first = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random })).certificate;
      await revokeCertificate(conn(), { courseId: course.courseId, issueId: first._id, by: teacher, reason: 'wrong name', now: () => at(1) });
      const second = (await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => at(2), random })).certificate;
      const overview = await learnerOverview(conn(), course.courseId, 'user-1', at(3));
      expect(overview.certificates.map((c) => [String(c._id), c.status])).to.deep.equal([
        [String(second._id), 'active'],
        [String(first._id), 'revoked'],
      ]);
      expect(overview.statuses.map((s) => [String(s.certificate?._id), s.state])).to.deep.equal([[String(second._id), 'held']]);
    });

    it('renews an expired recurring certificate when the learner claims again (R9)', async () => {
      const course = await seedCourse(conn(), { scores: [[10]] });
      const def = await buildDefinition(conn(), course.courseId, { validity: { kind: 'recurring', validForMonths: 1 } });
      const claim = (when: Date) => claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => when, random });
      const first = (await claim(T0)).certificate;
      const expired = await statusesOf(course.courseId, at(40));
      expect(expired.map((s) => [s.status, s.state, s.canClaim])).to.deep.equal([['expired', 'claimable', true]]);
      const [a, b] = await Promise.all([claim(at(40)), claim(at(40))]);
      expect(String(a.certificate._id)).to.equal(String(b.certificate._id));
      expect(a.certificate).to.include({ version: 2, status: 'active' });
      expect(a.certificate.expiresAt!.toISOString()).to.equal(at(40 + 30).toISOString());
      expect((await issueModel(conn()).findById(first._id).lean())!.status).to.equal('superseded');
      expect((await statusesOf(course.courseId, at(41))).map((s) => s.status)).to.deep.equal(['active']);
    });
  });
});

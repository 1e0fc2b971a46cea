import { expect } from 'chai';
import { useTestDatabase } from '../support/db';
import { listAudit } from '../../src/certificates/audit.service';
import { dryRunGenerateAll, generateAll } from '../../src/certificates/generate-all.service';
import { claimCertificate } from '../../src/certificates/issue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { issueModel } from '../../src/certificates/issue.model';
import { courseOverview } from '../../src/certificates/overview.service';
import { T0, random, seedCourse, buildDefinition, setScore, teacher } from '../support/builders';

describe('generate all certificates (R4)', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  /**
   * user-1 95% eligible, user-2 50% not, user-3 90% but left the course, user-4 85% already has
   * one, user-5 100% eligible, user-6 not fully graded, user-7 eligible but no name.
   */
  async function classroom() {
    const course = await seedCourse(conn(), {
      scores: [
        [10, 9],
        [5, 5],
        [9, 9],
        [9, 8],
        [10, 10],
        [10, null],
        [10, 10],
      ],
      names: ['Aragorn', 'Boromir', 'Celeborn', 'Denethor', 'Elrond', 'Faramir', ''],
      memberStatus: ['active', 'active', 'left', 'active', 'active', 'active', 'active'],
    });
    const def = await buildDefinition(conn(), course.courseId);
    await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-4', name: 'Denethor' }, now: () => T0, random });
    return { course, def };
  }

  it('dry run lists who will get one, who has one, who does not qualify, and who is skipped, changing nothing', async () => {
    const { course, def } = await classroom();
    const plan = await dryRunGenerateAll(conn(), course.courseId, def._id, T0);
    expect(plan.counts).to.deep.equal({ willIssue: 2, alreadyIssued: 1, stale: 0, notEligible: 2, skipped: 2 });
    expect(plan.willIssue.map((e) => e.userId)).to.deep.equal(['user-1', 'user-5']);
    expect(plan.alreadyIssued.map((e) => e.userId)).to.deep.equal(['user-4']);
    expect(plan.notEligible.map((e) => [e.userId, e.reasons.map((r) => r.code)])).to.deep.equal([
      ['user-2', ['below_threshold']],
      ['user-6', ['not_all_graded', 'below_threshold']],
    ]);
    expect(plan.skipped.map((e) => [e.userId, e.skipReason])).to.deep.equal([
      ['user-3', 'not_active'],
      ['user-7', 'name_unknown'],
    ]);
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(1);
  });

  it('issues exactly the eligible learners, reports progress, audits, and does nothing more when run again', async () => {
    const { course, def } = await classroom();
    const progress: Array<[number, number]> = [];
    const r = await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random, onProgress: (d, t) => void progress.push([d, t]), batchSize: 1 });
    expect(r).to.deep.equal({ total: 2, issued: 2, alreadyIssued: 1, stale: 0, notEligible: 2, skipped: 2, aborted: false });
    expect(progress).to.deep.equal([
      [0, 2],
      [1, 2],
      [2, 2],
    ]);
    const active = await issueModel(conn()).find({ definitionId: def._id, status: 'active' }).lean();
    expect(active.map((c) => c.userId).sort()).to.deep.equal(['user-1', 'user-4', 'user-5']);
    const aragorn = active.find((c) => c.userId === 'user-1')!;
    expect(aragorn).to.include({ learnerName: 'Aragorn', version: 1, courseTitle: 'Middle-earth Studies' });
    expect(aragorn.issuedBy).to.deep.equal(teacher);
    expect(aragorn.scorePercent).to.be.closeTo(95, 1e-9);

    const audit = await listAudit(conn(), course.courseId);
    expect(audit.entries.filter((e) => e.action === 'certificate_issued')).to.have.length(3);
    expect(audit.entries.find((e) => e.action === 'generate_all')!.details).to.include({ issued: 2 });

    const again = await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random });
    expect(again).to.include({ total: 0, issued: 0, alreadyIssued: 3 });
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(3);
  });

  it('stops between batches when aborted, and a second run finishes the job', async () => {
    const scores = Array.from({ length: 10 }, () => [10]);
    const course = await seedCourse(conn(), { scores });
    const def = await buildDefinition(conn(), course.courseId);
    const controller = new AbortController();
    const first = await generateAll(conn(), {
      courseId: course.courseId,
      definitionId: def._id,
      by: teacher,
      now: () => T0,
      random,
      batchSize: 3,
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 3) controller.abort();
      },
    });
    expect(first).to.include({ total: 10, issued: 3, aborted: true });
    const second = await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random, batchSize: 3 });
    expect(second).to.include({ total: 7, issued: 7, alreadyIssued: 3, aborted: false });
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id, status: 'active' })).to.equal(10);
  });

  it('issues one certificate per learner even when a learner claims during the run', async () => {
    const course = await seedCourse(conn(), { scores: Array.from({ length: 20 }, () => [10]) });
    const def = await buildDefinition(conn(), course.courseId);
    const claims = course.userIds.map((userId) =>
      claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId, name: userId }, now: () => T0, random }),
    );
    const [run] = await Promise.all([generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random, batchSize: 5 }), ...claims]);
    expect(run.issued + run.alreadyIssued).to.equal(20);
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id })).to.equal(20);
    expect(await issueModel(conn()).countDocuments({ definitionId: def._id, status: 'active' })).to.equal(20);
  });

  it('gives a learner whose certificate was revoked a new version', async () => {
    const course = await seedCourse(conn(), { scores: [[10]] });
    const def = await buildDefinition(conn(), course.courseId);
    const { certificate } = await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
    await revokeCertificate(conn(), { courseId: course.courseId, issueId: certificate._id, by: teacher, reason: 'redo', now: () => T0 });
    const r = await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random });
    expect(r.issued).to.equal(1);
    const now = await issueModel(conn()).findOne({ definitionId: def._id, status: 'active' }).lean();
    expect(now!.version).to.equal(2);
  });

  it('counts a stale certificate as stale, not as one to issue', async () => {
    const course = await seedCourse(conn(), { scores: [[10, 9]] });
    const def = await buildDefinition(conn(), course.courseId);
    await claimCertificate(conn(), { courseId: course.courseId, definitionId: def._id, learner: { userId: 'user-1', name: 'Sam' }, now: () => T0, random });
    await setScore(conn(), course, 'user-1', 1, 10);
    const plan = await dryRunGenerateAll(conn(), course.courseId, def._id, T0);
    expect(plan.counts).to.include({ willIssue: 0, stale: 1 });
    const overview = await courseOverview(conn(), course.courseId, def._id, T0);
    expect(overview.rows[0]!.comparison!.currentScore).to.equal(100);
  });
});

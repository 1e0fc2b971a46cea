import { expect } from 'chai';
import { auditModel } from '../../src/certificates/audit.model';
import { repairIssueAudit } from '../../src/certificates/audit-repair';
import { generateAll } from '../../src/certificates/generate-all.service';
import { issueModel } from '../../src/certificates/issue.model';
import { useTestDatabase } from '../support/db';
import { T0, buildDefinition, random, seedCourse, teacher } from '../support/builders';

describe('audit trail after a crash between a certificate and its entry', () => {
  const db = useTestDatabase({ indexes: [issueModel] });
  const conn = () => db.connection;

  async function crashedRun() {
    const course = await seedCourse(conn(), { scores: Array.from({ length: 12 }, () => [9]) });
    const def = await buildDefinition(conn(), course.courseId);
    await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random, batchSize: 5 });
    // what kill -9 between a batch's insert and its audit write leaves: 5 certificates without entries
    const lost = (await issueModel(conn()).find({ courseId: course.courseId }).sort({ _id: 1 }).limit(5).lean()).map((c) => c._id);
    await auditModel(conn()).deleteMany({ issueId: { $in: lost } });
    return { course, def, lost };
  }

  it('"generate all" run again writes the missing entries, once, from the certificates themselves', async () => {
    const { course, def, lost } = await crashedRun();
    const r = await generateAll(conn(), { courseId: course.courseId, definitionId: def._id, by: teacher, now: () => T0, random });
    expect(r.issued).to.equal(0);
    const entries = await auditModel(conn()).find({ courseId: course.courseId, action: 'certificate_issued' }).lean();
    expect(entries).to.have.length(12);
    expect(new Set(entries.map((e) => String(e.issueId))).size).to.equal(12);
    const recovered = entries.filter((e) => e.details.recovered === true);
    expect(recovered.map((e) => String(e.issueId)).sort()).to.deep.equal(lost.map(String).sort());
    expect(recovered[0]!.actor).to.deep.include({ kind: 'teacher', userId: teacher.userId });
    expect(recovered[0]!.at.toISOString()).to.equal(T0.toISOString());
  });

  it('repairing twice, or on a trail that is complete, writes nothing more', async () => {
    const { course } = await crashedRun();
    expect(await repairIssueAudit(conn(), course.courseId)).to.equal(5);
    expect(await repairIssueAudit(conn(), course.courseId)).to.equal(0);
    expect(await repairIssueAudit(conn())).to.equal(0);
    expect(await auditModel(conn()).countDocuments({ courseId: course.courseId, action: 'certificate_issued' })).to.equal(12);
  });
});

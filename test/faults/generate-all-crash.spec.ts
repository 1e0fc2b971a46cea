import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { auditModel } from '../../src/certificates/audit.model';
import { GENERATE_ALL_JOB, generateAllPayload } from '../../src/certificates/generate-all.job';
import { issueModel } from '../../src/certificates/issue.model';
import type { OfflineEngine } from '../../src/db/offline/server';
import { buildDefinition, seedCourse, teacher } from '../support/builders';
import { connectTo, enqueueJob, expireLease, jobDoc, spawnTool, startEngine, tempDir, waitFor, type ToolProcess } from './support';

const LEARNERS = 2000;

describe('kill -9 during "generate all certificates"', function () {
  this.timeout(120_000);
  let engine: OfflineEngine | undefined;
  let conn: Connection | undefined;
  let tool: ToolProcess | undefined;

  afterEach(async () => {
    await tool?.kill();
    await conn?.close();
    await engine?.stop();
    tool = conn = engine = undefined;
  });

  it('leaves one audit entry per certificate and no duplicates once the resumed run has finished', async () => {
    engine = await startEngine(tempDir('db'));
    conn = await connectTo(engine, 'crash');
    await issueModel(conn).createIndexes();
    const course = await seedCourse(conn, { scores: Array.from({ length: LEARNERS }, () => [9]) });
    const definition = await buildDefinition(conn, course.courseId);
    const env = { MONGODB_URI: `mongodb://127.0.0.1:${engine.port}/crash`, SANDBOX: 'false' };
    const jobId = await enqueueJob(conn, GENERATE_ALL_JOB, { courseId: String(course.courseId), payload: generateAllPayload(String(definition._id), teacher) });

    tool = await spawnTool(env);
    // kill it for real as soon as the first batch of certificates is in (its audit entries may not be)
    const midway = await waitFor(async () => (await issueModel(conn!).countDocuments({ courseId: course.courseId })) > 0, 30_000, 10);
    expect(midway, tool.output()).to.equal(true);
    tool.child.kill('SIGKILL');
    await tool.exited;
    const issuedAtKill = await issueModel(conn).countDocuments({ courseId: course.courseId });
    expect(issuedAtKill).to.be.above(0).and.below(LEARNERS);

    await expireLease(conn, jobId);
    tool = await spawnTool(env);
    const finished = await waitFor(async () => (await jobDoc(conn!, jobId))?.status === 'succeeded', 40_000, 100);
    expect(finished, `${JSON.stringify(await jobDoc(conn, jobId))}\n${tool.output()}`).to.equal(true);

    const certificates = await issueModel(conn).find({ courseId: course.courseId }, { userId: 1 }).lean();
    const entries = await auditModel(conn).find({ courseId: course.courseId, action: 'certificate_issued' }, { issueId: 1 }).lean();
    expect(certificates).to.have.length(LEARNERS);
    expect(new Set(certificates.map((c) => c.userId)).size).to.equal(LEARNERS);
    expect(entries).to.have.length(LEARNERS);
    expect(new Set(entries.map((e) => String(e.issueId)))).to.deep.equal(new Set(certificates.map((c) => String(c._id))));
  });
});

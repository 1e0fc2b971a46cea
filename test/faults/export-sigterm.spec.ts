import { connect } from 'node:net';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { generateAll } from '../../src/certificates/generate-all.service';
import { issueModel } from '../../src/certificates/issue.model';
import type { OfflineEngine } from '../../src/db/offline/server';
import { EXPORT_PDF_JOB, type ExportResult } from '../../src/documents/export.job';
import { T0, buildDefinition, random, seedCourse, teacher } from '../support/builders';
import { connectTo, enqueueJob, jobDoc, spawnTool, startEngine, tempDir, waitFor, type ToolProcess } from './support';

// Enough batches (of 100) that the export is still printing when SIGTERM comes: the first batch
// is written (progress > 0) while the next two print, and the third starts only after it.
const CERTIFICATES = 300;

describe('SIGTERM during an export', function () {
  this.timeout(90_000);
  let engine: OfflineEngine | undefined;
  let conn: Connection | undefined;
  let tool: ToolProcess | undefined;

  afterEach(async () => {
    await tool?.kill();
    await conn?.close();
    await engine?.stop();
    tool = conn = engine = undefined;
  });

  it('hands the export back to the queue, and the next start finishes it', async () => {
    engine = await startEngine(tempDir('db'));
    conn = await connectTo(engine, 'export');
    await issueModel(conn).createIndexes();
    const course = await seedCourse(conn, { scores: Array.from({ length: CERTIFICATES }, () => [9]) });
    const definition = await buildDefinition(conn, course.courseId);
    await generateAll(conn, { courseId: course.courseId, definitionId: definition._id, by: teacher, now: () => T0, random });
    const env = { MONGODB_URI: `mongodb://127.0.0.1:${engine.port}/export`, SANDBOX: 'false' };
    const jobId = await enqueueJob(conn, EXPORT_PDF_JOB, { courseId: String(course.courseId), payload: { language: 'en' } });

    tool = await spawnTool(env);
    const printing = await waitFor(async () => ((await jobDoc(conn!, jobId))?.progress.done ?? 0) > 0, 30_000, 50);
    expect(printing, tool.output()).to.equal(true);
    // a browser upload still arriving: shutdown waits for it (SHUTDOWN_TIMEOUT_MS) while the export is printing
    const upload = connect(Number(new URL(tool.url).port), '127.0.0.1');
    upload.on('error', () => undefined);
    upload.write('POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncode=');
    await new Promise((r) => setTimeout(r, 200));
    tool.child.kill('SIGTERM');
    expect(await tool.exited, tool.output()).to.equal(0);
    upload.destroy();
    const handedBack = await jobDoc(conn, jobId);
    expect(handedBack?.status, JSON.stringify(handedBack?.error)).to.equal('queued');
    expect(handedBack?.error).to.equal(null);

    tool = await spawnTool(env);
    const done = await waitFor(async () => ['succeeded', 'failed'].includes((await jobDoc(conn!, jobId))?.status ?? ''), 40_000, 200);
    const job = await jobDoc(conn, jobId);
    expect(done && job?.status, `${JSON.stringify(job?.error)}\n${tool.output()}`).to.equal('succeeded');
    expect((job?.result as ExportResult).certificates).to.equal(CERTIFICATES);
  });
});

/**
 * Backups (#14, docs/deploy.md "Backups"): a copy of the embedded engine's files, taken while it
 * runs, restored into a fresh engine, verifies the same certificates with the same answers, and
 * holds the same GridFS files (stored PDFs) byte for byte. On a real MongoDB the same is
 * `mongodump --archive --gzip` / `mongorestore` (GridFS is two ordinary collections per bucket).
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { findByCode } from '../../src/certificates/certificate.queries';
import { issueModel } from '../../src/certificates/issue.model';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { connectToOfflineEngine } from '../../src/db/connect';
import { startOfflineEngine, type OfflineEngine } from '../../src/db/offline/server';
import { fileObjectId, readFileBuffer, uploadBuffer } from '../../src/documents/gridfs';
import { buildDefinition, seedCourse, teacher, T0 } from '../support/builders';
import { buildIssuedCertificate } from '../support/builders';
import { quietLogger } from '../support/db';
import { tempDir } from '../faults/support';

describe('backup and restore of the embedded engine', function () {
  this.timeout(30_000);
  const engines: OfflineEngine[] = [];
  const conns: Connection[] = [];
  after(async () => {
    for (const c of conns) await c.close();
    for (const e of engines) await e.stop();
  });

  async function open(dir: string): Promise<Connection> {
    const engine = await startOfflineEngine({ dir, logger: quietLogger });
    engines.push(engine);
    const conn = (await connectToOfflineEngine(engine, 'lti-certificates', false)).connection;
    conns.push(conn);
    return conn;
  }

  it('a copy of the journal taken while the engine runs verifies the same certificates, with the same PDFs', async () => {
    const live = tempDir('backup-live');
    const conn = await open(live);
    await issueModel(conn).createIndexes();
    const course = await seedCourse(conn, { scores: [[9], [8], [10]], names: ['Frodo Baggins', 'Sam Gamgee', 'Merry Brandybuck'] });
    const definition = await buildDefinition(conn, course.courseId);
    const issued = [];
    for (const userId of course.userIds) issued.push(await buildIssuedCertificate(conn, { definition, learner: { userId } }));
    await revokeCertificate(conn, { courseId: course.courseId, issueId: issued[1]!._id, by: teacher, reason: 'issued by mistake', now: () => T0 });
    const pdfBytes = Buffer.from(`%PDF-1.7 certificate of ${issued[0]!.code} ${'x'.repeat(300_000)}`);
    const fileId = await uploadBuffer(conn, 'pdfs', `certificate-${String(issued[0]!._id)}-v1-en.pdf`, pdfBytes, { issueId: String(issued[0]!._id) });
    const before = await Promise.all(issued.map((c) => findByCode(conn, c.code, T0)));

    // the backup: one file, copied while the engine is running (as `cp` in a cron job would)
    const restored = tempDir('backup-restored');
    expect(existsSync(join(live, 'journal.bsonl'))).to.equal(true);
    copyFileSync(join(live, 'journal.bsonl'), join(restored, 'journal.bsonl'));
    // the live database moves on; the backup must not
    await issueModel(conn).deleteMany({});

    const copy = await open(restored);
    const after = await Promise.all(issued.map((c) => findByCode(copy, c.code, T0)));
    expect(after.map((v) => [v?.certificate.code, v?.state, v?.certificate.learnerName])).to.deep.equal(
      before.map((v) => [v?.certificate.code, v?.state, v?.certificate.learnerName]),
    );
    expect(after.map((v) => v?.state)).to.deep.equal(['active', 'revoked', 'active']);
    expect((await readFileBuffer(copy, 'pdfs', fileObjectId(fileId.toHexString())!)).equals(pdfBytes), 'the GridFS file, byte for byte').to.equal(true);
    // unique indexes came back too: a second active certificate for the same learner is refused
    const dup = await issueModel(copy).collection.insertOne({ ...issued[0]!, _id: undefined as never, code: 'ZZZZ-ZZZZ-ZZZZ-ZZZ1' }).catch((e: { code?: number }) => e);
    expect((dup as { code?: number }).code).to.equal(11000);
  });
});

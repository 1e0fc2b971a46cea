/**
 * Retention of the personal part of audit entries (#14): names, e-mails and reasons live in
 * `audit_details` with a TTL of AUDIT_DETAIL_RETENTION_DAYS (default 730) after the entry; the entry
 * itself (what, when, which certificate, actor kind) stays, and the page says the details were removed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Types, type Connection } from 'mongoose';
import { auditDetailRetentionDays } from '../../src/certificates/audit.model';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import { listCertificationAudit, recordCertificationAudit } from '../../src/certifications/certification-audit';
import { buildIssuedCertificate } from '../support/builders';
import { sharedTestEngine } from '../support/db';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { TEACHER, defineCertificate, launchAs, sandboxCourse, syncGrades, toolCourse } from '../support/e2e';
import { parseHtml } from '../support/html';

const DAY_MS = 86_400_000;

describe('Audit details are kept AUDIT_DETAIL_RETENTION_DAYS, then removed by a TTL; the entry stays (#14)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let conn: Connection;
  let courseId: Types.ObjectId;
  let def: DefinitionDoc;
  let c: ReturnType<typeof sandboxCourse>;
  let learner: { userId: string; name: string };

  before(async () => {
    t = await startTestApp();
    conn = t.db.connection;
    c = sandboxCourse(t, { scores: [[10, 10, 10, 10]], title: 'Elvish Songs' });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const course = await toolCourse(t, c);
    courseId = course._id;
    await syncGrades(t, course);
    def = await defineCertificate(t, courseId, { title: 'Song Singer' });
    const u = t.sandbox.store.getUser(c.learnerIds[0]!)!;
    learner = { userId: t.sandbox.store.subjectOf(c.course, u), name: u.name };
  });

  const rows = async () => {
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const page = await teacher.browser.open(`${teacher.app}/teacher/audit`);
    return [...parseHtml(page.html).querySelectorAll('table.audit tbody tr')].map((tr) => tr.textContent.replace(/\s+/g, ' ').trim());
  };
  const exported = async () => {
    const admin = new HttpBrowser();
    expect((await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    const res = await admin.request(`${t.baseUrl}/admin/privacy/export`, { form: { issuer: t.sandbox.issuer, userId: learner.userId } });
    expect(res.status).to.equal(200);
    const dir = mkdtempSync(join(tmpdir(), 'audit-retention-'));
    writeFileSync(join(dir, 'd.zip'), Buffer.from(await res.arrayBuffer()));
    execFileSync('python3', ['-m', 'zipfile', '-e', join(dir, 'd.zip'), join(dir, 'out')]);
    return JSON.parse(readFileSync(join(dir, 'out', 'my-data.json'), 'utf8')) as { auditLog: Array<Record<string, unknown>> };
  };

  it('shows an entry with its names, then, once the retention has passed and the TTL sweep ran, without them', async function () {
    const engine = sharedTestEngine();
    // a real mongod's TTL monitor runs once a minute; the offline engine sweeps every 100 ms in tests
    if (!engine.offline) this.skip();
    expect(auditDetailRetentionDays()).to.equal(730);
    // issued (730 days − 60 s) ago: its details expire a minute from now on the engine's clock
    const issued = await buildIssuedCertificate(conn, { definition: def, learner, issuedBy: TEACHER, now: new Date(Date.now() - 730 * DAY_MS + 60_000) });

    const before = (await rows()).filter((r) => r.includes('Issued'));
    expect(before).to.have.length(1);
    expect(before[0]).to.include(`to ${learner.name}`).and.include(issued.code).and.include('Test Teacher');
    const part = await conn.collection('audit_details').findOne({ _id: issued._id });
    expect(part?.details).to.deep.include({ learnerName: learner.name });
    const entry = await conn.collection('certificate_audit').findOne({ _id: issued._id });
    expect(JSON.stringify(entry), 'the entry itself names nobody').not.to.include(learner.name).and.not.include('Test Teacher');
    expect((await exported()).auditLog.find((a) => a.action === 'certificate_issued')?.details).to.deep.include({ learnerName: learner.name });

    // that minute passes for the details only (however long the checks above took on a loaded machine)
    const part0 = await conn.collection('audit_details').findOne({ _id: issued._id });
    expect(part0?.expireAt, 'the details expire 730 days after the entry').to.be.instanceOf(Date);
    expect((part0!.expireAt as Date).getTime() - Date.now()).to.be.within(0, 60_000);
    await conn.collection('audit_details').updateOne({ _id: issued._id }, { $set: { expireAt: new Date(Date.now() - 1000) } });
    const deadline = Date.now() + 8000;
    while ((await conn.collection('audit_details').countDocuments({ _id: issued._id })) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await conn.collection('audit_details').countDocuments({ _id: issued._id }), 'the TTL removed the personal part').to.equal(0);

    const after = (await rows()).filter((r) => r.includes('Issued'));
    expect(after, 'the entry is kept').to.have.length(1);
    expect(after[0]).to.include('Details removed after 730 days').and.include('(name removed)').and.include(issued.code).and.include('Song Singer');
    expect(after[0]).not.to.include(learner.name).and.not.include('Test Teacher');
    const log = (await exported()).auditLog.filter((a) => a.action === 'certificate_issued');
    expect(log, 'the export still lists the entry').to.have.length(1);
    expect(log[0]!.detailsRemoved).to.be.a('string');
    expect(JSON.stringify(log[0])).not.to.include(learner.name);
  });

  it('still reads entries written before the split, with their details inline', async () => {
    await conn.collection('certificate_audit').insertOne({
      _id: new Types.ObjectId(),
      courseId,
      action: 'certificate_issued',
      actor: { kind: 'teacher', userId: 'old-teacher', name: 'Old Teacher' },
      at: new Date(),
      definitionId: def._id,
      userId: 'old-learner',
      details: { learnerName: 'Galadriel of Old', code: 'OLD-CODE-1', scorePercent: 90 },
    } as never);
    const shown = await rows();
    expect(shown[0]).to.include('to Galadriel of Old').and.include('OLD-CODE-1').and.include('Old Teacher').and.not.include('removed');
  });

  it("certification entries split the same way; erasure deletes the learner's audit_details rows and keeps the entries", async () => {
    const certificationId = new Types.ObjectId();
    const entryId = new Types.ObjectId();
    await recordCertificationAudit(conn, {
      id: entryId,
      issuer: t.sandbox.issuer,
      clientId: 'any',
      certificationId,
      action: 'proof_rejected',
      actor: { kind: 'teacher', userId: 'reviewer-1', name: 'Rita Reviewer' },
      at: new Date(),
      userId: learner.userId,
      details: { reason: `blurry scan from ${learner.name}`, proofId: 'p-1' },
    });
    expect(JSON.stringify(await conn.collection('certification_audit').findOne({ _id: entryId }))).not.to.include('Rita Reviewer').and.not.include('blurry');
    const [shown] = await listCertificationAudit(conn, certificationId);
    expect(shown!.actor.name).to.equal('Rita Reviewer');
    expect(shown!.details).to.deep.include({ reason: `blurry scan from ${learner.name}`, proofId: 'p-1' });

    const admin = new HttpBrowser();
    expect((await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    const erased = await admin.request(`${t.baseUrl}/admin/privacy/erase`, { form: { issuer: t.sandbox.issuer, userId: learner.userId, confirm: learner.userId } });
    expect(erased.status).to.equal(200);
    expect(await conn.collection('audit_details').countDocuments({ _id: entryId }), "the learner's row").to.equal(0);
    const [kept] = await listCertificationAudit(conn, certificationId);
    expect(kept, 'the entry stays').to.deep.include({ action: 'proof_rejected', detailsRemoved: true });
    expect(kept!.userId).to.match(/^erased-/);
    expect(JSON.stringify(kept)).not.to.include(learner.name).and.not.include(`"${learner.userId}"`);
  });
});

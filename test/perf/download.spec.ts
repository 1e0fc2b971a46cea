/**
 * A stored certificate PDF's download (#13): its own route ahead of the app's other middleware,
 * the stored bytes with their length, the file id as ETag (304 for a browser that has it), the
 * session from memory, and the viewer's permission from memory when this viewer saw this
 * certificate in the last minute on this instance — so a repeated download, and a download from
 * the certificate page, send no database command at all; a revoked certificate is not served
 * after its revocation, whatever was remembered.
 */
import { expect } from 'chai';
import type { Types } from 'mongoose';
import { startTestApp, type TestApp } from '../support/app';
import { countCommands, describeCommands } from '../support/db-commands';
import { issueModel } from '../../src/certificates/issue.model';
import { eraseLearner } from '../../src/privacy/learner-data.service';
import { defineCertificate, launchAs, pdfText, sandboxCourse, subjectOf, toolCourse, type Launched } from '../support/e2e';

const FULL = [10, 10, 10, 10, 10];
// what a browser sends when it revalidates its copy (fetch() alone would add no-cache to a conditional request)
const revalidating = (etag: string) => ({ 'if-none-match': etag, 'cache-control': 'max-age=0' });

interface Claimed {
  teacher: Launched;
  learner: Launched;
  other: Launched;
  certificateId: string;
  /** The learner's user id as the tool knows it. */
  learnerSub: string;
  /** The learner's own URL of the PDF. */
  pdfUrl: string;
  /** The bytes and ETag of the first download (the one that rendered it). */
  original: Buffer;
  etag: string;
}

/** A course whose first learner has claimed a certificate and downloaded its PDF once. */
async function claimedCertificate(t: TestApp): Promise<Claimed> {
  const c = sandboxCourse(t, { scores: [FULL, FULL] });
  const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
  const definition = await defineCertificate(t, (await toolCourse(t, c))._id as Types.ObjectId);
  const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
  const claimed = await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(definition._id) } });
  const location = new URL(claimed.headers.get('location')!, learner.app).toString();
  const pdfUrl = `${location}.pdf`;
  const rendered = await learner.browser.request(pdfUrl);
  expect(rendered.status).to.equal(200);
  // recording the new PDF on the certificate was a write to it, which forgets remembered
  // permissions: the next download reads the certificate once more
  expect((await learner.browser.request(pdfUrl)).status).to.equal(200);
  const other = await launchAs(t, c.course.id, c.learnerIds[1]!);
  return {
    teacher,
    learner,
    other,
    certificateId: location.split('/').pop()!,
    learnerSub: subjectOf(t, c, c.learnerIds[0]!),
    pdfUrl,
    original: Buffer.from(await rendered.arrayBuffer()),
    etag: rendered.headers.get('etag')!,
  };
}

async function download(l: Launched, url: string, headers: Record<string, string> = {}) {
  const res = await l.browser.request(url, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe('GET /app/:session/certificates/:id.pdf (a stored certificate PDF, #13)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let claimed: Claimed;
  before(async () => {
    t = await startTestApp();
    claimed = await claimedCertificate(t);
  });

  it('sends the stored bytes with their length, an ETag and the security headers, and a repeated download sends no database command', async () => {
    const { learner, pdfUrl, original, etag } = claimed;
    expect(etag).to.match(/^"[0-9a-f]{24}"$/);
    const { value: stored, commands } = await countCommands(t.db.connection, () => download(learner, pdfUrl));
    expect(stored.res.status).to.equal(200);
    expect(stored.res.headers.get('x-certificate-pdf')).to.equal('stored');
    expect(stored.res.headers.get('content-type')).to.equal('application/pdf');
    expect(stored.res.headers.get('content-length')).to.equal(String(original.length));
    expect(stored.res.headers.get('etag')).to.equal(etag);
    expect(stored.res.headers.get('cache-control')).to.equal('private, no-cache');
    expect(stored.res.headers.get('content-disposition')).to.match(/^attachment; filename="?[^"]+\.pdf"?$/);
    expect(stored.res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(stored.res.headers.get('referrer-policy')).to.equal('same-origin');
    expect(stored.res.headers.get('content-security-policy')).to.include("default-src 'self'");
    expect(stored.body.equals(original)).to.equal(true);
    expect(pdfText(stored.body)).to.include('Digital Literacy');
    expect(commands, describeCommands(commands)).to.deep.equal([]);
  });

  it('answers 304 to the ETag the browser has, without a database command', async () => {
    const { learner, pdfUrl, etag } = claimed;
    const { value: again, commands } = await countCommands(t.db.connection, () => download(learner, pdfUrl, revalidating(etag)));
    expect(again.res.status).to.equal(304);
    expect(again.res.headers.get('etag')).to.equal(etag);
    expect(again.body.length).to.equal(0);
    expect(commands, describeCommands(commands)).to.deep.equal([]);
  });

  it("reads the viewer's permission once (one database command) and then remembers it", async () => {
    const { teacher, learner, pdfUrl, original } = claimed;
    const url = pdfUrl.replace(learner.app, teacher.app);
    const first = await countCommands(t.db.connection, () => download(teacher, url));
    expect(first.value.res.status).to.equal(200);
    expect(first.value.body.equals(original)).to.equal(true);
    expect(first.commands.map((c) => `${c.name} ${c.collection}`), describeCommands(first.commands)).to.deep.equal(['find certificate_issues']);
    const second = await countCommands(t.db.connection, () => download(teacher, url));
    expect(second.value.body.equals(original)).to.equal(true);
    expect(second.commands, describeCommands(second.commands)).to.deep.equal([]);
  });

  it('costs no database command when the viewer opened the certificate page just before', async () => {
    const own = await claimedCertificate(t);
    const url = own.pdfUrl.replace(own.learner.app, own.teacher.app);
    const page = await own.teacher.browser.open(url.replace(/\.pdf$/, ''));
    expect(page.status).to.equal(200);
    const { value, commands } = await countCommands(t.db.connection, () => download(own.teacher, url));
    expect(value.res.status).to.equal(200);
    expect(value.body.equals(own.original)).to.equal(true);
    expect(commands, describeCommands(commands)).to.deep.equal([]);
  });

  it("gives another learner of the course 404 and none of the bytes, with or without the owner's ETag", async () => {
    const { learner, other, pdfUrl, etag } = claimed;
    const foreignUrl = pdfUrl.replace(learner.app, other.app);
    for (const headers of [{}, revalidating(etag)]) {
      const foreign = await download(other, foreignUrl, headers);
      expect(foreign.res.status).to.equal(404);
      expect(foreign.res.headers.get('content-type')).to.match(/^text\/html/);
      expect(foreign.res.headers.get('etag')).to.not.equal(etag);
      expect(foreign.body.includes(Buffer.from('%PDF'))).to.equal(false);
    }
  });

  it("gives a teacher of another course 404, and an unknown session 401, before any permission", async () => {
    const { learner, pdfUrl } = claimed;
    const elsewhere = sandboxCourse(t, { scores: [FULL] });
    const stranger = await launchAs(t, elsewhere.course.id, elsewhere.teacherIds[0]!);
    const foreign = await download(stranger, pdfUrl.replace(learner.app, stranger.app));
    expect(foreign.res.status).to.equal(404);
    expect(foreign.body.includes(Buffer.from('%PDF'))).to.equal(false);
    const unknown = await download(learner, pdfUrl.replace(learner.session, 'A'.repeat(43)));
    expect(unknown.res.status).to.equal(401);
    expect(unknown.body.includes(Buffer.from('%PDF'))).to.equal(false);
  });

  it('does not serve a certificate revoked on this instance, even to the viewers who just downloaded it', async () => {
    const fresh = await claimedCertificate(t);
    const teacherUrl = fresh.pdfUrl.replace(fresh.learner.app, fresh.teacher.app);
    // both viewers' permissions are remembered now
    expect((await download(fresh.learner, fresh.pdfUrl)).res.status).to.equal(200);
    expect((await download(fresh.teacher, teacherUrl)).res.status).to.equal(200);

    const revoked = await fresh.teacher.browser.request(`${fresh.teacher.app}/teacher/certificates/${fresh.certificateId}/delete`, { form: { reason: 'Issued by mistake' } });
    expect(revoked.status).to.equal(303);

    for (const [viewer, url] of [
      [fresh.learner, fresh.pdfUrl],
      [fresh.teacher, teacherUrl],
    ] as const) {
      for (const headers of [{}, revalidating(fresh.etag)]) {
        const after = await download(viewer, url, headers);
        expect(after.res.status, `${url} ${JSON.stringify(headers)}`).to.equal(409);
        expect(after.res.headers.get('etag')).to.not.equal(fresh.etag);
        expect(after.body.includes(Buffer.from('%PDF'))).to.equal(false);
      }
    }
  });

  it("does not serve the PDF with an erased learner's name, even to the teacher whose copy this process still holds", async () => {
    const fresh = await claimedCertificate(t);
    const teacherUrl = fresh.pdfUrl.replace(fresh.learner.app, fresh.teacher.app);
    const { learnerName } = (await issueModel(t.db.connection).findById(fresh.certificateId).lean())!;
    expect(pdfText((await download(fresh.teacher, teacherUrl)).body)).to.include(learnerName);

    await eraseLearner(t.db.connection, { issuer: t.sandbox.issuer, userId: fresh.learnerSub }, { by: { kind: 'admin' }, now: new Date() });

    const after = await download(fresh.teacher, teacherUrl);
    expect(after.res.status).to.equal(200);
    expect(after.res.headers.get('etag')).to.not.equal(fresh.etag);
    expect(pdfText(after.body)).to.include('Digital Literacy').and.not.include(learnerName);
    expect((await download(fresh.learner, fresh.pdfUrl)).res.status, "the learner's session is gone").to.equal(401);
  });
});

/**
 * A stored certificate PDF's download (#13): streamed from its chunks with its length, its file id
 * as ETag (304 for a browser that has it, after the same permission check), and at most two
 * database commands (the viewer's certificate, the file's chunks): the session comes from memory.
 */
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';
import { countCommands, describeCommands } from '../support/db-commands';
import { defineCertificate, launchAs, pdfText, sandboxCourse, toolCourse } from '../support/e2e';

const FULL = [10, 10, 10, 10, 10];

describe('Downloading a stored certificate PDF (#13)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  it('sends the stored bytes with their length and an ETag, answers 304 to that ETag, and reads the database at most twice', async () => {
    const c = sandboxCourse(t, { scores: [FULL, FULL] });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    const definition = await defineCertificate(t, (await toolCourse(t, c))._id);
    const { browser, app } = await launchAs(t, c.course.id, c.learnerIds[0]!);
    const claimed = await browser.request(`${app}/learner/claim`, { form: { definitionId: String(definition._id) } });
    const pdfUrl = `${new URL(claimed.headers.get('location')!, app).toString()}.pdf`;
    const rendered = await browser.request(pdfUrl);
    const original = Buffer.from(await rendered.arrayBuffer());
    expect(rendered.status).to.equal(200);
    const etag = rendered.headers.get('etag');
    expect(etag).to.match(/^"[0-9a-f]{24}"$/);

    const { value: stored, commands } = await countCommands(t.db.connection, async () => {
      const res = await browser.request(pdfUrl);
      return { res, body: Buffer.from(await res.arrayBuffer()) };
    });
    expect(stored.res.status).to.equal(200);
    expect(stored.res.headers.get('x-certificate-pdf')).to.equal('stored');
    expect(stored.res.headers.get('content-length')).to.equal(String(original.length));
    expect(stored.res.headers.get('etag')).to.equal(etag);
    expect(stored.res.headers.get('cache-control')).to.equal('private, no-cache');
    expect(stored.body.equals(original)).to.equal(true);
    expect(pdfText(stored.body)).to.include('Digital Literacy');
    expect(commands.length, describeCommands(commands)).to.be.at.most(2);

    // what a browser sends when it revalidates its copy (fetch() alone would add no-cache to a conditional request)
    const revalidate = { 'if-none-match': etag!, 'cache-control': 'max-age=0' };
    const again = await browser.request(pdfUrl, { headers: revalidate });
    expect(again.status).to.equal(304);
    expect((await again.arrayBuffer()).byteLength).to.equal(0);

    // the 304 is the viewer's only: another learner of the course still gets "not found"
    const other = await launchAs(t, c.course.id, c.learnerIds[1]!);
    const foreign = await other.browser.request(pdfUrl.replace(app, other.app), { headers: revalidate });
    expect(foreign.status).to.equal(404);
  });
});

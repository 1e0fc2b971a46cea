/**
 * The administrator sets up Moodle web services on /admin/moodle, against the sandbox's Moodle:
 * the token is stored encrypted, "Test connection" calls each function and says what is missing.
 */
import { expect } from 'chai';
import { moodleConnectionModel } from '../../src/grades/moodle/moodle-connection.model';
import { SANDBOX_WS_CAPABILITIES, SANDBOX_WS_FUNCTIONS } from '../../src/sandbox/moodle-ws.site';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { buildCourse } from '../support/builders';
import { all, attr, cells, parseHtml, text } from '../support/html';

describe('/admin/moodle (Moodle web services set up by the administrator)', () => {
  let t: TestApp;
  let admin: HttpBrowser;
  let courseId: string;

  const checksOnPage = async () => {
    const page = await admin.open(`${t.baseUrl}/admin/moodle`);
    expect(page.status).to.equal(200);
    const root = parseHtml(page.html);
    const section = all(root, 'section.moodle-platform').find((s) => s.getAttribute('data-issuer') === t.sandbox.issuer)!;
    expect(section, 'the sandbox platform is listed').to.not.equal(undefined);
    return {
      section,
      rows: all(section, 'table.moodle-checks tbody tr').map((tr) => ({ fn: tr.getAttribute('data-function'), result: cells(tr)[1], message: cells(tr)[2] })),
    };
  };
  const save = (fields: Record<string, string>) => admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, testCourseId: courseId, ...fields } });

  before(async () => {
    t = await startTestApp();
    courseId = t.sandbox.store.createCourse({ title: 'Admin WS course', quirks: 'moodle', learners: 3, items: 2 }).course.id;
    admin = new HttpBrowser();
    const res = await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    expect(res.status).to.equal(303);
  });
  after(async () => {
    await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
  });

  it('refuses anyone without the administrator cookie, and stores nothing', async () => {
    const stranger = new HttpBrowser();
    const token = t.sandbox.moodleWs.createToken().token;
    const res = await stranger.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, token } });
    expect(res.status).to.equal(401);
    expect(await moodleConnectionModel(t.db.connection).countDocuments({ issuer: t.sandbox.issuer })).to.equal(0);
    expect((await stranger.open(`${t.baseUrl}/admin/moodle`)).status).to.equal(401);
  });

  it('is linked from the administrator page and lists each platform with the REST address from its issuer', async () => {
    const home = await admin.open(`${t.baseUrl}/admin`);
    expect(attr(home.html, 'a[href="/admin/moodle"]', 'href')).to.equal('/admin/moodle');
    const { section } = await checksOnPage();
    expect(text(section)).to.contain(`${t.sandbox.issuer}/webservice/rest/server.php`).and.contain('not set up');
  });

  it('does not offer Moodle web services for a platform whose launches all come from Chamilo', async () => {
    const issuer = `https://chamilo-${Date.now()}.example`;
    await t.app.lti.registerPlatform({ issuer, clientId: 'chamilo-client', name: 'A Chamilo', authUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, jwksUrl: `${issuer}/jwks` }, { active: true });
    await buildCourse(t.db.connection, { issuer, platformFamily: 'chamilo' });
    const page = await admin.open(`${t.baseUrl}/admin/moodle`);
    const issuers = all(parseHtml(page.html), 'section.moodle-platform').map((s) => s.getAttribute('data-issuer'));
    expect(issuers).to.include(t.sandbox.issuer).and.not.include(issuer);
  });

  it('saves the token encrypted and tests every function: all work with a complete service', async () => {
    const token = t.sandbox.moodleWs.createToken().token;
    const res = await save({ token });
    expect(res.status).to.equal(303);
    const stored = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(JSON.stringify(stored)).not.to.contain(token);
    expect(stored!.tokenHint).to.equal(token.slice(-4));
    const { section, rows } = await checksOnPage();
    expect(text(section)).to.contain(`ends in …${token.slice(-4)}`).and.not.contain(token);
    expect(rows.map((r) => r.fn)).to.deep.equal(['core_enrol_get_enrolled_users', 'gradereport_user_get_grade_items', 'core_completion_get_course_completion_status']);
    expect(rows.map((r) => r.result)).to.deep.equal(['works', 'works', 'works']);
    expect(rows[1]!.message).to.contain('3 learners with grades');
    // Completion is off in a new Moodle course: said, but not a failure while completion is not read.
    expect(rows[2]!.message).to.contain('completion tracking is off');
  });

  it('names the function missing from the service and the capability missing from the role', async () => {
    const token = t.sandbox.moodleWs.createToken({
      functions: SANDBOX_WS_FUNCTIONS.filter((f) => f !== 'core_enrol_get_enrolled_users'),
      capabilities: Object.keys(SANDBOX_WS_CAPABILITIES).filter((c) => c !== 'moodle/grade:viewall'),
    }).token;
    await save({ token });
    const { rows } = await checksOnPage();
    const roster = rows.find((r) => r.fn === 'core_enrol_get_enrolled_users')!;
    const grades = rows.find((r) => r.fn === 'gradereport_user_get_grade_items')!;
    expect(roster.result).to.equal('missing');
    expect(roster.message).to.contain("add core_enrol_get_enrolled_users to the tool's external service");
    expect(grades.result).to.equal('missing');
    expect(grades.message).to.contain('lacks the capability moodle/grade:viewall');
  });

  it('keeps the stored token when saved with an empty token field, and says a revoked token must be replaced', async () => {
    const token = t.sandbox.moodleWs.createToken().token;
    await save({ token });
    await save({ token: '', readCompletion: 'on' });
    const stored = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(stored!.tokenHint).to.equal(token.slice(-4));
    expect(stored!.readCompletion).to.equal(true);
    t.sandbox.moodleWs.revokeToken(token);
    const res = await admin.request(`${t.baseUrl}/admin/moodle/test`, { form: { issuer: t.sandbox.issuer, testCourseId: courseId } });
    expect(res.status).to.equal(303);
    const { rows } = await checksOnPage();
    expect(rows.every((r) => r.result === 'missing')).to.equal(true);
    expect(rows[0]!.message).to.contain('does not accept the web-service token');
  });

  it('refuses a Moodle address on a link-local (cloud metadata) address, and keeps what was stored', async () => {
    const before = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    const res = await save({ token: t.sandbox.moodleWs.createToken().token, baseUrl: 'http://169.254.169.254/latest' });
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('refused to fetch the Moodle web-service address');
    const after = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(after?.baseUrl).to.equal(before?.baseUrl);
    expect(after?.token).to.deep.equal(before?.token);
  });

  it('refuses a token that is not a Moodle token, and an issuer no platform has', async () => {
    const before = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    const bad = await save({ token: 'not a token!' });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain('a Moodle token is 32 letters and digits');
    const after = await moodleConnectionModel(t.db.connection).findOne({ issuer: t.sandbox.issuer }).lean();
    expect(after!.token).to.deep.equal(before!.token);
    const unknown = await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: 'https://elsewhere.example', token: 'a'.repeat(32) } });
    expect(unknown.status).to.equal(404);
    expect(await moodleConnectionModel(t.db.connection).countDocuments({ issuer: 'https://elsewhere.example' })).to.equal(0);
  });
});

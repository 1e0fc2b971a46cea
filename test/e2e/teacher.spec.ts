/**
 * The teacher's side, end to end through the sandbox LMS: launch as the course's teacher, sync,
 * define a certificate, watch learners qualify, generate, delete and re-issue — the seeds' story
 * of Bilbo's temporary 85% included. Every test builds its own sandbox course.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { Types } from 'mongoose';
import { auditModel } from '../../src/certificates/audit.model';
import { definitionModel } from '../../src/certificates/definition.model';
import { issueModel, type IssueDoc } from '../../src/certificates/issue.model';
import { findByCode } from '../../src/certificates/certificate.queries';
import { courseModel } from '../../src/courses/course.model';
import { loadMessageCatalogs } from '../../src/i18n';
import { ROLE } from '../../src/sandbox/lti-vocabulary';
import type { CreateCourseOptions } from '../../src/sandbox/sandbox.store';
import { errorHandler } from '../../src/web/middleware/error-handler';
import { teacherRouter } from '../../src/web/teacher.routes';
import { toolRouter } from '../../src/web/tool.routes';
import { PAGES_DIR } from '../../src/web/views';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf, type Page } from '../support/browser';

const BILBO_SCORES = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

interface Launched {
  browser: HttpBrowser;
  session: string;
  /** `${baseUrl}/app/<session>` */
  app: string;
  /** `${baseUrl}/app/<session>/teacher` */
  teacher: string;
  page: Page;
}

/** Every field the definition form posts, as a browser would send it; overrides win, null removes. */
function definitionFields(overrides: Record<string, string | null> = {}): Record<string, string> {
  const fields: Record<string, string | null> = {
    title: 'Certificate of achievement',
    issuerName: 'Shire Academy',
    itemsMode: 'all',
    thresholdPercent: '80',
    requireAllGraded: 'on',
    mandatoryMinimum: '',
    'validity.kind': 'perpetual',
    'validity.validForMonths': '12',
    'template.design': 'classic',
    'template.paper': 'A4',
    'template.orientation': 'landscape',
    'template.language': 'auto',
    'template.accentColor': '#1a5fb4',
    'template.bodyText': '',
    'template.showScore': 'on',
    'template.signatoryName': '',
    'template.logoFileId': '',
    'template.signatureFileId': '',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== null));
}

/** The `<tr>` of one learner in the roster table. */
function rowOf(html: string, userId: string): string {
  const m = new RegExp(`<tr data-user-id="${userId}"[\\s\\S]*?</tr>`).exec(html);
  if (!m) throw new Error(`no roster row for ${userId}`);
  return m[0];
}

function attr(html: string, name: string): string | null {
  return new RegExp(`${name}="([^"]*)"`).exec(html)?.[1] ?? null;
}

describe('Teacher pages (sandbox LMS → tool)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  const drain = () => t.app.ctx.jobs.drain();
  const conn = () => t.db.connection;

  function newCourse(title: string, opts: Partial<CreateCourseOptions> = {}) {
    return t.sandbox.store.createCourse({ title, quirks: 'standard', learners: 3, items: 10, scoreMaximum: 10, ...opts });
  }

  async function launch(courseId: string, userId: string): Promise<Launched> {
    const browser = new HttpBrowser();
    const page = await browser.open(t.sandbox.launchUrl(courseId, userId));
    expect(page.status, page.html.slice(0, 400)).to.equal(200);
    const session = sessionOf(page.url);
    const app = `${t.baseUrl}/app/${session}`;
    return { browser, session, app, teacher: `${app}/teacher`, page };
  }

  /** Launches as the teacher and waits for the sync the launch starts. */
  async function teacherOf(c: ReturnType<typeof newCourse>): Promise<Launched> {
    const l = await launch(c.course.id, c.teacherIds[0]!);
    expect(l.page.url).to.match(/\/teacher$/);
    await drain();
    return l;
  }

  async function createDefinition(l: Launched, overrides: Record<string, string | null> = {}): Promise<string> {
    const page = await l.browser.open(`${l.teacher}/definitions`, { form: definitionFields(overrides) });
    expect(page.status, page.html.slice(0, 2000)).to.equal(200);
    const m = /\/definitions\/([0-9a-f]{24})\?notice=created$/.exec(page.url);
    expect(m, page.url).to.not.equal(null);
    return m![1]!;
  }

  /** The tool's id of a sandbox course (the launch created it). */
  async function courseIdOf(c: ReturnType<typeof newCourse>): Promise<string> {
    const course = await courseModel(conn()).findOne({ contextId: t.sandbox.store.contextIdOf(c.course), issuer: t.sandbox.issuer }).lean();
    return String(course!._id);
  }

  const overview = (l: Launched, definitionId: string, query = '') => l.browser.open(`${l.teacher}/definitions/${definitionId}${query}`);

  async function activeCertificate(definitionId: string, userId: string): Promise<IssueDoc | null> {
    return issueModel(conn()).findOne({ definitionId: new Types.ObjectId(definitionId), userId, status: 'active' }).lean<IssueDoc>();
  }

  /** Claims through the learner page's "Get your certificate" (the learner routes). */
  async function claim(l: Launched, definitionId: string): Promise<Response> {
    return l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
  }

  describe('the seeds’ story: Bilbo’s temporary 85%', () => {
    it('holds Bilbo back while the guard is on, lets him claim 85% without it, flags 85% → 95% after the sync, and re-issues at 95% superseding the old one', async () => {
      const c = newCourse('Digital Literacy (teacher story)', { learners: 2, score: (l) => (l === 0 ? 10 : 5) });
      const bilbo = t.sandbox.store.addUser({ givenName: 'Bilbo', familyName: 'Baggins' });
      t.sandbox.store.enrol(c.course.id, bilbo.id, [ROLE.learner]);
      BILBO_SCORES.forEach((s, i) => t.sandbox.store.setScore(c.course.id, c.lineItemIds[i]!, bilbo.id, s));

      const teacher = await teacherOf(c);
      const home = await teacher.browser.open(teacher.teacher);
      expect(home.html).to.match(/data-sync-status="succeeded"/);
      expect(home.html).to.match(/3 learners, 10 activities, no errors/);

      // A new definition has the guard on by default, and the form says why.
      const form = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
      expect(form.html).to.match(/<input type="checkbox" id="f-requireAllGraded" name="requireAllGraded" value="on" checked>/);
      expect(form.html).to.include('temporary score');
      expect(form.html).to.include('value="80"');

      const definitionId = await createDefinition(teacher);
      let page = await overview(teacher, definitionId);
      let row = rowOf(page.html, bilbo.id);
      expect(attr(row, 'data-eligible')).to.equal('no');
      expect(row).to.include('1 of 10 activities not graded yet');

      const learner = await launch(c.course.id, bilbo.id);
      expect((await claim(learner, definitionId)).status).to.equal(403);
      expect(await activeCertificate(definitionId, bilbo.id)).to.equal(null);

      // The teacher turns the guard off: Bilbo qualifies at 85% (ungraded counts as 0).
      const saved = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, {
        form: definitionFields({ requireAllGraded: null, expectedVersion: '1' }),
      });
      expect(saved.url).to.match(/notice=saved$/);
      const claimed = await claim(learner, definitionId);
      expect(claimed.status).to.equal(303);
      const first = await activeCertificate(definitionId, bilbo.id);
      expect(first?.scorePercent).to.equal(85);

      // The tenth activity is graded 10/10 in the LMS; "sync now" imports it.
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, bilbo.id, 10);
      const synced = await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      expect(synced.url).to.match(/\/teacher\?notice=syncStarted$/);
      await drain();

      page = await overview(teacher, definitionId);
      row = rowOf(page.html, bilbo.id);
      expect(attr(row, 'data-status')).to.equal('stale');
      expect(row).to.include('issued at 85%, now 95%');
      expect(page.html).to.match(/data-status-count="stale"[^>]*>Stale: <span class="count">1</);

      const reissued = await teacher.browser.open(`${teacher.teacher}/certificates/${first!._id}/reissue`, { form: {} });
      expect(reissued.url).to.match(/notice=reissued&n=1$/);
      row = rowOf(reissued.html, bilbo.id);
      expect(attr(row, 'data-status')).to.equal('valid');

      const second = await activeCertificate(definitionId, bilbo.id);
      expect(second?.scorePercent).to.equal(95);
      // "Open" leads to the certificate's own page (the document routes).
      const open = /href="([^"]+)" data-action="open-certificate"/.exec(row)![1]!;
      expect(open).to.equal(`/app/${teacher.session}/certificates/${second!._id}`);
      const opened = await teacher.browser.open(`${t.baseUrl}${open}`);
      expect(opened.status).to.equal(200);
      expect(opened.html).to.include(second!.code);
      const bilboPage = await learner.browser.open(`${learner.app}/learner`);
      expect(bilboPage.html).to.include('95%');
      expect(second?.code).to.not.equal(first!.code);
      const old = await findByCode(conn(), first!.code, new Date());
      expect(old?.state).to.equal('superseded');
      expect(old?.newest?.certificate.code).to.equal(second!.code);
      expect(old?.newest?.certificate.scorePercent).to.equal(95);

      // The audit log tells the story, newest first.
      const audit = await teacher.browser.open(`${teacher.teacher}/audit`);
      const entries = [...audit.html.matchAll(/<td>(Re-issued|Issued|Changed|Created)[^<]*/g)].map((m) => m[1]);
      expect(entries).to.deep.equal(['Re-issued', 'Issued', 'Changed', 'Created']);
      expect(audit.html).to.include(`${first!.code} at 85% replaced by ${second!.code} at 95%`);
    });
  });

  describe('grade data', () => {
    it('starts a sync on a teacher’s visit only when the last one is older than ten minutes', async () => {
      const c = newCourse('Auto sync');
      const teacher = await teacherOf(c);
      const courseId = new Types.ObjectId(await courseIdOf(c));
      const runs = () => t.db.connection.collection('syncruns').countDocuments({ courseId, scope: 'course' });
      expect(await runs()).to.equal(1);
      await teacher.browser.open(teacher.teacher);
      await drain();
      expect(await runs(), 'a visit right after a sync does not sync again').to.equal(1);
      await t.db.connection.collection('syncruns').updateMany({ courseId }, { $set: { startedAt: new Date(Date.now() - 11 * 60_000) } });
      await t.db.connection.collection('jobs').updateMany({ courseId: String(courseId) }, { $set: { createdAt: new Date(Date.now() - 11 * 60_000) } });
      const page = await teacher.browser.open(teacher.teacher);
      expect(page.html).to.include('data-job-progress');
      await drain();
      expect(await runs()).to.equal(2);
    });

    it('returns the job status as JSON for the progress bar, and 404 for a job of another course', async () => {
      const a = newCourse('Jobs A');
      const b = newCourse('Jobs B');
      const teacherA = await teacherOf(a);
      const teacherB = await teacherOf(b);
      await teacherB.browser.open(`${teacherB.teacher}/sync`, { form: {} });
      const jobId = (await t.app.ctx.jobs.latest(await courseIdOf(b), 'grades.sync'))!.id;
      await drain();
      const own = await teacherB.browser.request(`${teacherB.app}/jobs/${jobId}.json`);
      expect(own.status).to.equal(200);
      const view = (await own.json()) as { kind: string; status: string; progress: { parts?: Record<string, unknown> } };
      expect(view.kind).to.equal('grades.sync');
      expect(view.status).to.equal('succeeded');
      expect(view.progress.parts).to.have.keys('items', 'learners');
      const foreign = await teacherA.browser.request(`${teacherA.app}/jobs/${jobId}.json`);
      expect(foreign.status).to.equal(404);
      expect((await teacherA.browser.request(`${teacherA.app}/jobs/not-an-id.json`)).status).to.equal(404);
    });
  });

  describe('the definition form', () => {
    it('refuses impossible settings naming each field, keeps what the teacher typed, and writes nothing', async () => {
      const c = newCourse('Form errors', { items: 3 });
      const teacher = await teacherOf(c);
      const page = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
      const ids = [...page.html.matchAll(/name="item\.([0-9a-f]{24})\.used"/g)].map((m) => m[1]!);
      expect(ids).to.have.length(3);
      const fields = definitionFields({
        title: 'Distinction with a typo',
        thresholdPercent: '120',
        itemsMode: 'selected',
        [`item.${ids[0]}.used`]: 'on',
        [`item.${ids[0]}.weight`]: '-1',
        [`item.${ids[1]}.used`]: 'on',
        [`item.${ids[1]}.weight`]: '1',
        [`item.${ids[1]}.minimumPercent`]: '150',
        [`item.${ids[1]}.mandatory`]: 'on',
        mandatoryMinimum: '3',
        'validity.kind': 'recurring',
        'validity.validForMonths': '0',
      });
      const refused = await teacher.browser.open(`${teacher.teacher}/definitions`, { form: fields });
      expect(refused.status).to.equal(400);
      const named = [...refused.html.matchAll(/class="field-error"[^>]*data-field="([^"]+)"/g)].map((m) => m[1]);
      expect(named).to.include.members([
        'thresholdPercent',
        `item.${ids[0]}.weight`,
        `item.${ids[1]}.minimumPercent`,
        'mandatoryMinimum',
        'validity.validForMonths',
      ]);
      expect(refused.html).to.include('Enter a percentage between 0 and 100.');
      expect(refused.html).to.include('not more than the number of mandatory activities (1)');
      expect(refused.html).to.include('value="Distinction with a typo"');
      expect(refused.html).to.include('value="120"');
      expect(refused.html).to.include(`href="#f-item-${ids[0]}-weight"`);
      expect(await definitionModel(conn()).countDocuments({ title: 'Distinction with a typo' })).to.equal(0);

      const allZero = await teacher.browser.open(`${teacher.teacher}/definitions`, {
        form: definitionFields({ itemsMode: 'selected', [`item.${ids[0]}.used`]: 'on', [`item.${ids[0]}.weight`]: '0' }),
      });
      expect(allZero.status).to.equal(400);
      expect(allZero.html).to.include('At least one ticked activity needs a weight above 0.');

      const noTitle = await teacher.browser.open(`${teacher.teacher}/definitions`, { form: definitionFields({ title: '  ', 'template.design': 'baroque' }) });
      expect(noTitle.status).to.equal(400);
      expect(noTitle.html).to.match(/data-field="title"/);
      expect(noTitle.html).to.match(/data-field="template\.design"/);
    });

    it('offers public certificates only when the administrator allows them', async () => {
      const c = newCourse('Public switch');
      const teacher = await teacherOf(c);
      const page = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
      expect(t.config.publicCertificates).to.equal(true);
      expect(page.html).to.match(/<input type="checkbox" id="f-public" name="public"/);

      // The same pages on a second server whose administrator switched public certificates off.
      const server = express();
      server.use(express.urlencoded({ extended: false }));
      const ctx = { ...t.app.ctx, config: { ...t.config, publicCertificates: false } };
      server.use('/app/:session', toolRouter({ conn: ctx.conn, views: ctx.views, now: ctx.now, teacher: teacherRouter(ctx) }));
      server.use(errorHandler(ctx.views));
      const http = createServer(server);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      try {
        const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/app/${teacher.session}/teacher`;
        const off = await teacher.browser.open(`${base}/definitions/new`);
        expect(off.html).to.include('data-public="unavailable"');
        expect(off.html).to.include('has not allowed public certificates');
        const refused = await teacher.browser.open(`${base}/definitions`, { form: definitionFields({ public: 'on', title: 'Public attempt' }) });
        expect(refused.status).to.equal(400);
        expect(refused.html).to.match(/data-field="public"/);
        expect(await definitionModel(conn()).countDocuments({ title: 'Public attempt' })).to.equal(0);
      } finally {
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      }
    });

    it('edits with per-item weights, minimums and "N of the mandatory", audited as a new version', async () => {
      const c = newCourse('Weights', { items: 3, learners: 2, score: (l, i) => (l === 0 ? [10, 6, 10][i]! : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { thresholdPercent: '90' });
      const edit = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/edit`);
      const ids = [...edit.html.matchAll(/name="item\.([0-9a-f]{24})\.used"/g)].map((m) => m[1]!);
      const saved = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, {
        form: definitionFields({
          thresholdPercent: '90',
          itemsMode: 'selected',
          expectedVersion: '1',
          [`item.${ids[0]}.used`]: 'on',
          [`item.${ids[0]}.weight`]: '3',
          [`item.${ids[1]}.used`]: 'on',
          [`item.${ids[1]}.weight`]: '1',
          [`item.${ids[1]}.minimumPercent`]: '50',
          [`item.${ids[1]}.mandatory`]: 'on',
          mandatoryMinimum: '1',
        }),
      });
      expect(saved.url).to.match(/notice=saved$/);
      const d = await definitionModel(conn()).findById(definitionId).lean();
      expect(d?.version).to.equal(2);
      expect(d?.items).to.deep.equal({
        mode: 'selected',
        items: [
          { lineItemId: ids[0], weight: 3, minimumPercent: null, mandatory: false },
          { lineItemId: ids[1], weight: 1, minimumPercent: 50, mandatory: true },
        ],
      });
      // learner 0: (3×100 + 1×60) / 4 = 90%
      const row = rowOf(saved.html, c.learnerIds[0]!);
      expect(attr(row, 'data-score')).to.equal('90');
      expect(attr(row, 'data-eligible')).to.equal('yes');
      const changed = await auditModel(conn()).findOne({ definitionId: new Types.ObjectId(definitionId), action: 'definition_changed' }).lean();
      expect(Object.keys((changed?.details as { changes: object }).changes)).to.have.members(['items', 'mandatoryMinimum']);

      // A second tab still holding version 1 is refused instead of overwriting version 2.
      const stale = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, { form: definitionFields({ title: 'Old tab', expectedVersion: '1' }) });
      expect(stale.status).to.equal(409);
      expect(stale.html).to.include('value="Old tab"');
      expect((await definitionModel(conn()).findById(definitionId).lean())?.title).to.equal('Certificate of achievement');
    });
  });

  describe('the roster overview', () => {
    it('filters, sorts, searches and pages via the query string, with counts per status', async () => {
      // 150 learners: every third one below the threshold.
      const c = newCourse('Big roster', { learners: 150, items: 2, score: (l) => (l % 3 === 0 ? 5 : 9) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      let page = await overview(teacher, definitionId);
      expect([...page.html.matchAll(/<tr data-user-id=/g)]).to.have.length(100);
      expect(page.html).to.include('Learners 1–100 of 150.');
      expect(page.html).to.match(/data-status-count="none"[^>]*>No certificate: <span class="count">150</);
      expect(page.html).to.include('Page 1 of 2');

      page = await overview(teacher, definitionId, '?page=2');
      expect([...page.html.matchAll(/<tr data-user-id=/g)]).to.have.length(50);

      page = await overview(teacher, definitionId, '?eligible=no&sort=score&dir=asc');
      const scores = [...page.html.matchAll(/data-score="([^"]+)"/g)].map((m) => Number(m[1]));
      expect(scores).to.have.length(50);
      expect(scores.every((s) => s === 50)).to.equal(true);

      page = await overview(teacher, definitionId, '?sort=score');
      const sorted = [...page.html.matchAll(/data-score="([^"]+)"/g)].map((m) => Number(m[1]));
      expect(sorted[0]).to.equal(90);
      expect(sorted).to.deep.equal([...sorted].sort((a, b) => b - a));

      const someone = t.sandbox.store.getUser(c.learnerIds[4]!)!;
      page = await overview(teacher, definitionId, `?q=${encodeURIComponent(someone.name.toUpperCase())}`);
      const found = [...page.html.matchAll(/<tr data-user-id="([^"]+)"/g)].map((m) => m[1]);
      expect(found).to.include(someone.id);
      expect(page.html).to.include(`value="${someone.name.toUpperCase()}"`);
    });

    it('refuses a query string it does not understand with 400 naming the parameter', async () => {
      const c = newCourse('Bad queries');
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      const cases: Array<[string, string]> = [
        ['?status=lost', 'status'],
        ['?sort=age', 'sort'],
        ['?page=0', 'page'],
        ['?page=two', 'page'],
        ['?eligible=maybe', 'eligible'],
        ['?status=valid&status=stale', 'status'],
        ['?colour=red', 'colour'],
      ];
      for (const [query, parameter] of cases) {
        const res = await teacher.browser.request(`${teacher.teacher}/definitions/${definitionId}${query}`, { headers: { accept: 'application/json' } });
        expect(res.status, query).to.equal(400);
        const body = (await res.json()) as { error: { code: string; message: string; details: { parameter: string } } };
        expect(body.error.code).to.equal('validation_error');
        expect(body.error.details.parameter, query).to.equal(parameter);
        expect(body.error.message).to.include(`“${parameter}”`);
      }
      const html = await teacher.browser.open(`${teacher.teacher}/audit?before=yesterday`);
      expect(html.status).to.equal(400);
      expect(html.html).to.include('“before”');
    });

    it('flags learners who left the course and keeps their certificate on the list', async () => {
      const c = newCourse('Leavers', { learners: 2, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await claim(await launch(c.course.id, c.learnerIds[1]!), definitionId);
      t.sandbox.store.removeMember(c.course.id, c.learnerIds[1]!);
      await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      await drain();
      const page = await overview(teacher, definitionId);
      const row = rowOf(page.html, c.learnerIds[1]!);
      expect(row).to.include('data-member="left"');
      expect(attr(row, 'data-status')).to.equal('valid');
    });
  });

  describe('generate all', () => {
    it('shows a dry run, then issues exactly the eligible learners in a background job; a second run issues nothing', async () => {
      // learners 0-3 at 100%, 4-5 at 50%, 6 with an ungraded activity
      const c = newCourse('Generate all', { learners: 7, items: 4, score: (l, i) => (l === 6 && i === 3 ? null : l >= 4 && l < 6 ? 5 : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);

      const dry = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`);
      expect(dry.status).to.equal(200);
      expect(attr(dry.html, 'data-will-issue')).to.equal('4');
      expect(dry.html).to.include('4 learners will get a certificate.');
      expect(dry.html).to.include('3 learners do not qualify.');
      expect(dry.html).to.include('Generate 4 certificates');
      const willIssue = /data-plan-group="willIssue"[\s\S]*?<\/section>/.exec(dry.html)![0];
      for (const id of c.learnerIds.slice(0, 4)) expect(willIssue).to.include(t.sandbox.store.getUser(id)!.name);
      expect(await issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId) }), 'a dry run issues nothing').to.equal(0);

      const started = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      expect(started.url).to.match(/notice=generateStarted$/);
      await drain();
      const issued = await issueModel(conn()).find({ definitionId: new Types.ObjectId(definitionId), status: 'active' }).lean();
      expect(issued.map((i) => i.userId).sort()).to.deep.equal(c.learnerIds.slice(0, 4).sort());

      const page = await overview(teacher, definitionId);
      expect(page.html).to.match(/data-generate-result="4"/);
      expect(page.html).to.match(/data-status-count="valid"[^>]*>Valid: <span class="count">4</);

      const again = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`);
      expect(attr(again.html, 'data-will-issue')).to.equal('0');
      expect(again.html).to.match(/data-action="confirm-generate" disabled/);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      expect(await issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId) })).to.equal(4);
      const job = await t.db.connection.collection('jobs').find({ kind: 'certificates.generate-all', 'payload.definitionId': definitionId }).sort({ createdAt: -1 }).next();
      expect(job?.status).to.equal('succeeded');
      expect(job?.result).to.include({ issued: 0, alreadyIssued: 4, notEligible: 3 });
    });
  });

  describe('the audit log', () => {
    it('lists who did what, newest first, fifty entries a page', async () => {
      const c = newCourse('Audit pages', { learners: 60, items: 1, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      // created + 60 issued + generate all = 62 entries
      const first = await teacher.browser.open(`${teacher.teacher}/audit`);
      const rows = (html: string) => [...html.matchAll(/<time datetime="([^"]+)">/g)].map((m) => m[1]!);
      expect(rows(first.html)).to.have.length(50);
      expect(first.html).to.match(/<td>Generated all certificates of “Certificate of achievement”: 60 of 60 issued\./);
      // Handlebars writes "=" as "&#x3D;" in attributes, which the browser reads back as "=".
      const older = /href="([^"]+audit\?before(?:=|&#x3D;)[0-9a-f]{24})"/.exec(first.html)![1]!.replace('&#x3D;', '=');
      const second = await teacher.browser.open(`${t.baseUrl}${older}`);
      expect(rows(second.html)).to.have.length(12);
      expect(second.html).to.include('Created the certificate “Certificate of achievement”.');
      expect(second.html).to.not.match(/audit\?before/);
      const all = [...rows(first.html), ...rows(second.html)];
      expect(all).to.deep.equal([...all].sort().reverse());
      expect(first.html).to.include(t.sandbox.store.getUser(c.teacherIds[0]!)!.name);
    });
  });

  describe('deleting certificates', () => {
    it('deletes one with a reason (audited with what it said), after which the learner can claim again', async () => {
      const c = newCourse('Delete one', { learners: 1, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      const learner = await launch(c.course.id, c.learnerIds[0]!);
      expect((await claim(learner, definitionId)).status).to.equal(303);
      const first = (await activeCertificate(definitionId, c.learnerIds[0]!))!;

      const confirm = await teacher.browser.open(`${teacher.teacher}/certificates/${first._id}/delete`);
      expect(confirm.html).to.include(first.code);
      const noReason = await teacher.browser.request(`${teacher.teacher}/certificates/${first._id}/delete`, { form: { reason: ' ' }, headers: { accept: 'application/json' } });
      expect(noReason.status).to.equal(400);
      expect(((await noReason.json()) as { error: { details: { field: string } } }).error.details.field).to.equal('reason');
      expect(await activeCertificate(definitionId, c.learnerIds[0]!)).to.not.equal(null);

      const done = await teacher.browser.open(`${teacher.teacher}/certificates/${first._id}/delete`, { form: { reason: 'Issued to the wrong group' } });
      expect(done.url).to.match(/notice=revoked$/);
      expect(attr(rowOf(done.html, c.learnerIds[0]!), 'data-status')).to.equal('revoked');
      expect((await findByCode(conn(), first.code, new Date()))?.state).to.equal('revoked');
      const entry = await auditModel(conn()).findOne({ issueId: first._id, action: 'certificate_revoked' }).lean();
      expect(entry?.details).to.include({ reason: 'Issued to the wrong group' });
      expect((entry?.details as { certificate: { code: string; scorePercent: number } }).certificate).to.include({ code: first.code, scorePercent: 100 });

      expect((await claim(learner, definitionId)).status).to.equal(303);
      const second = await activeCertificate(definitionId, c.learnerIds[0]!);
      expect(second?.code).to.not.equal(first.code);
    });

    it('deletes all valid certificates after a confirmation naming the count', async () => {
      const c = newCourse('Delete all', { learners: 3, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      const confirm = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/delete-all`);
      expect(confirm.html).to.include('All 3 valid certificates of “Certificate of achievement” will be deleted.');
      expect(confirm.html).to.include('Delete 3 certificates');
      const done = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/delete-all`, { form: { reason: '' } });
      expect(done.url).to.match(/notice=revokedAll&n=3$/);
      expect(done.html).to.include('3 certificates have been deleted.');
      expect(await issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId), status: 'active' })).to.equal(0);
      const entry = await auditModel(conn()).findOne({ definitionId: new Types.ObjectId(definitionId), action: 'certificates_revoked_all' }).lean();
      expect((entry?.details as { count: number; reason: string }).count).to.equal(3);
      expect((entry?.details as { reason: string }).reason).to.match(/no reason given/);
    });
  });

  describe('stale certificates', () => {
    it('re-issues every stale certificate at once, as a background job', async () => {
      const c = newCourse('Re-issue all', { learners: 3, items: 2, score: (_l, i) => (i === 1 ? null : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { requireAllGraded: null, thresholdPercent: '50' });
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      for (const id of c.learnerIds) t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, id, 8);
      await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      await drain();
      let page = await overview(teacher, definitionId, '?status=stale');
      expect(page.html).to.include('Re-issue all 3 stale certificates');
      expect(rowOf(page.html, c.learnerIds[0]!)).to.include('issued at 50%, now 90%');
      page = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/reissue-stale`, { form: {} });
      expect(page.url).to.match(/notice=reissueStarted$/);
      await drain();
      page = await overview(teacher, definitionId);
      expect(page.html).to.match(/data-reissue-result="3"/);
      expect(page.html).to.include('3 certificates re-issued');
      expect(page.html).to.match(/data-status-count="stale"[^>]*>Stale: <span class="count">0</);
      const active = await issueModel(conn()).find({ definitionId: new Types.ObjectId(definitionId), status: 'active' }).lean();
      expect(active.map((a) => a.scorePercent)).to.deep.equal([90, 90, 90]);
    });

    it('re-issues automatically after a sync when the course setting is on (and the toggle is audited)', async () => {
      const c = newCourse('Auto re-issue', { learners: 1, items: 2, score: (_l, i) => (i === 1 ? 6 : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { thresholdPercent: '50' });
      const learner = await launch(c.course.id, c.learnerIds[0]!);
      await claim(learner, definitionId);
      const first = (await activeCertificate(definitionId, c.learnerIds[0]!))!;
      expect(first.scorePercent).to.equal(80);

      const on = await teacher.browser.open(`${teacher.teacher}/settings`, { form: { autoReissue: 'on' } });
      expect(on.url).to.match(/notice=settingsSaved$/);
      expect(on.html).to.include('re-issued automatically after each grade sync');
      expect((await teacher.browser.request(`${teacher.teacher}/settings`, { form: { autoReissue: 'sometimes' } })).status).to.equal(400);

      t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, c.learnerIds[0]!, 10);
      await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      await drain();
      const now = (await activeCertificate(definitionId, c.learnerIds[0]!))!;
      expect(now.scorePercent).to.equal(100);
      expect((await findByCode(conn(), first.code, new Date()))?.newest?.certificate.code).to.equal(now.code);
      const audit = await teacher.browser.open(`${teacher.teacher}/audit`);
      expect(audit.html).to.include('Automatic (after a grade sync)');
      expect(audit.html).to.include('Turned on automatic re-issue after each sync.');
    });
  });

  describe('one course’s teacher and another course’s ids', () => {
    it('answers 404 for a definition, certificate or job of another course, and changes nothing there', async () => {
      const a = newCourse('Course A', { learners: 1, score: () => 10 });
      const b = newCourse('Course B', { learners: 1, score: () => 10 });
      const teacherA = await teacherOf(a);
      const teacherB = await teacherOf(b);
      const definitionB = await createDefinition(teacherB);
      await claim(await launch(b.course.id, b.learnerIds[0]!), definitionB);
      const certificateB = (await activeCertificate(definitionB, b.learnerIds[0]!))!;
      await teacherB.browser.open(`${teacherB.teacher}/sync`, { form: {} });
      const jobB = (await t.app.ctx.jobs.latest(await courseIdOf(b), 'grades.sync'))!.id;
      await drain();

      const gets = [
        `/definitions/${definitionB}`,
        `/definitions/${definitionB}/edit`,
        `/definitions/${definitionB}/generate`,
        `/definitions/${definitionB}/delete-all`,
        `/certificates/${certificateB._id}/delete`,
      ];
      for (const path of gets) expect((await teacherA.browser.request(`${teacherA.teacher}${path}`)).status, `GET ${path}`).to.equal(404);
      const posts: Array<[string, Record<string, string>]> = [
        [`/definitions/${definitionB}`, definitionFields({ title: 'Hijacked' })],
        [`/definitions/${definitionB}/generate`, {}],
        [`/definitions/${definitionB}/delete-all`, { reason: 'x' }],
        [`/definitions/${definitionB}/reissue-stale`, {}],
        [`/definitions/${definitionB}/archive`, {}],
        [`/certificates/${certificateB._id}/delete`, { reason: 'x' }],
        [`/certificates/${certificateB._id}/reissue`, {}],
      ];
      for (const [path, form] of posts) expect((await teacherA.browser.request(`${teacherA.teacher}${path}`, { form })).status, `POST ${path}`).to.equal(404);
      expect((await teacherA.browser.request(`${teacherA.app}/jobs/${jobB}.json`)).status).to.equal(404);
      expect((await teacherB.browser.request(`${teacherB.app}/jobs/${jobB}.json`)).status, 'the same job in its own course').to.equal(200);

      const d = await definitionModel(conn()).findById(definitionB).lean();
      expect(d).to.include({ title: 'Certificate of achievement', version: 1, archivedAt: null });
      expect((await activeCertificate(definitionB, b.learnerIds[0]!))?.code).to.equal(certificateB.code);
    });

    it('refuses the teacher pages to a learner', async () => {
      const c = newCourse('Learner knocks', { learners: 1 });
      const learner = await launch(c.course.id, c.learnerIds[0]!);
      expect((await learner.browser.request(`${learner.teacher}`)).status).to.equal(403);
      expect((await learner.browser.request(`${learner.teacher}/sync`, { form: {} })).status).to.equal(403);
    });
  });

  describe('languages', () => {
    it('shows the teacher pages in Dutch for a Dutch launch', async () => {
      const c = newCourse('Nederlands');
      const docent = t.sandbox.store.addUser({ givenName: 'Docent', familyName: 'Jansen', locale: 'nl-NL' });
      t.sandbox.store.enrol(c.course.id, docent.id, [ROLE.instructor]);
      const teacher = await launch(c.course.id, docent.id);
      await drain();
      const home = await teacher.browser.open(teacher.teacher);
      expect(home.html).to.include('Nieuw certificaat');
      expect(home.html).to.include('Laatst gesynchroniseerd');
      const form = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
      expect(form.html).to.include('tijdelijke score');
    });

    it('has an English and a Dutch text for every teacher key the templates use', async () => {
      const catalogs = loadMessageCatalogs();
      const files = [
        ...readdirSync(PAGES_DIR).filter((f) => f.startsWith('teacher')).map((f) => join(PAGES_DIR, f)),
        ...readdirSync(join(PAGES_DIR, 'partials')).filter((f) => f.startsWith('teacher-')).map((f) => join(PAGES_DIR, 'partials', f)),
      ];
      expect(files.length).to.be.greaterThan(8);
      const keys = new Set(files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/"((?:teacher|common)\.[A-Za-z0-9_.]+)"/g)].map((m) => m[1]!)));
      expect(keys.size).to.be.greaterThan(50);
      for (const key of keys) {
        expect(catalogs.en.has(key), `en ${key}`).to.equal(true);
        expect(catalogs.nl.has(key), `nl ${key}`).to.equal(true);
      }
    });
  });
});

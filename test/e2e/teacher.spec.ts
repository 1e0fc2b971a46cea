/**
 * The teacher's pages, route by route, end to end through the sandbox LMS: launch as the
 * course's teacher, sync, define a certificate, watch learners qualify, generate, delete and
 * re-issue. The seeds' story of Bilbo's temporary 85% stays as a journey. Every test builds its
 * own sandbox course; pages are read as parsed HTML (test/support/html.ts).
 */
import { definitionFormFields } from '../support/e2e';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import express from 'express';
import { Types } from 'mongoose';
import { auditModel } from '../../src/certificates/audit.model';
import { withAuditDetails } from '../../src/certificates/audit.service';
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
import { all, attr, cells, form as formOf, maybe, one, parseHtml, text, texts, type HTMLElement } from '../support/html';

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
const definitionFields = definitionFormFields;

/** The `<tr>` of one learner in the roster table. */
function rowOf(html: string | HTMLElement, userId: string): HTMLElement {
  return one(html, `tr[data-user-id="${userId}"]`);
}

/** The roster's count for a status, as its filter badge shows it ("Stale: 1" → 1). */
function statusCount(html: string | HTMLElement, status: string): string {
  return text(html, `[data-status-count="${status}"]`);
}

/** The audit log's "what" column, newest first. */
function auditWhat(html: string | HTMLElement): string[] {
  return all(html, 'table.audit tbody tr').map((tr) => cells(tr)[2] ?? '');
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

  describe('journey: the seeds’ story of Bilbo’s temporary 85%', () => {
    it('holds Bilbo back while the guard is on, lets him claim 85% without it, flags 85% → 95% after the sync, and re-issues at 95% superseding the old one', async () => {
      const c = newCourse('Digital Literacy (teacher story)', { learners: 2, score: (l) => (l === 0 ? 10 : 5) });
      const bilbo = t.sandbox.store.addUser({ givenName: 'Bilbo', familyName: 'Baggins' });
      t.sandbox.store.enrol(c.course.id, bilbo.id, [ROLE.learner]);
      BILBO_SCORES.forEach((s, i) => t.sandbox.store.setScore(c.course.id, c.lineItemIds[i]!, bilbo.id, s));

      const teacher = await teacherOf(c);
      const home = parseHtml((await teacher.browser.open(teacher.teacher)).html);
      expect(attr(home, '[data-sync-status]', 'data-sync-status')).to.equal('succeeded');
      expect(text(home, '[data-sync-status]')).to.include('3 learners, 10 activities, no errors');

      const definitionId = await createDefinition(teacher);
      let row = rowOf((await overview(teacher, definitionId)).html, bilbo.id);
      expect(row.getAttribute('data-eligible')).to.equal('no');
      expect(text(row, '.reason')).to.include('1 of 10 activities not graded yet');

      const learner = await launch(c.course.id, bilbo.id);
      expect((await claim(learner, definitionId)).status).to.equal(403);
      expect(await activeCertificate(definitionId, bilbo.id)).to.equal(null);

      // The teacher turns the guard off: Bilbo qualifies at 85% (ungraded counts as 0).
      const saved = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, { form: definitionFields({ requireAllGraded: null, expectedVersion: '1' }) });
      expect(saved.url).to.match(/notice=saved$/);
      expect((await claim(learner, definitionId)).status).to.equal(303);
      const first = await activeCertificate(definitionId, bilbo.id);
      expect(first?.scorePercent).to.equal(85);

      // The tenth activity is graded 10/10 in the LMS; "sync now" imports it.
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, bilbo.id, 10);
      const synced = await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      expect(synced.url).to.match(/\/teacher\?notice=syncStarted$/);
      await drain();

      // Where the teacher lands: the stale certificate with its count, who and why, and the button.
      const landing = parseHtml((await teacher.browser.open(teacher.teacher)).html);
      expect(attr(landing, '[data-stale-count]', 'data-stale-count')).to.equal('1');
      expect(text(landing, '.stale-list')).to.include('Bilbo Baggins').and.include('issued at 85%, now 95%');
      expect(text(landing, `[data-definition-id="${definitionId}"] [data-action="reissue-stale"]`)).to.equal('Re-issue the stale certificate');

      const stale = parseHtml((await overview(teacher, definitionId)).html);
      row = rowOf(stale, bilbo.id);
      expect(row.getAttribute('data-status')).to.equal('stale');
      expect(text(row, '.stale-text')).to.include('issued at 85%, now 95%');
      expect(statusCount(stale, 'stale')).to.equal('Stale: 1');

      const reissued = await teacher.browser.open(`${teacher.teacher}/certificates/${first!._id}/reissue`, { form: {} });
      expect(reissued.url).to.match(/notice=reissued&n=1$/);
      row = rowOf(reissued.html, bilbo.id);
      expect(row.getAttribute('data-status')).to.equal('valid');

      const second = await activeCertificate(definitionId, bilbo.id);
      expect(second?.scorePercent).to.equal(95);
      expect(second?.code).to.not.equal(first!.code);
      // "Open" leads to the certificate's own page.
      const open = attr(row, 'a[data-action="open-certificate"]', 'href')!;
      expect(open).to.equal(`/app/${teacher.session}/certificates/${second!._id}`);
      const opened = await teacher.browser.open(`${t.baseUrl}${open}`);
      expect(opened.status).to.equal(200);
      expect(text(parseHtml(opened.html), 'main')).to.include(second!.code);
      const bilboPage = parseHtml((await learner.browser.open(`${learner.app}/learner`)).html);
      expect(text(bilboPage, 'section[data-definition-id] p.score strong')).to.include('95%');
      const old = await findByCode(conn(), first!.code, new Date());
      expect(old?.state).to.equal('superseded');
      expect(old?.newest?.certificate.code).to.equal(second!.code);
      expect(old?.newest?.certificate.scorePercent).to.equal(95);

      // The audit log tells the story, newest first.
      const audit = auditWhat((await teacher.browser.open(`${teacher.teacher}/audit`)).html);
      expect(audit.map((what) => what.split(' ')[0])).to.deep.equal(['Re-issued', 'Issued', 'Changed', 'Created']);
      expect(audit[0]).to.include(`${first!.code} at 85% replaced by ${second!.code} at 95%`);
    });
  });

  describe("a learner's row in the overview", () => {
    it("issues an eligible learner's certificate from their row, and offers no 'Open' on a deleted one", async () => {
      const c = newCourse('Row actions', { learners: 1, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      const userId = one((await overview(teacher, definitionId)).html, 'tr[data-user-id]').getAttribute('data-user-id')!;
      let row = rowOf((await overview(teacher, definitionId)).html, userId);
      expect(maybe(row, '[data-action="open-certificate"]')).to.equal(null);
      expect(text(row, '[data-action="issue-one"]')).to.equal('Issue');

      const issued = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/issue`, { form: { userId } });
      expect(issued.url).to.match(/notice=issuedOne$/);
      const certificate = await activeCertificate(definitionId, userId);
      expect(certificate?.scorePercent).to.equal(100);
      row = rowOf(issued.html, userId);
      expect(row.getAttribute('data-status')).to.equal('valid');
      expect(maybe(row, '[data-action="issue-one"]')).to.equal(null);
      expect(attr(row, 'a[data-action="open-certificate"]', 'href')).to.equal(`/app/${teacher.session}/certificates/${certificate!._id}`);

      const deleted = await teacher.browser.open(`${teacher.teacher}/certificates/${certificate!._id}/delete`, { form: { reason: 'Issued by mistake' } });
      row = rowOf(deleted.html, userId);
      expect(row.getAttribute('data-status')).to.equal('revoked');
      expect(maybe(row, '[data-action="open-certificate"]'), 'no Open on a deleted certificate').to.equal(null);
      expect(text(row, '[data-action="issue-one"]')).to.equal('Issue');
    });

    it('refuses to issue to someone who does not qualify, and writes nothing', async () => {
      const c = newCourse('Row actions, not eligible', { learners: 1, score: () => 2 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      const userId = one((await overview(teacher, definitionId)).html, 'tr[data-user-id]').getAttribute('data-user-id')!;
      const res = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/issue`, { form: { userId } });
      expect(res.url).to.match(/notice=issueNotEligible$/);
      expect(text(res.html, '[data-notice]')).to.include('does not qualify');
      expect(await issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId) })).to.equal(0);
    });
  });

  describe('GET /teacher', () => {
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
      const page = parseHtml((await teacher.browser.open(teacher.teacher)).html);
      expect(attr(page, '[data-job-progress]', 'data-kind')).to.equal('sync');
      await drain();
      expect(await runs()).to.equal(2);
    });

    it('is refused to a learner (403), and so is "Sync now"', async () => {
      const c = newCourse('Learner knocks', { learners: 1 });
      const learner = await launch(c.course.id, c.learnerIds[0]!);
      expect((await learner.browser.request(`${learner.teacher}`)).status).to.equal(403);
      expect((await learner.browser.request(`${learner.teacher}/sync`, { form: {} })).status).to.equal(403);
    });

    it('is in Dutch for a Dutch launch', async () => {
      const c = newCourse('Nederlands');
      const docent = t.sandbox.store.addUser({ givenName: 'Docent', familyName: 'Jansen', locale: 'nl-NL' });
      t.sandbox.store.enrol(c.course.id, docent.id, [ROLE.instructor]);
      const teacher = await launch(c.course.id, docent.id);
      await drain();
      const home = parseHtml((await teacher.browser.open(teacher.teacher)).html);
      expect(attr(home, 'html', 'lang')).to.match(/^nl/);
      expect(text(home, 'main')).to.include('Nieuw certificaat');
      expect(text(home, 'main')).to.include('Laatst gesynchroniseerd');
      const form = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/new`)).html);
      expect(text(form, 'main')).to.include('tijdelijke score');
    });
  });

  describe('GET /jobs/:id.json', () => {
    it('returns a sync job’s status for the progress bar', async () => {
      const b = newCourse('Jobs B');
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
    });

    it('is not found for a job of another course, or an id that is not one', async () => {
      const a = newCourse('Jobs A');
      const b = newCourse('Jobs B2');
      const teacherA = await teacherOf(a);
      const teacherB = await teacherOf(b);
      await teacherB.browser.open(`${teacherB.teacher}/sync`, { form: {} });
      const jobId = (await t.app.ctx.jobs.latest(await courseIdOf(b), 'grades.sync'))!.id;
      await drain();
      expect((await teacherA.browser.request(`${teacherA.app}/jobs/${jobId}.json`)).status).to.equal(404);
      expect((await teacherA.browser.request(`${teacherA.app}/jobs/not-an-id.json`)).status).to.equal(404);
    });
  });

  describe('GET /teacher/definitions/new', () => {
    it('has the guard against temporary scores on, says why, and proposes 80%', async () => {
      const c = newCourse('New form');
      const teacher = await teacherOf(c);
      const doc = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/new`)).html);
      expect(one(doc, '#f-requireAllGraded').hasAttribute('checked')).to.equal(true);
      expect(text(doc, 'form')).to.include('temporary score');
      expect(attr(doc, '#f-thresholdPercent', 'value')).to.equal('80');
    });

    it('offers public certificates when the administrator allows them', async () => {
      const c = newCourse('Public switch');
      const teacher = await teacherOf(c);
      expect(t.config.publicCertificates).to.equal(true);
      const doc = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/new`)).html);
      expect(attr(doc, '#f-public', 'type')).to.equal('checkbox');
    });
  });

  describe('with public certificates switched off by the administrator', () => {
    let teacher: Launched;
    let base: string;
    let http: ReturnType<typeof createServer>;
    before(async () => {
      teacher = await teacherOf(newCourse('Public off'));
      // The same pages on a second server whose administrator switched public certificates off.
      const server = express();
      server.use(express.urlencoded({ extended: false }));
      const ctx = { ...t.app.ctx, config: { ...t.config, publicCertificates: false } };
      server.use('/app/:session', toolRouter({ conn: ctx.conn, views: ctx.views, now: ctx.now, teacher: teacherRouter(ctx) }));
      server.use(errorHandler(ctx.views));
      http = createServer(server);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/app/${teacher.session}/teacher`;
    });
    after(async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });

    it('GET /teacher/definitions/new says public certificates are not allowed', async () => {
      const doc = parseHtml((await teacher.browser.open(`${base}/definitions/new`)).html);
      expect(maybe(doc, '[data-public="unavailable"]')).not.to.equal(null);
      expect(text(doc, 'form')).to.include('has not allowed public certificates');
    });

    it('POST /teacher/definitions refuses a public definition naming the field, and writes nothing', async () => {
      const refused = await teacher.browser.open(`${base}/definitions`, { form: definitionFields({ public: 'on', title: 'Public attempt' }) });
      expect(refused.status).to.equal(400);
      expect(all(refused.html, '.field-error').map((e) => e.getAttribute('data-field'))).to.include('public');
      expect(await definitionModel(conn()).countDocuments({ title: 'Public attempt' })).to.equal(0);
    });
  });

  describe('POST /teacher/definitions', () => {
    it('creates the definition and leads to its page', async () => {
      const c = newCourse('Create');
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { title: 'Course completed' });
      expect((await definitionModel(conn()).findById(definitionId).lean())).to.include({ title: 'Course completed', version: 1 });
      const doc = parseHtml((await overview(teacher, definitionId, '?notice=created')).html);
      expect(attr(doc, '[data-notice]', 'data-notice')).to.equal('created');
    });

    it('refuses impossible settings naming each field, keeps what the teacher typed, and writes nothing', async () => {
      const c = newCourse('Form errors', { items: 3 });
      const teacher = await teacherOf(c);
      const page = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/new`)).html);
      const ids = all(page, 'input[name$=".used"]').map((i) => /^item\.([0-9a-f]{24})\.used$/.exec(i.getAttribute('name')!)![1]!);
      expect(ids).to.have.length(3);
      const refused = await teacher.browser.open(`${teacher.teacher}/definitions`, {
        form: definitionFields({
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
        }),
      });
      expect(refused.status).to.equal(400);
      const doc = parseHtml(refused.html);
      expect(all(doc, '.field-error').map((e) => e.getAttribute('data-field'))).to.include.members([
        'thresholdPercent',
        `item.${ids[0]}.weight`,
        `item.${ids[1]}.minimumPercent`,
        'mandatoryMinimum',
        'validity.validForMonths',
      ]);
      expect(text(doc, '.field-error[data-field="thresholdPercent"]')).to.equal('Enter a percentage between 0 and 100.');
      expect(text(doc, '.field-error[data-field="mandatoryMinimum"]')).to.include('not more than the number of mandatory activities (1)');
      expect(attr(doc, '#f-title', 'value')).to.equal('Distinction with a typo');
      expect(attr(doc, '#f-thresholdPercent', 'value')).to.equal('120');
      expect(all(doc, '.error-summary a').map((a) => a.getAttribute('href'))).to.include(`#f-item-${ids[0]}-weight`);
      expect(await definitionModel(conn()).countDocuments({ title: 'Distinction with a typo' })).to.equal(0);
    });

    it('refuses a selection whose weights are all zero', async () => {
      const c = newCourse('All zero', { items: 2 });
      const teacher = await teacherOf(c);
      const page = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/new`)).html);
      const id = /^item\.([0-9a-f]{24})\.used$/.exec(attr(page, 'input[name$=".used"]', 'name')!)![1]!;
      const allZero = await teacher.browser.open(`${teacher.teacher}/definitions`, {
        form: definitionFields({ title: 'Zero weights', itemsMode: 'selected', [`item.${id}.used`]: 'on', [`item.${id}.weight`]: '0' }),
      });
      expect(allZero.status).to.equal(400);
      expect(texts(allZero.html, '.field-error')).to.include('At least one ticked activity needs a weight above 0.');
      expect(await definitionModel(conn()).countDocuments({ title: 'Zero weights' })).to.equal(0);
    });

    it('refuses a blank title and a design it does not know, naming both', async () => {
      const c = newCourse('No title');
      const teacher = await teacherOf(c);
      const noTitle = await teacher.browser.open(`${teacher.teacher}/definitions`, { form: definitionFields({ title: '  ', 'template.design': 'baroque' }) });
      expect(noTitle.status).to.equal(400);
      expect(all(noTitle.html, '.field-error').map((e) => e.getAttribute('data-field'))).to.include.members(['title', 'template.design']);
    });
  });

  describe('POST /teacher/definitions/:id', () => {
    it('saves per-item weights, minimums and "N of the mandatory" as a new version, audited with what changed', async () => {
      const c = newCourse('Weights', { items: 3, learners: 2, score: (l, i) => (l === 0 ? [10, 6, 10][i]! : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { thresholdPercent: '90' });
      const edit = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/edit`)).html);
      const ids = all(edit, 'input[name$=".used"]').map((i) => /^item\.([0-9a-f]{24})\.used$/.exec(i.getAttribute('name')!)![1]!);
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
      expect(attr(row, '[data-score]', 'data-score')).to.equal('90');
      expect(row.getAttribute('data-eligible')).to.equal('yes');
      const changed = await auditModel(conn()).findOne({ definitionId: new Types.ObjectId(definitionId), action: 'definition_changed' }).lean();
      expect(Object.keys((changed?.details as { changes: object }).changes)).to.have.members(['items', 'mandatoryMinimum']);
    });

    it('refuses a save from a tab still showing an older version (409), keeping what was typed', async () => {
      const c = newCourse('Two tabs', { items: 2 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, { form: definitionFields({ title: 'New tab', expectedVersion: '1' }) });
      const stale = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`, { form: definitionFields({ title: 'Old tab', expectedVersion: '1' }) });
      expect(stale.status).to.equal(409);
      expect(attr(stale.html, '#f-title', 'value')).to.equal('Old tab');
      expect((await definitionModel(conn()).findById(definitionId).lean())?.title).to.equal('New tab');
    });
  });

  describe('GET /teacher/definitions/:id', () => {
    let teacher: Launched;
    let definitionId: string;
    let c: ReturnType<typeof newCourse>;
    before(async () => {
      // 150 learners: every third one below the threshold.
      c = newCourse('Big roster', { learners: 150, items: 2, score: (l) => (l % 3 === 0 ? 5 : 9) });
      teacher = await teacherOf(c);
      definitionId = await createDefinition(teacher);
    });
    const rows = (doc: HTMLElement) => all(doc, 'tr[data-user-id]');
    const scores = (doc: HTMLElement) => all(doc, 'tr[data-user-id] [data-score]').map((td) => Number(td.getAttribute('data-score')));

    it('shows 100 learners a page, with the counts per status', async () => {
      const doc = parseHtml((await overview(teacher, definitionId)).html);
      expect(rows(doc)).to.have.length(100);
      expect(text(doc, '[data-matching]')).to.include('Learners 1–100 of 150.');
      expect(statusCount(doc, 'none')).to.equal('No certificate: 150');
      expect(text(doc, 'main')).to.include('Page 1 of 2');
      expect(rows(parseHtml((await overview(teacher, definitionId, '?page=2')).html))).to.have.length(50);
    });

    it('filters and sorts by the query string', async () => {
      const below = scores(parseHtml((await overview(teacher, definitionId, '?eligible=no&sort=score&dir=asc')).html));
      expect(below).to.have.length(50);
      expect(below.every((s) => s === 50)).to.equal(true);
      const sorted = scores(parseHtml((await overview(teacher, definitionId, '?sort=score')).html));
      expect(sorted[0]).to.equal(90);
      expect(sorted).to.deep.equal([...sorted].sort((a, b) => b - a));
    });

    it('searches by name, whatever the case, and keeps the search in the box', async () => {
      const someone = t.sandbox.store.getUser(c.learnerIds[4]!)!;
      const doc = parseHtml((await overview(teacher, definitionId, `?q=${encodeURIComponent(someone.name.toUpperCase())}`)).html);
      expect(rows(doc).map((r) => r.getAttribute('data-user-id'))).to.include(someone.id);
      expect(attr(doc, 'input[name=q]', 'value')).to.equal(someone.name.toUpperCase());
    });

    it('refuses a query string it does not understand with 400 naming the parameter', async () => {
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
    });

    it('flags learners who left the course and keeps their certificate on the list', async () => {
      const small = newCourse('Leavers', { learners: 2, score: () => 10 });
      const smallTeacher = await teacherOf(small);
      const id = await createDefinition(smallTeacher);
      await claim(await launch(small.course.id, small.learnerIds[1]!), id);
      t.sandbox.store.removeMember(small.course.id, small.learnerIds[1]!);
      await smallTeacher.browser.open(`${smallTeacher.teacher}/sync`, { form: {} });
      await drain();
      const row = rowOf((await overview(smallTeacher, id)).html, small.learnerIds[1]!);
      expect(attr(row, '[data-member]', 'data-member')).to.equal('left');
      expect(row.getAttribute('data-status')).to.equal('valid');
    });
  });

  describe('GET and POST /teacher/definitions/:id/generate', () => {
    let c: ReturnType<typeof newCourse>;
    let teacher: Launched;
    let definitionId: string;
    before(async () => {
      // learners 0-3 at 100%, 4-5 at 50%, 6 with an ungraded activity
      c = newCourse('Generate all', { learners: 7, items: 4, score: (l, i) => (l === 6 && i === 3 ? null : l >= 4 && l < 6 ? 5 : 10) });
      teacher = await teacherOf(c);
      definitionId = await createDefinition(teacher);
    });
    const issuedCount = () => issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId) });

    it('GET shows a dry run naming who will get a certificate, and issues nothing', async () => {
      const dry = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`);
      expect(dry.status).to.equal(200);
      const doc = parseHtml(dry.html);
      expect(attr(doc, '#dry-run', 'data-will-issue')).to.equal('4');
      expect(text(doc, '#dry-run')).to.include('4 learners will get a certificate.');
      expect(text(doc, '#dry-run')).to.include('3 learners do not qualify.');
      expect(text(doc, '[data-action="confirm-generate"]')).to.equal('Generate 4 certificates');
      const willIssue = text(doc, '[data-plan-group="willIssue"]');
      for (const id of c.learnerIds.slice(0, 4)) expect(willIssue).to.include(t.sandbox.store.getUser(id)!.name);
      expect(await issuedCount(), 'a dry run issues nothing').to.equal(0);
    });

    it('POST issues exactly the eligible learners in a background job, shown on the definition page', async () => {
      const started = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      expect(started.url).to.match(/notice=generateStarted$/);
      await drain();
      const issued = await issueModel(conn()).find({ definitionId: new Types.ObjectId(definitionId), status: 'active' }).lean();
      expect(issued.map((i) => i.userId).sort()).to.deep.equal(c.learnerIds.slice(0, 4).sort());
      const doc = parseHtml((await overview(teacher, definitionId)).html);
      expect(attr(doc, '[data-generate-result]', 'data-generate-result')).to.equal('4');
      expect(statusCount(doc, 'valid')).to.equal('Valid: 4');
    });

    it('a second run has nothing to issue: the button is disabled and the job issues nothing', async () => {
      const again = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`)).html);
      expect(attr(again, '#dry-run', 'data-will-issue')).to.equal('0');
      expect(one(again, '[data-action="confirm-generate"]').hasAttribute('disabled')).to.equal(true);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      expect(await issuedCount()).to.equal(4);
      const job = await t.db.connection.collection('jobs').find({ kind: 'certificates.generate-all', 'payload.definitionId': definitionId }).sort({ createdAt: -1 }).next();
      expect(job?.status).to.equal('succeeded');
      expect(job?.result).to.include({ issued: 0, alreadyIssued: 4, notEligible: 3 });
    });
  });

  describe('GET /teacher/audit', () => {
    it('lists who did what, newest first, fifty entries a page', async () => {
      const c = newCourse('Audit pages', { learners: 60, items: 1, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      // created + 60 issued + generate all = 62 entries
      const first = parseHtml((await teacher.browser.open(`${teacher.teacher}/audit`)).html);
      const times = (doc: HTMLElement) => all(doc, 'table.audit time').map((e) => e.getAttribute('datetime')!);
      expect(times(first)).to.have.length(50);
      expect(auditWhat(first)[0]).to.equal('Generated all certificates of “Certificate of achievement”: 60 of 60 issued.');
      expect(text(first, 'table.audit')).to.include(t.sandbox.store.getUser(c.teacherIds[0]!)!.name);
      const older = attr(first, 'a[rel=next]', 'href')!;
      expect(older).to.match(/audit\?before=[0-9a-f]{24}$/);
      const second = parseHtml((await teacher.browser.open(`${t.baseUrl}${older}`)).html);
      expect(times(second)).to.have.length(12);
      expect(auditWhat(second)).to.include('Created the certificate “Certificate of achievement”.');
      expect(maybe(second, 'a[rel=next]')).to.equal(null);
      const every = [...times(first), ...times(second)];
      expect(every).to.deep.equal([...every].sort().reverse());
    });

    it('refuses a "before" that is not an entry id with 400 naming it', async () => {
      const teacher = await teacherOf(newCourse('Audit query'));
      const page = await teacher.browser.open(`${teacher.teacher}/audit?before=yesterday`);
      expect(page.status).to.equal(400);
      expect(text(parseHtml(page.html), '.error-card .lead')).to.include('“before”');
    });
  });

  describe('GET and POST /teacher/certificates/:id/delete', () => {
    let c: ReturnType<typeof newCourse>;
    let teacher: Launched;
    let learner: Launched;
    let definitionId: string;
    let first: IssueDoc;
    before(async () => {
      c = newCourse('Delete one', { learners: 1, score: () => 10 });
      teacher = await teacherOf(c);
      definitionId = await createDefinition(teacher);
      learner = await launch(c.course.id, c.learnerIds[0]!);
      expect((await claim(learner, definitionId)).status).to.equal(303);
      first = (await activeCertificate(definitionId, c.learnerIds[0]!))!;
    });

    it('GET asks for confirmation, naming the certificate by its code', async () => {
      const confirm = parseHtml((await teacher.browser.open(`${teacher.teacher}/certificates/${first._id}/delete`)).html);
      expect(text(confirm, 'main')).to.include(first.code);
      expect(formOf(confirm, 'main form').fields).to.have.property('reason');
    });

    it('POST without a reason is refused (400 naming the field) and deletes nothing', async () => {
      const noReason = await teacher.browser.request(`${teacher.teacher}/certificates/${first._id}/delete`, { form: { reason: ' ' }, headers: { accept: 'application/json' } });
      expect(noReason.status).to.equal(400);
      const body = (await noReason.json()) as { error: { message: string; details: { field: string } } };
      expect(body.error.details.field).to.equal('reason');
      expect(body.error.message).to.equal('Say why you delete this certificate. The reason is kept in the audit log.');
      expect(await activeCertificate(definitionId, c.learnerIds[0]!)).to.not.equal(null);
    });

    it('POST with a reason over 500 characters is refused, naming the limit', async () => {
      const tooLong = await teacher.browser.request(`${teacher.teacher}/certificates/${first._id}/delete`, { form: { reason: 'x'.repeat(501) }, headers: { accept: 'application/json' } });
      expect(tooLong.status).to.equal(400);
      const body = (await tooLong.json()) as { error: { message: string; details: { field: string } } };
      expect(body.error).to.deep.include({ message: 'The reason can be at most 500 characters long.', details: { field: 'reason' } });
      expect(await activeCertificate(definitionId, c.learnerIds[0]!)).to.not.equal(null);
    });

    it('POST with a reason revokes it (audited with what it said), after which the learner can claim again', async () => {
      const done = await teacher.browser.open(`${teacher.teacher}/certificates/${first._id}/delete`, { form: { reason: 'Issued to the wrong group' } });
      expect(done.url).to.match(/notice=revoked$/);
      expect(rowOf(done.html, c.learnerIds[0]!).getAttribute('data-status')).to.equal('revoked');
      expect((await findByCode(conn(), first.code, new Date()))?.state).to.equal('revoked');
      const entry = (await withAuditDetails(conn(), [(await auditModel(conn()).findOne({ issueId: first._id, action: 'certificate_revoked' }).lean())!]))[0]; // names and reasons are in audit_details
      expect(entry?.details).to.include({ reason: 'Issued to the wrong group' });
      expect((entry?.details as { certificate: { code: string; scorePercent: number } }).certificate).to.include({ code: first.code, scorePercent: 100 });

      expect((await claim(learner, definitionId)).status).to.equal(303);
      const second = await activeCertificate(definitionId, c.learnerIds[0]!);
      expect(second?.code).to.not.equal(first.code);
    });
  });

  describe('GET and POST /teacher/definitions/:id/delete-all', () => {
    it('confirms with the count, then revokes every valid certificate, audited even without a reason', async () => {
      const c = newCourse('Delete all', { learners: 3, score: () => 10 });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher);
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      const confirm = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/delete-all`)).html);
      expect(text(confirm, '#delete-all .lead')).to.equal('All 3 valid certificates of “Certificate of achievement” will be deleted.');
      expect(text(confirm, '[data-action="confirm-delete-all"]')).to.equal('Delete 3 certificates');
      const done = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/delete-all`, { form: { reason: '' } });
      expect(done.url).to.match(/notice=revokedAll&n=3$/);
      expect(text(parseHtml(done.html), '[data-notice]')).to.equal('3 certificates have been deleted.');
      expect(await issueModel(conn()).countDocuments({ definitionId: new Types.ObjectId(definitionId), status: 'active' })).to.equal(0);
      const entry = (await withAuditDetails(conn(), [(await auditModel(conn()).findOne({ definitionId: new Types.ObjectId(definitionId), action: 'certificates_revoked_all' }).lean())!]))[0];
      expect((entry?.details as { count: number; reason: string }).count).to.equal(3);
      expect((entry?.details as { reason: string }).reason).to.match(/no reason given/);
    });
  });

  describe('POST /teacher/definitions/:id/reissue-stale', () => {
    it('re-issues every stale certificate at once, as a background job', async () => {
      const c = newCourse('Re-issue all', { learners: 3, items: 2, score: (_l, i) => (i === 1 ? null : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { requireAllGraded: null, thresholdPercent: '50' });
      await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/generate`, { form: {} });
      await drain();
      for (const id of c.learnerIds) t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, id, 8);
      await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      await drain();
      let doc = parseHtml((await overview(teacher, definitionId, '?status=stale')).html);
      expect(text(doc, '[data-action="reissue-stale"]')).to.equal('Re-issue all 3 stale certificates');
      expect(text(rowOf(doc, c.learnerIds[0]!), '.stale-text')).to.include('issued at 50%, now 90%');
      const started = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}/reissue-stale`, { form: {} });
      expect(started.url).to.match(/notice=reissueStarted$/);
      await drain();
      doc = parseHtml((await overview(teacher, definitionId)).html);
      expect(attr(doc, '[data-reissue-result]', 'data-reissue-result')).to.equal('3');
      expect(text(doc, '[data-reissue-result]')).to.include('3 certificates re-issued');
      expect(statusCount(doc, 'stale')).to.equal('Stale: 0');
      const active = await issueModel(conn()).find({ definitionId: new Types.ObjectId(definitionId), status: 'active' }).lean();
      expect(active.map((a) => a.scorePercent)).to.deep.equal([90, 90, 90]);
    });
  });

  describe('POST /teacher/settings', () => {
    it('turns automatic re-issue on: after the next sync a stale certificate is re-issued, and the toggle is audited', async () => {
      const c = newCourse('Auto re-issue', { learners: 1, items: 2, score: (_l, i) => (i === 1 ? 6 : 10) });
      const teacher = await teacherOf(c);
      const definitionId = await createDefinition(teacher, { thresholdPercent: '50' });
      await claim(await launch(c.course.id, c.learnerIds[0]!), definitionId);
      const first = (await activeCertificate(definitionId, c.learnerIds[0]!))!;
      expect(first.scorePercent).to.equal(80);

      const on = await teacher.browser.open(`${teacher.teacher}/settings`, { form: { autoReissue: 'on' } });
      expect(on.url).to.match(/notice=settingsSaved$/);
      expect(text(parseHtml(on.html), 'main')).to.include('re-issued automatically after each grade sync');

      t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, c.learnerIds[0]!, 10);
      await teacher.browser.open(`${teacher.teacher}/sync`, { form: {} });
      await drain();
      const now = (await activeCertificate(definitionId, c.learnerIds[0]!))!;
      expect(now.scorePercent).to.equal(100);
      expect((await findByCode(conn(), first.code, new Date()))?.newest?.certificate.code).to.equal(now.code);
      const audit = parseHtml((await teacher.browser.open(`${teacher.teacher}/audit`)).html);
      expect(text(audit, 'table.audit')).to.include('Automatic (after a grade sync)');
      expect(auditWhat(audit)).to.include('Turned on automatic re-issue after each sync.');
    });

    it('refuses a value other than on or off (400 naming the field)', async () => {
      const teacher = await teacherOf(newCourse('Bad setting'));
      const res = await teacher.browser.request(`${teacher.teacher}/settings`, { form: { autoReissue: 'sometimes' }, headers: { accept: 'application/json' } });
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).to.equal('autoReissue');
    });
  });

  describe('another course’s ids', () => {
    let teacherA: Launched;
    let teacherB: Launched;
    let definitionB: string;
    let certificateB: IssueDoc;
    let jobB: string;
    let b: ReturnType<typeof newCourse>;
    before(async () => {
      const a = newCourse('Course A', { learners: 1, score: () => 10 });
      b = newCourse('Course B', { learners: 1, score: () => 10 });
      teacherA = await teacherOf(a);
      teacherB = await teacherOf(b);
      definitionB = await createDefinition(teacherB);
      await claim(await launch(b.course.id, b.learnerIds[0]!), definitionB);
      certificateB = (await activeCertificate(definitionB, b.learnerIds[0]!))!;
      await teacherB.browser.open(`${teacherB.teacher}/sync`, { form: {} });
      jobB = (await t.app.ctx.jobs.latest(await courseIdOf(b), 'grades.sync'))!.id;
      await drain();
    });

    it('are not found on any teacher page of this course', async () => {
      const gets = [
        `/definitions/${definitionB}`,
        `/definitions/${definitionB}/edit`,
        `/definitions/${definitionB}/generate`,
        `/definitions/${definitionB}/delete-all`,
        `/certificates/${certificateB._id}/delete`,
      ];
      for (const path of gets) expect((await teacherA.browser.request(`${teacherA.teacher}${path}`)).status, `GET ${path}`).to.equal(404);
      expect((await teacherA.browser.request(`${teacherA.app}/jobs/${jobB}.json`)).status).to.equal(404);
      expect((await teacherB.browser.request(`${teacherB.app}/jobs/${jobB}.json`)).status, 'the same job in its own course').to.equal(200);
    });

    it('are not found by any form of this course, and nothing changes there', async () => {
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
      const d = await definitionModel(conn()).findById(definitionB).lean();
      expect(d).to.include({ title: 'Certificate of achievement', version: 1, archivedAt: null });
      expect((await activeCertificate(definitionB, b.learnerIds[0]!))?.code).to.equal(certificateB.code);
    });
  });

  describe('translations', () => {
    it('have an English and a Dutch text for every teacher key the templates use', async () => {
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

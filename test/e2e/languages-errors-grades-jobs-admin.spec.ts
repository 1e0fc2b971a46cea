/**
 * The specific message of what went wrong, in the reader's language: a failed background job on
 * the teacher's pages and in its progress JSON, the CSV import's refusals, and the administrator's
 * Moodle and Canvas forms. Real launches of sandbox users whose LMS language is Dutch or German,
 * /admin read by a German or French browser, real HTTP, the real job queue on the real database.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { jobModel } from '../../src/jobs';
import { SYNC_JOB } from '../../src/grades/sync.job';
import { startTestApp, type TestApp } from '../support/app';
import { all, parseHtml, text } from '../support/html';
import { launchAs, sandboxCourse, toolCourse, type Launched } from '../support/e2e';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { moodleConnectionModel } from '../../src/grades/moodle/moodle-connection.model';
import { canvasKeyModel, canvasOAuthStateModel } from '../../src/grades/canvas/canvas.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { HttpBrowser } from '../support/browser';

describe('Error texts in the reader\'s language', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  const inLanguage = (userId: string, locale: string) => {
    t.sandbox.store.getUser(userId)!.locale = locale;
  };

  describe('a failed background job', () => {
    /**
     * A sync job whose servers all died under it: its lease ran out on its last allowed claim, so
     * the queue fails it ('job_interrupted') instead of running it a sixth time.
     */
    async function interruptedSync(courseId: Types.ObjectId, createdBy: { userId: string }): Promise<string> {
      const now = Date.now();
      const doc = await jobModel(t.db.connection).create({
        kind: SYNC_JOB,
        courseId: String(courseId),
        status: 'running',
        progress: { done: 1, total: 4 },
        createdBy,
        createdAt: new Date(now),
        startedAt: new Date(now),
        attempts: 5,
        leaseUntil: new Date(now - 1000),
        activeKey: `${courseId}:${SYNC_JOB}`,
      });
      await t.app.ctx.jobs.drain();
      const failed = await jobModel(t.db.connection).findById(doc._id).lean();
      expect(failed?.status).to.equal('failed');
      return String(doc._id);
    }

    it('reads in German on the teacher\'s course page and in Dutch in the job\'s progress JSON, key and parameters beside it', async () => {
      const c = sandboxCourse(t, { scores: [[8, 9]] });
      const teacherId = c.teacherIds[0]!;
      inLanguage(teacherId, 'de-DE');
      const teacher = await launchAs(t, c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      const course = await toolCourse(t, c);
      const jobId = await interruptedSync(course._id as Types.ObjectId, { userId: 'someone' });

      const page = await teacher.browser.open(`${teacher.app}/teacher`);
      expect(page.status).to.equal(200);
      const notices = all(parseHtml(page.html), '#grade-data .notice.bad').map((n) => text(n));
      expect(notices).to.deep.equal([
        'Die letzte Synchronisation hat nicht funktioniert: Diese Aufgabe wurde zu oft unterbrochen und deshalb angehalten. Starten Sie sie erneut; wenn es wieder passiert, wenden Sie sich an Ihre Administration.',
      ]);

      inLanguage(teacherId, 'nl-NL');
      const dutch = await launchAs(t, c.course.id, teacherId);
      const res = await dutch.browser.request(`${dutch.app}/jobs/${jobId}.json`, { headers: { accept: 'application/json' } });
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { status: string; error: { code: string; message: string; key: string } };
      expect(body.status).to.equal('failed');
      expect(body.error).to.deep.equal({
        code: 'job_interrupted',
        message: 'Deze taak is te vaak onderbroken en daarom gestopt. Start hem opnieuw; blijft het misgaan, neem dan contact op met je beheerder.',
        key: 'errors.job_interrupted',
      });
      // stored in English for logs and scripts
      const stored = await jobModel(t.db.connection).findById(jobId).lean();
      expect(stored!.error!.message).to.match(/^This task was interrupted too many times/);
    });

    it('keeps the English it was stored with when it was written before keys', async () => {
      const c = sandboxCourse(t, { scores: [[8]] });
      const teacherId = c.teacherIds[0]!;
      inLanguage(teacherId, 'de-DE');
      const teacher = await launchAs(t, c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      const course = await toolCourse(t, c);
      const old = await jobModel(t.db.connection).create({
        kind: SYNC_JOB,
        courseId: String(course._id),
        status: 'failed',
        progress: { done: 0, total: 0 },
        error: { code: 'platform_error', message: 'The platform answered with something that is not JSON.' },
        createdBy: { userId: teacherId },
        createdAt: new Date(),
        finishedAt: new Date(),
      });
      const page = await teacher.browser.open(`${teacher.app}/teacher`);
      expect(all(parseHtml(page.html), '#grade-data .notice.bad').map((n) => text(n))).to.deep.equal([
        'Die letzte Synchronisation hat nicht funktioniert: The platform answered with something that is not JSON.',
      ]);
      const json = (await (await teacher.browser.request(`${teacher.app}/jobs/${old._id}.json`)).json()) as { error: { message: string } };
      expect(json.error.message).to.equal('The platform answered with something that is not JSON.');
    });
  });

  describe('the gradebook CSV import', () => {
    /** Posts the upload form as a browser does (multipart, one `file` field) and follows it to the preview. */
    async function preview(l: Launched, content: string): Promise<string> {
      const form = new FormData();
      form.append('file', new Blob([content], { type: 'text/csv' }), 'export.csv');
      const res = await fetch(`${l.app}/teacher/grades/import`, { method: 'POST', body: form, redirect: 'manual' });
      expect(res.status, (await res.text()).slice(0, 2000)).to.equal(303);
      return /\/teacher\/grades\/import\/([0-9a-f]{32})$/.exec(res.headers.get('location') ?? '')![1]!;
    }

    it("tells a German teacher in German which row was not imported and why, in the sync history, and that a second apply applies nothing", async () => {
      const c = sandboxCourse(t, { scores: [[8, 9]] });
      const teacherId = c.teacherIds[0]!;
      inLanguage(teacherId, 'de-DE');
      const teacher = await launchAs(t, c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      // Canvas's "Export Entire Gradebook" layout (test/fixtures/csv/canvas-gradebook.csv): a learner of
      // the course found by LMS user id, and a person who is not in the course
      const lines = readFileSync(join(__dirname, '..', 'fixtures', 'csv', 'canvas-gradebook.csv'), 'utf8').split(/\r?\n/);
      const totals = '121.50,121.50,89.34,89.34,89.34,89.34,121.50,121.50,89.34,89.34,89.34,89.34';
      const csv = [
        ...lines.slice(0, 4),
        `"${learner.familyName}, ${learner.givenName}",${learner.id},,,Biology 101,8.50,22.00,91.00,2.00,${totals}`,
        `"Nowak, Piotr",1005,,pnowak,Biology 101,6.00,12.50,55.00,,${totals}`,
      ].join('\r\n');
      const id = await preview(teacher, csv);
      const runsBefore = await syncRunModel(t.db.connection).countDocuments({ source: 'csv' });
      const applied = await teacher.browser.request(`${teacher.app}/teacher/grades/import/${id}/apply`, { form: {} });
      expect(applied.status).to.equal(303);
      const history = parseHtml((await teacher.browser.open(new URL(applied.headers.get('location')!, `${teacher.app}/teacher/grades/`).toString())).html);
      const errors = all(history, 'li[data-error-kind="unmatched_row"]').map((li) => text(li));
      expect(errors).to.deep.equal(['Zeile 6 (Nowak, Piotr): keine Person im Kurs mit diesen Kennungen; nicht importiert.']);

      const again = await teacher.browser.request(`${teacher.app}/teacher/grades/import/${id}/apply`, { form: {} });
      expect(again.status).to.equal(409);
      expect(text(parseHtml(await again.text()), 'main')).to.include('Dieser Import wurde bereits übernommen; er wird nie zweimal übernommen.').and.not.include('already applied');
      expect(await syncRunModel(t.db.connection).countDocuments({ source: 'csv' })).to.equal(runsBefore + 1);
    });
  });

  describe("the administrator's Moodle and Canvas forms (/admin, the browser's language)", () => {
    const GERMAN = { 'accept-language': 'de-DE,de;q=0.9' };
    const FRENCH = { 'accept-language': 'fr-FR,fr;q=0.9' };

    async function adminIn(headers: Record<string, string>): Promise<HttpBrowser> {
      const b = new HttpBrowser({ headers });
      expect((await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
      return b;
    }

    /** Posts the form; the error page's message, its status and the field it names. */
    async function refusal(admin: HttpBrowser, path: string, form: Record<string, string>) {
      const res = await admin.request(`${t.baseUrl}${path}`, { form });
      const page = parseHtml(await res.text());
      return { status: res.status, message: text(page, 'main .lead') || text(page, '.lead'), details: all(page, 'ul.details li').map((li) => text(li)) };
    }

    const storedMoodle = () => moodleConnectionModel(t.db.connection).find({ issuer: t.sandbox.issuer }).lean();

    it('Moodle web services: tells a German administrator which field is wrong and what to enter, 400, nothing stored', async () => {
      const admin = await adminIn(GERMAN);
      const before = await storedMoodle();
      const cases: Array<[Record<string, string>, string, string]> = [
        [{ token: '' }, 'token', 'Token des Webservice-Nutzers: Fügen Sie das Token ein, das Moodle für den Webservice-Nutzer des Werkzeugs erstellt hat (Website-Administration › Server › Webservices › Token verwalten).'],
        [{ token: 'short' }, 'token', 'Token des Webservice-Nutzers: Ein Moodle-Token besteht aus 32 Buchstaben und Ziffern (Website-Administration › Server › Webservices › Token verwalten).'],
        [{ token: 'a'.repeat(32), baseUrl: 'moodle.example.edu' }, 'baseUrl', 'Moodle-Adresse: Geben Sie die Adresse Ihres Moodle an, z. B. https://moodle.example.edu.'],
        [{ token: 'a'.repeat(32), baseUrl: 'ftp://moodle.example.edu' }, 'baseUrl', 'Moodle-Adresse: Sie muss mit https:// beginnen (oder mit http:// für eine lokale Testseite).'],
        [
          { token: 'a'.repeat(32), baseUrl: 'http://169.254.169.254/moodle' },
          'baseUrl',
          'Das Werkzeug hat es abgelehnt, die Moodle-Webservice-Adresse http://169.254.169.254/moodle abzurufen: 169.254.169.254 ist eine Link-Local-, Metadaten- oder unspezifizierte Adresse. Es wurde nichts dorthin gesendet. Prüfen Sie die Registrierung des Werkzeugs im LMS (seine URLs müssen auf den eigenen Hosts des LMS liegen).',
        ],
      ];
      for (const [form, field, said] of cases) {
        const r = await refusal(admin, '/admin/moodle/save', { issuer: t.sandbox.issuer, ...form });
        expect(r.status, JSON.stringify(form)).to.equal(400);
        expect(r.message, JSON.stringify(form)).to.equal(said);
        expect(r.details).to.deep.equal([`field: ${field}`]);
      }
      expect(await storedMoodle()).to.deep.equal(before);
    });

    it('Canvas API key: tells a French administrator which field is wrong and what to enter, 400, nothing stored', async () => {
      // a Canvas of this test's own: another spec may have entered a key for the sandbox's
      const issuer = `https://canvas-forms-${Date.now()}.example`;
      await t.app.lti.registerPlatform({ issuer, clientId: 'canvas-forms', name: 'Canvas forms', authUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, jwksUrl: `${issuer}/jwks` }, { active: true });
      const admin = await adminIn(FRENCH);
      const before = await canvasKeyModel(t.db.connection).countDocuments({});
      const cases: Array<[Record<string, string>, string, string]> = [
        [{ clientId: 'abc', clientSecret: 'x'.repeat(64) }, 'clientId', 'Client ID : le Client ID d\'une clé de développeur Canvas est un nombre, par exemple 10000000000042 (Canvas : Admin › Clés de développeur, la colonne « Détails »).'],
        [{ clientId: '10000000000042' }, 'clientSecret', 'Secret : collez le secret de la clé (Canvas : Admin › Clés de développeur, le bouton « Show Key » de la clé).'],
        [{ clientId: '10000000000042', clientSecret: 'short' }, 'clientSecret', 'Secret : le secret d\'une clé Canvas compte 64 lettres et chiffres (le bouton « Show Key » de la clé dans Admin › Clés de développeur).'],
        [{ clientId: '10000000000042', clientSecret: 'x'.repeat(64), baseUrl: 'school' }, 'baseUrl', 'L\'adresse de votre Canvas : indiquez l\'adresse de votre Canvas, par exemple https://school.instructure.com.'],
      ];
      for (const [form, field, said] of cases) {
        const r = await refusal(admin, '/admin/canvas/save', { issuer, ...form });
        expect(r.status, JSON.stringify(form)).to.equal(400);
        expect(r.message, JSON.stringify(form)).to.equal(said);
        expect(r.details).to.deep.equal([`field: ${field}`]);
      }
      expect(await canvasKeyModel(t.db.connection).countDocuments({})).to.equal(before);
    });
  });

  describe("the teacher's own columns and Canvas authorisation", () => {
    it('refuses a column name that is too long in Dutch on the page, 400, and creates nothing in the LMS or the tool', async () => {
      const c = sandboxCourse(t, { scores: [[8]] });
      const teacherId = c.teacherIds[0]!;
      inLanguage(teacherId, 'nl-NL');
      const teacher = await launchAs(t, c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      const course = await toolCourse(t, c);
      const lmsBefore = t.sandbox.store.listLineItems(c.course.id).length;
      const toolBefore = await lineItemModel(t.db.connection).countDocuments({ courseId: course._id });
      const res = await teacher.browser.request(`${teacher.app}/teacher/columns`, { form: { label: 'x'.repeat(201), scoreMaximum: '20' } });
      expect(res.status).to.equal(400);
      const page = parseHtml(await res.text());
      expect(text(page, 'main')).to.include('De naam van de kolom is te lang (hoogstens 200 tekens).').and.not.include('too long');
      expect(t.sandbox.store.listLineItems(c.course.id).length).to.equal(lmsBefore);
      expect(await lineItemModel(t.db.connection).countDocuments({ courseId: course._id })).to.equal(toolBefore);

      const gone = await teacher.browser.request(`${teacher.app}/teacher/columns/${new Types.ObjectId()}/delete`, { form: {} });
      expect(gone.status).to.equal(404);
      expect(text(parseHtml(await gone.text()), 'main')).to.include('Deze kolom bestaat niet in deze cursus, of de tool heeft hem niet aangemaakt.');
    });

    it("tells a German teacher in German that the administrator has not entered a Canvas API key, and starts no authorisation", async () => {
      const c = sandboxCourse(t, { scores: [[8]] });
      const teacherId = c.teacherIds[0]!;
      inLanguage(teacherId, 'de-DE');
      const teacher = await launchAs(t, c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      // the sandbox's Canvas without an API key for this test (another spec may have entered one): put back after
      const Keys = canvasKeyModel(t.db.connection);
      const keys = await Keys.find({ issuer: t.sandbox.issuer }).lean();
      await Keys.deleteMany({ issuer: t.sandbox.issuer });
      try {
        const states = await canvasOAuthStateModel(t.db.connection).countDocuments({});
        const res = await teacher.browser.request(`${teacher.app}/teacher/grades/canvas/authorize`, { form: {} });
        expect(res.status).to.equal(400);
        expect(text(parseHtml(await res.text()), 'main')).to.include(
          'Dieser Kurs liest die Canvas-Bewertungen, aber die Administration hat für dieses Canvas noch keinen Canvas-API-Entwicklerschlüssel eingegeben',
        );
        expect(await canvasOAuthStateModel(t.db.connection).countDocuments({})).to.equal(states);
      } finally {
        if (keys.length) await Keys.insertMany(keys);
      }
    });
  });
});

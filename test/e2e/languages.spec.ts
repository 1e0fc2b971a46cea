/**
 * Pages outside a launch speak the browser's language (Accept-Language): the administrator's
 * pages, dynamic registration and its errors, a refused launch, the start page. Each test reads
 * the page over real HTTP as a Dutch or German browser would and checks the sentences a person
 * reads there, not only the title, and that no English sentence of the page is left.
 */
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { moodleConnectionModel } from '../../src/grades/moodle/moodle-connection.model';
import { SANDBOX_WS_CAPABILITIES } from '../../src/sandbox/moodle-ws.site';
import { all, cells, parseHtml, text } from '../support/html';
import { buildCourse } from '../support/builders';

const DUTCH = { 'accept-language': 'nl-NL,nl;q=0.9,en;q=0.5' };
const GERMAN = { 'accept-language': 'de-DE,de;q=0.9' };

describe('Pages outside a launch in the browser language', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    // a Moodle of this spec's own: /admin/moodle lists only platforms that may be Moodle, and the
    // shared app's sandbox issuer is Canvas or Chamilo for /admin/moodle once other specs launched it so
    const issuer = `https://moodle-languages-${Date.now()}.example`;
    await t.app.lti.registerPlatform({ issuer, clientId: 'languages-moodle', name: 'Languages Moodle', authUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, jwksUrl: `${issuer}/jwks` }, { active: true });
    await buildCourse(t.db.connection, { issuer, platformFamily: 'moodle' });
  });

  async function adminIn(headers: Record<string, string>): Promise<HttpBrowser> {
    const b = new HttpBrowser({ headers });
    const res = await b.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
    expect(res.status).to.equal(303);
    return b;
  }

  /** The visible text of a page body, whitespace folded. */
  const visible = (html: string) => text(parseHtml(html), 'main') || text(parseHtml(html), 'body');

  describe('GET /admin/moodle, /admin/canvas, /admin/privacy, /admin/credentials, /admin/certifications', () => {
    it('are Dutch for a Dutch browser', async () => {
      const admin = await adminIn(DUTCH);
      const expected: Record<string, string[]> = {
        '/admin/moodle': ['Certificaten · Moodle-webservices', 'Met een webservicetoken leest de tool het hele cijferoverzicht van de cursus', 'Opslaan en de verbinding testen', 'Token van de webservicegebruiker'],
        '/admin/canvas': ['Certificaten · Canvas-API-sleutel', 'geeft een docent de tool eenmaal per cursus toestemming', 'Zet de sleutel op ON'],
        '/admin/privacy': ['Certificaten · privacyverzoeken', 'De gegevens van een deelnemer exporteren', 'Dit kan niet ongedaan worden gemaakt.', 'Typ de gebruikers-id nog eens ter bevestiging'],
        '/admin/credentials': ['Certificaten · Ondertekeningssleutels van credentials', 'Elk certificaat is ook een ondertekende Open Badges 3.0-credential', 'De ondertekeningssleutel vervangen'],
        '/admin/certifications': ['Certificaten · Certificeringen', 'Kies de registratie waarvan je de certificeringen instelt.'],
      };
      for (const [path, sentences] of Object.entries(expected)) {
        const page = await admin.open(`${t.baseUrl}${path}`);
        expect(page.status, path).to.equal(200);
        expect(page.html, path).to.match(/<html lang="nl">/);
        const words = visible(page.html);
        for (const s of sentences) expect(words, path).to.include(s);
        expect(words, `${path} has no English left`).to.not.include('Back to the administrator page');
        expect(words, path).to.include('Terug naar de beheerpagina');
      }
    });

    it('are German for a German browser, the Moodle set-up steps with their function names as code', async () => {
      const admin = await adminIn(GERMAN);
      const moodle = await admin.open(`${t.baseUrl}/admin/moodle`);
      expect(visible(moodle.html)).to.include('Mit einem Webservice-Token liest das Werkzeug die gesamten Bewertungen des Kurses');
      expect(moodle.html).to.include('ein Dienst mit genau den Funktionen <code>gradereport_user_get_grade_items</code>, <code>core_enrol_get_enrolled_users</code> und <code>core_completion_get_course_completion_status</code>');
      const privacy = await admin.open(`${t.baseUrl}/admin/privacy`);
      expect(visible(privacy.html)).to.include('Die Daten einer lernenden Person löschen').and.include('Noch kein Export und keine Löschung.');
      const credentials = await admin.open(`${t.baseUrl}/admin/credentials`);
      expect(visible(credentials.html)).to.include('Den Signaturschlüssel austauschen');
      const home = await admin.open(`${t.baseUrl}/admin`);
      expect(visible(home.html)).to.include('Postausgang:').and.not.include('Outbox:');
    });

    it("report a Moodle connection test in German, Moodle's function names untouched", async () => {
      const admin = await adminIn(GERMAN);
      const course = t.sandbox.store.createCourse({ title: 'Moodle test in German', quirks: 'moodle', learners: 2, items: 2 }).course.id;
      try {
        const token = t.sandbox.moodleWs.createToken().token;
        const res = await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, testCourseId: course, token } });
        expect(res.status).to.equal(303);
        const page = await admin.open(`${t.baseUrl}/admin/moodle`);
        const section = all(parseHtml(page.html), 'section.moodle-platform').find((el) => el.getAttribute('data-issuer') === t.sandbox.issuer)!;
        const rows = all(section, 'table.moodle-checks tbody tr').map((tr) => cells(tr));
        expect(rows.map((r) => r[0])).to.deep.equal(['core_enrol_get_enrolled_users', 'gradereport_user_get_grade_items', 'core_completion_get_course_completion_status']);
        expect(rows.map((r) => r[1])).to.deep.equal(['funktioniert', 'funktioniert', 'funktioniert']);
        expect(rows[0]![2]).to.match(/^\d+ Teilnehmende, davon 2 Studierende\.$/);
        expect(rows[1]![2]).to.match(/^2 Lernende mit Bewertungen; \d+ Bewertungsaspekte, \d+ Kategoriesummen und (die|keine) Kurssumme\.$/);
        expect(text(section)).to.include('verschlüsselt gespeichert, endet auf …').and.include('Letzter Test');
      } finally {
        await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
      }
    });

    it("say in German what Moodle refused and where to fix it, with Moodle's German menus", async () => {
      const admin = await adminIn(GERMAN);
      const course = t.sandbox.store.createCourse({ title: 'Moodle refusal in German', quirks: 'moodle', learners: 1, items: 1 }).course.id;
      try {
        // the web-service user's role lacks "View grades of other users"
        const token = t.sandbox.moodleWs.createToken({ capabilities: Object.keys(SANDBOX_WS_CAPABILITIES).filter((c) => c !== 'moodle/grade:viewall') }).token;
        expect((await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, testCourseId: course, token } })).status).to.equal(303);
        const page = await admin.open(`${t.baseUrl}/admin/moodle`);
        const section = all(parseHtml(page.html), 'section.moodle-platform').find((el) => el.getAttribute('data-issuer') === t.sandbox.issuer)!;
        const grades = all(section, 'table.moodle-checks tbody tr').map((tr) => cells(tr)).find((r) => r[0] === 'gradereport_user_get_grade_items')!;
        expect(grades[1]).to.equal('fehlt');
        expect(grades[2]).to.equal(
          `Der Webservice-Person von Moodle fehlt die Fähigkeit moodle/grade:viewall ("View grades of other users") in Kurs ${course}, die gradereport_user_get_grade_items braucht: Erlauben Sie sie in ihrer Rolle (Website-Administration › Nutzer/innen › Rechte › Rollen verwalten).`,
        );
        expect(text(section)).to.not.include('lacks the capability');
      } finally {
        await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
      }
    });

    it('show their times as Dutch dates with the time in UTC, in <time> elements the page puts in the reader\'s zone', async () => {
      const admin = await adminIn(DUTCH);
      const DUTCH_MOMENT = /^\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4}, \d{2}:\d{2} UTC$/;
      const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
      const course = t.sandbox.store.createCourse({ title: 'Moodle test in Dutch', quirks: 'moodle', learners: 1, items: 1 }).course.id;
      try {
        expect((await admin.request(`${t.baseUrl}/admin/moodle/save`, { form: { issuer: t.sandbox.issuer, testCourseId: course, token: t.sandbox.moodleWs.createToken().token } })).status).to.equal(303);
        const exported = await admin.request(`${t.baseUrl}/admin/privacy/export`, { form: { issuer: t.sandbox.issuer, userId: 'nobody-in-dutch' } });
        expect(exported.status).to.equal(200);
        await exported.arrayBuffer();

        const moodle = parseHtml((await admin.open(`${t.baseUrl}/admin/moodle`)).html);
        const section = all(moodle, 'section.moodle-platform').find((el) => el.getAttribute('data-issuer') === t.sandbox.issuer)!;
        const times = all(section, 'time[data-local-time]');
        expect(times, 'when the token was entered, when it was tested').to.have.length(2);
        for (const time of times) {
          expect(text(time)).to.match(DUTCH_MOMENT);
          expect(time.getAttribute('datetime')).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        }
        expect(text(section)).to.match(/\(ingevoerd op \d{1,2} [a-z]+ \d{4}, \d{2}:\d{2} UTC\)/);
        expect(text(section)).to.not.match(ISO);

        const privacy = parseHtml((await admin.open(`${t.baseUrl}/admin/privacy`)).html);
        const first = all(privacy, '#privacy-log tbody tr')[0]!;
        expect(cells(first)[1]).to.equal('export');
        expect(text(first, 'time[data-local-time]')).to.match(DUTCH_MOMENT);
        expect(text(privacy, '#privacy-log')).to.not.match(ISO);
      } finally {
        await moodleConnectionModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
      }
    });

    it('say in German why nothing was erased, and erase nothing', async () => {
      const admin = await adminIn(GERMAN);
      const log = t.db.connection.collection('privacy_requests');
      const before = await log.countDocuments({});
      const res = await admin.request(`${t.baseUrl}/admin/privacy/erase`, { form: { issuer: t.sandbox.issuer, userId: 'someone', confirm: 'someone-else' } });
      expect(res.status).to.equal(422);
      expect(visible(await res.text())).to.include('Es wurde nichts gelöscht: Geben Sie die Nutzer-ID im Bestätigungsfeld erneut ein.');
      expect(await log.countDocuments({}), 'no erasure is logged').to.equal(before);
    });
  });

  describe('GET /lti/register (dynamic registration)', () => {
    it('tells a Dutch LMS administrator that the registration waits for activation', async () => {
      const start = t.sandbox.startDynamicRegistration();
      const page = await new HttpBrowser({ headers: DUTCH }).open(start.url);
      expect(page.status).to.equal(200);
      const words = visible(page.html);
      expect(words).to.include('Certificaten is geregistreerd bij je LMS');
      expect(words).to.include('De beheerder van de tool moet deze registratie activeren op de beheerpagina van de tool');
      expect(words).to.include('Sluiten');
    });

    it('answers 400 in German when opened without openid_configuration', async () => {
      const page = await new HttpBrowser({ headers: GERMAN }).open(`${t.baseUrl}/lti/register`);
      expect(page.status).to.equal(400);
      expect(visible(page.html)).to.include('Das LMS muss diese Seite mit einer openid_configuration-URL öffnen.').and.not.include('the LMS must open');
    });

    it('says in Dutch that the LMS refused a registration token used twice', async () => {
      const start = t.sandbox.startDynamicRegistration();
      expect((await new HttpBrowser().open(start.url)).status).to.equal(200);
      const again = await new HttpBrowser({ headers: DUTCH }).open(start.url);
      expect(again.status).to.equal(502);
      expect(visible(again.html)).to.include('Het LMS weigerde de registratie (HTTP 4');
    });
  });

  describe('a refused launch', () => {
    it('tells a German browser what is wrong and what to do, and opens no session', async () => {
      const c = t.sandbox.store.createCourse({ title: 'Refused in German', quirks: 'moodle', learners: 1, items: 1 });
      // src/lti/session.service.ts keeps launch sessions in `sessions`.
      const sessions = t.db.connection.collection('sessions');
      const before = await sessions.countDocuments({});
      const page = await new HttpBrowser({ headers: GERMAN }).open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { fault: 'bad-signature' }));
      expect(page.status).to.equal(401);
      const words = visible(page.html);
      expect(words).to.include('Der Start wurde abgelehnt');
      expect(words).to.include('Die Startnachricht ist nicht von der Plattform signiert, von der sie angeblich stammt.');
      expect(words).to.include('Prüfen Sie, ob die im Werkzeug registrierte Schlüsselsatz-URL');
      expect(words).to.not.include('The launch message');
      expect(await sessions.countDocuments({})).to.equal(before);
    });

    it('tells a Dutch browser that the LMS is registered but not activated yet', async () => {
      const start = t.sandbox.startDynamicRegistration();
      expect((await new HttpBrowser().open(start.url)).status).to.equal(200);
      const c = t.sandbox.store.createCourse({ title: 'Not active, in Dutch', quirks: 'moodle', learners: 1, items: 1 });
      const page = await new HttpBrowser({ headers: DUTCH }).open(t.sandbox.launchUrl(c.course.id, c.learnerIds[0]!, { clientId: start.clientId }));
      expect(page.status).to.equal(403);
      expect(visible(page.html)).to.include('Dit LMS is geregistreerd, maar nog niet geactiveerd.').and.include('De beheerder van de tool activeert nieuwe registraties op de beheerpagina.');
    });
  });

  describe('GET /', () => {
    it('welcomes a Dutch visitor in Dutch', async () => {
      const page = await new HttpBrowser({ headers: DUTCH }).open(`${t.baseUrl}/`);
      expect(visible(page.html)).to.include('Een LTI 1.3-tool die cursuscertificaten in Moodle, Canvas en Chamilo brengt').and.include('Een certificaat controleren');
    });
  });
});

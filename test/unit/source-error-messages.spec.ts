/**
 * What the grade sources report to a teacher carries a message key (grades.syncError.*): Canvas's
 * REST answers, Chamilo's gradebook service, Moodle's web services, AGS items the tool cannot read
 * and a stopped sync. The English message (logs, scripts) stays what it said before; the key gives
 * the same sentence in the teacher's language, with Moodle's menus as that language's Moodle names them.
 */
import { expect } from 'chai';
import { createCanvasRestClient } from '../../src/grades/canvas/canvas-rest.client';
import { CanvasGrantRevokedError, CanvasNotAllowedError } from '../../src/grades/canvas/canvas-errors';
import { errorFromMoodle } from '../../src/grades/moodle/moodle-ws.errors';
import { createMoodleWsClient } from '../../src/grades/moodle/moodle-ws.client';
import { createAgsSource } from '../../src/grades/sources/ags.source';
import { createChamiloSource } from '../../src/grades/sources/chamilo.source';
import type { SourceContext } from '../../src/grades/sources/grade-source';
import type { AdvantageClient } from '../../src/lti/advantage';
import type { PlatformHttp } from '../../src/http/retry-policy';
import { AppError, type MessageRef } from '../../src/errors';
import { testCanvasKey } from '../../src/grades/canvas/canvas-oauth.service';
import { encryptSecret } from '../../src/grades/moodle/token-crypto';
import type { CanvasKey } from '../../src/grades/canvas/canvas.model';
import { Types, type Connection } from 'mongoose';
import { createTranslator, LANGUAGES } from '../../src/i18n';

const nl = createTranslator('nl');
const de = createTranslator('de');

/** The error's text in `lang`; fails when it has no key, or when a language lacks it. */
function said(err: unknown, t = nl): string {
  expect(err).to.be.instanceOf(AppError);
  const e = err as AppError;
  expect(e.messageKey, e.message).to.be.a('string');
  for (const lang of LANGUAGES) expect(createTranslator(lang).has(e.messageKey!), `${lang} ${e.messageKey}`).to.equal(true);
  const text = t(e.messageKey!, e.messageParams);
  expect(text, 'no placeholder left').to.not.match(/[{}]/);
  return text;
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('grade source error messages', () => {
  describe('Canvas REST client', () => {
    const canvas = (answer: { status: number; text?: string; headers?: Record<string, string> }) =>
      createCanvasRestClient({
        baseUrl: 'https://canvas.example',
        tokens: { accessToken: async () => 'token' },
        http: { send: async (req) => ({ url: req.url, status: answer.status, ok: answer.status < 300, headers: new Headers(answer.headers), text: answer.text ?? '', attempts: 1 }) } as PlatformHttp,
      });
    const url = 'https://canvas.example/api/v1/courses/1';

    it('a redirect: English for the log as before, Dutch for the teacher', async () => {
      const err = (await thrown(canvas({ status: 302, headers: { location: 'https://canvas.example/login' } }).get('/api/v1/courses/1', {}, 'scope'))) as AppError;
      expect(err.message).to.equal(`Canvas answered ${url} with a redirect (302) to https://canvas.example/login instead of data: the Canvas address on /admin may be wrong (it must be the Canvas site itself, e.g. https://school.instructure.com).`);
      expect(said(err)).to.equal(`Canvas antwoordde op ${url} met een doorverwijzing (302) naar https://canvas.example/login in plaats van met gegevens: misschien klopt het Canvas-adres op /admin niet (het moet de Canvas-site zelf zijn, bijvoorbeeld https://school.instructure.com).`);
    });

    it('an answer that is not JSON, and an HTTP error, in German', async () => {
      const html = (await thrown(canvas({ status: 200, text: '<html><body>Log in</body></html>', headers: { 'content-type': 'text/html' } }).get('/api/v1/courses/1', {}, 'scope'))) as AppError;
      expect(html.message).to.equal(`Canvas answered ${url} with something that is not JSON (text/html, starting "<html><body>Log in</body></html>"): the Canvas address on /admin may point at a login page or a proxy, not at Canvas's API.`);
      expect(said(html, de)).to.equal(`Canvas hat unter ${url} mit etwas geantwortet, das kein JSON ist (text/html, beginnend mit „<html><body>Log in</body></html>“): Vielleicht zeigt die Canvas-Adresse auf /admin auf eine Anmeldeseite oder einen Proxy statt auf die API von Canvas.`);
      const failed = await thrown(canvas({ status: 500 }).get('/api/v1/courses/1', {}, 'scope'));
      expect(said(failed, de)).to.equal(`Canvas hat auf ${url} mit 500 geantwortet. Versuchen Sie die Synchronisation später erneut; schlägt sie weiter fehl, kann die Canvas-Administration die Anfrage in Canvas nachschlagen.`);
    });

    it('a revoked grant and a user who may not read the submissions', () => {
      expect(said(new CanvasGrantRevokedError('Invalid access token.'))).to.include('Een docent van de cursus opent de docentenpagina van de tool en kiest opnieuw "Canvas machtigen".');
      const notAllowed = new CanvasNotAllowedError('GET /api/v1/courses/:course_id/students/submissions');
      expect(notAllowed.message).to.equal('Canvas says the user who authorised the tool may not read GET /api/v1/courses/:course_id/students/submissions in this course. A teacher who can see the whole gradebook authorises Canvas again from the teacher page.');
      expect(said(notAllowed)).to.match(/^Volgens Canvas mag de gebruiker die de tool heeft gemachtigd GET \/api\/v1\/courses\/:course_id\/students\/submissions in deze cursus niet lezen\./);
    });
  });

  describe("Chamilo's gradebook service", () => {
    const ctx = (): SourceContext & { errors: { kind: string; message: string; translated?: MessageRef }[] } => {
      const errors: { kind: string; message: string; translated?: MessageRef }[] = [];
      return { errors, error: (kind, message, _item, translated) => void errors.push({ kind, message, translated }), failure: () => {}, rosterProgress: async () => {} };
    };
    const chamilo = (fetch: typeof globalThis.fetch) =>
      createChamiloSource({ config: { baseUrl: 'https://chamilo.example', securityKey: 'k' }, courseCode: 'C1', learners: async () => [{ userId: '7', email: 'a@example.com' }], fetch });
    const run = (fetch: typeof globalThis.fetch) => thrown(chamilo(fetch).results(ctx(), { items: [{ externalId: 'chamilo:course-total:C1' }], concurrency: 1 } as never, async () => {}));
    const url = 'https://chamilo.example/main/webservices/gradebook.php';

    it('unreachable, 404 and a bad answer each say so in German', async () => {
      const unreachable = await run(async () => {
        throw new Error('connect ECONNREFUSED');
      });
      expect(said(unreachable, de)).to.equal(`Der Bewertungsdienst von Chamilo unter ${url} war nicht erreichbar (connect ECONNREFUSED). Prüfen Sie die Chamilo-Adresse und ob der Server des Werkzeugs sie erreichen kann.`);
      const missing = await run(async () => new Response('Not Found', { status: 404 }));
      expect((missing as AppError).message).to.equal(`Chamilo has no gradebook service at ${url} (404). Check the Chamilo address.`);
      expect(said(missing, de)).to.equal(`Chamilo hat unter ${url} keinen Bewertungsdienst (404). Prüfen Sie die Chamilo-Adresse.`);
      const garbage = await run(async () => new Response('<html>oops</html>', { status: 200 }));
      expect(said(garbage, de)).to.equal(`Der Bewertungsdienst von Chamilo unter ${url} hat mit HTTP 200 und etwas anderem als einer Bewertung geantwortet.`);
    });

    it("a learner without e-mail is reported in Dutch, naming Chamilo's setting as Chamilo spells it", async () => {
      const c = ctx();
      await createChamiloSource({ config: { baseUrl: 'https://chamilo.example', securityKey: 'k' }, courseCode: 'C1', learners: async () => [{ userId: '7' }] }).results(c, { items: [{ externalId: 'chamilo:course-total:C1' }], concurrency: 1 } as never, async () => {});
      expect(c.errors).to.have.length(1);
      expect(nl(c.errors[0]!.translated!.key, c.errors[0]!.translated!.params)).to.equal(`Van deelnemer 7 is geen e-mailadres bekend: de cijferservice van Chamilo zoekt deelnemers op e-mailadres (schakel "Share launcher's email" in bij de tool in Chamilo).`);
    });
  });

  describe('Moodle web services', () => {
    const ctx = { wsfunction: 'gradereport_user_get_grade_items', url: 'https://moodle.example/webservice/rest/server.php', courseId: 1234 };

    it('every refusal has its key, in every language, the course id written as Moodle shows it', () => {
      const codes = ['invalidtoken', 'accessexception', 'nopermissions', 'nopermissiontoviewgrades', 'notingroup', 'cannotviewreport', 'nocriteriaset', 'invalidcourseid', 'requireloginerror', 'servicenotavailable', 'sitemaintenance', 'wsaccessusersuspended', 'somethingelse'];
      for (const errorcode of codes) {
        const err = errorFromMoodle({ errorcode, exception: 'moodle_exception', message: 'Sorry (View grades of other users).' }, ctx);
        for (const lang of LANGUAGES) expect(said(err, createTranslator(lang)), `${errorcode} ${lang}`).to.be.a('string');
      }
      const cap = errorFromMoodle({ errorcode: 'nopermissions', message: 'Sorry, but you do not currently have permissions to do that (View grades of other users).' }, ctx);
      expect(cap.message).to.equal(
        "The Moodle web-service user lacks the capability moodle/grade:viewall (\"View grades of other users\") in course 1234, needed by gradereport_user_get_grade_items: allow it in the user's role (Site administration › Users › Permissions › Define roles).",
      );
      expect(said(cap, de)).to.equal(
        'Der Webservice-Person von Moodle fehlt die Fähigkeit moodle/grade:viewall ("View grades of other users") in Kurs 1234, die gradereport_user_get_grade_items braucht: Erlauben Sie sie in ihrer Rolle (Website-Administration › Nutzer/innen › Rechte › Rollen verwalten).',
      );
      const other = errorFromMoodle({ errorcode: 'weird', message: 'Boom' }, { ...ctx, courseId: undefined });
      expect(other.message).to.equal('Moodle refused gradereport_user_get_grade_items (weird) (Moodle said: "Boom").');
      expect(said(other)).to.equal('Moodle weigerde gradereport_user_get_grade_items (weird) (Moodle zei: "Boom").');
    });

    it('a Moodle that cannot be reached, or answers what is not JSON', async () => {
      const client = (send: () => Promise<{ status: number; ok: boolean; text: string; url: string }>) => createMoodleWsClient({ baseUrl: 'https://moodle.example', token: 't', http: { send } });
      const down = await thrown(
        client(async () => {
          throw new Error('getaddrinfo ENOTFOUND moodle.example');
        }).getGradeItems(3),
      );
      expect((down as AppError).message).to.equal("The tool could not reach Moodle at https://moodle.example (getaddrinfo ENOTFOUND moodle.example): check the Moodle address on /admin › Moodle web services and that the tool's server can reach it.");
      expect(said(down)).to.equal('De tool kon Moodle op https://moodle.example niet bereiken (getaddrinfo ENOTFOUND moodle.example): controleer het Moodle-adres op /admin › Moodle-webservices en of de server van de tool het kan bereiken.');
      const empty = await thrown(client(async () => ({ status: 200, ok: true, text: '', url: 'x' })).getGradeItems(3));
      expect(said(empty, de)).to.equal("Moodle hat gradereport_user_get_grade_items mit etwas beantwortet, das kein JSON ist (eine leere Antwort); ein sehr großer Kurs kann das PHP-Speicher- oder Zeitlimit von Moodle erschöpfen.");
    });
  });

  describe('AGS items the tool cannot read', () => {
    it('says in Dutch which kind of item was skipped, and where; the log keeps the details as before', async () => {
      const errors: { kind: string; message: string; translated?: MessageRef }[] = [];
      const page = 'https://lms.example/lineitems/1/results';
      const listing = Object.assign([{ id: 'r1', userId: 'u1', resultScore: 12, resultMaximum: undefined, timestamp: undefined }], {
        itemErrors: [{ kind: 'invalid_result' as const, message: 'resultScore must be a number', item: {}, url: page }],
      });
      const client = { listResults: async () => listing } as unknown as AdvantageClient;
      const source = createAgsSource({ client, course: { services: {} } as never });
      const ctx: SourceContext = { error: (kind, message, _item, translated) => void errors.push({ kind, message, translated }), failure: () => {}, rosterProgress: async () => {} };
      await source.results(ctx, { items: [{ externalId: 'https://lms.example/lineitems/1', scoreMaximum: 10 }], concurrency: 1 } as never, async () => {});
      expect(errors.map((e) => e.message)).to.deep.equal([`resultScore must be a number (${page})`, 'resultScore 12 is above the maximum 10 (https://lms.example/lineitems/1)']);
      expect(errors.map((e) => nl(e.translated!.key, e.translated!.params))).to.deep.equal([
        `Het platform stuurde op ${page} een resultaat dat de tool niet kan lezen (resultScore must be a number); dat is overgeslagen.`,
        'resultScore 12 is hoger dan het maximum 10 (https://lms.example/lineitems/1)',
      ]);
    });
  });
  describe("the administrator's Canvas key check", () => {
    // a Canvas on loopback (no DNS); the secret encrypted under LTI_KEY "key-a" as /admin stores it
    const issuer = 'http://127.0.0.1:9';
    const key: CanvasKey = {
      _id: new Types.ObjectId(),
      issuer,
      baseUrl: issuer,
      clientId: '10000000000042',
      clientSecret: encryptSecret('key-a'.repeat(8), 's'.repeat(64), `${issuer} canvas key`),
      secretHint: 'ssss',
      setAt: new Date(),
    };
    const answering = (text: string): PlatformHttp => ({ send: async (req) => ({ url: req.url, status: 200, ok: true, headers: new Headers(), text, attempts: 1 }) }) as PlatformHttp;
    const deps = (ltiKey: string, http: PlatformHttp) => ({ conn: {} as Connection, ltiKey, http, now: () => new Date() });

    it('says in Dutch that the stored secret cannot be read after LTI_KEY changed', async () => {
      const result = await testCanvasKey(deps('key-b'.repeat(8), answering('{}')), key);
      expect(result.ok).to.equal(false);
      expect(result.message).to.match(/^The stored secret of the Canvas API key cannot be read \(LTI_KEY changed/);
      expect(nl(result.translated!.key, result.translated!.params)).to.equal(
        'Het opgeslagen geheim van de Canvas-API-sleutel kan niet worden gelezen (LTI_KEY is veranderd sinds het werd ingevoerd): de beheerder voert het opnieuw in op de /admin-pagina van de tool › Canvas-API-sleutel.',
      );
    });

    it("says in German that Canvas's token endpoint answered something that is not JSON", async () => {
      const result = await testCanvasKey(deps('key-a'.repeat(8), answering('<html>login</html>')), key);
      expect(result.ok).to.equal(false);
      expect(de(result.translated!.key, result.translated!.params)).to.equal(
        `Der Token-Endpunkt von Canvas ${issuer}/login/oauth2/token hat 200 mit etwas geantwortet, das kein JSON ist: Prüfen Sie die Canvas-Adresse auf der /admin-Seite des Werkzeugs › Canvas-API-Schlüssel.`,
      );
    });
  });
});

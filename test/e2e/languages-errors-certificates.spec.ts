/**
 * The specific error texts of certificates, their form, their rendering and their images, in the
 * launch's language: what is wrong and what to do, not the generic text of the error's code. Real
 * launches of sandbox teachers whose LMS speaks German, Dutch or French, real HTTP; each refusal
 * keeps its status and writes nothing.
 */
import { expect } from 'chai';
import { PNG } from 'pngjs';
import type { Types } from 'mongoose';
import { definitionModel } from '../../src/certificates/definition.model';
import { issueModel } from '../../src/certificates/issue.model';
import { certificationModel } from '../../src/certifications/certification.model';
import { bucketOf } from '../../src/documents/gridfs';
import { registrationKey } from '../../src/web/certifications/admin-certifications.routes';
import { HttpBrowser } from '../support/browser';
import { buildWorld, programmeForm } from '../certifications/world';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, definitionFormFields, issueFor, launchAs, sandboxCourse, toolCourse, type Launched } from '../support/e2e';
import { all, parseHtml, text } from '../support/html';

function png(width: number, height: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(120);
  return PNG.sync.write(image);
}

describe('Certificate, form, render and image errors in the launch language', function () {
  this.timeout(90_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  async function teacherIn(locale: string, opts: { scores?: Array<Array<number | null>> } = {}) {
    const c = sandboxCourse(t, { scores: opts.scores ?? [[10, 10]] });
    const teacherId = c.teacherIds[0]!;
    t.sandbox.store.getUser(teacherId)!.locale = locale;
    const teacher = await launchAs(t, c.course.id, teacherId);
    const course = await toolCourse(t, c);
    return { c, teacher, courseId: course._id as Types.ObjectId };
  }

  const imageFiles = () => bucketOf(t.db.connection, 'images').find({}).toArray().then((f) => f.length);

  async function upload(l: Launched, data: Buffer): Promise<Response> {
    const form = new FormData();
    form.set('kind', 'logo');
    form.set('file', new Blob([new Uint8Array(data)], { type: 'image/png' }), 'logo.png');
    return fetch(`${l.app}/teacher/templates/images`, { method: 'POST', body: form, headers: { accept: 'application/json', 'accept-language': 'en' } });
  }

  it('shows a German teacher who saves a bad form, beside each field, in German what is wrong, and saves nothing', async () => {
    const { teacher, courseId } = await teacherIn('de-DE');
    const before = await definitionModel(t.db.connection).countDocuments({ courseId });
    const res = await teacher.browser.request(`${teacher.app}/teacher/definitions`, {
      form: definitionFormFields({ title: 'T'.repeat(81), thresholdPercent: '150', 'template.accentColor': 'red' }),
    });
    expect(res.status).to.equal(400);
    const page = parseHtml(await res.text());
    const besideFields = all(page, '.field-error').map((e) => text(e));
    expect(besideFields).to.include.members([
      'Geben Sie einen Titel mit höchstens 80 Zeichen ein.',
      'Geben Sie einen Prozentsatz zwischen 0 und 100 ein.',
    ]);
    const words = text(page, 'main');
    expect(words).to.include('Wählen Sie eine Farbe.');
    expect(words).to.not.match(/must be|is required|at most \d+ characters|Tick the box/);
    expect(await definitionModel(t.db.connection).countDocuments({ courseId })).to.equal(before);

    // the unsaved form's preview says the same as the form, not only which setting it is
    const preview = await teacher.browser.request(`${teacher.app}/teacher/templates/preview.html`, { form: definitionFormFields({ 'template.bodyText': 'x'.repeat(401) }) });
    expect(preview.status).to.equal(400);
    const previewPage = await preview.text();
    expect(previewPage).to.match(/<html lang="de">/);
    expect(text(parseHtml(previewPage), 'main')).to.include('Der Text darf höchstens 400 Zeichen lang sein.');
  });

  it("names a German teacher's missing logo in German on the preview (422), and a Dutch teacher's too", async () => {
    for (const [locale, sentence] of [
      ['de-DE', 'Das Logo dieser Zertifikatsvorlage fehlt; laden Sie die Datei erneut hoch.'],
      ['nl-NL', 'Het logo van deze certificaatsjabloon ontbreekt; upload het bestand opnieuw.'],
    ] as const) {
      const { teacher, courseId } = await teacherIn(locale);
      const broken = await defineCertificate(t, courseId, { title: 'Broken', template: { logoFileId: '0123456789abcdef01234567' } });
      const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${broken._id}`);
      expect(page.status, locale).to.equal(422);
      expect(page.html).to.include('data-preview-problem="certificate_template_error"');
      const words = text(parseHtml(page.html), 'main');
      expect(words, locale).to.include(sentence).and.not.include('image of this certificate template is missing');
    }
  });

  it('refuses a Dutch teacher an oversized or damaged logo in Dutch (422), and stores neither', async () => {
    const { teacher } = await teacherIn('nl-NL');
    const files = await imageFiles();
    // the browser asks in English, the launch says Dutch: the launch wins
    const huge = await upload(teacher, png(4001, 4000));
    expect(huge.status).to.equal(422);
    const hugeBody = (await huge.json()) as { error: { code: string; message: string } };
    expect(hugeBody.error.code).to.equal('image_too_many_pixels');
    expect(hugeBody.error.message).to.equal(
      'De afbeelding is 4001 × 4000 pixels; het maximum is 4000 × 4000 pixels en 16 megapixel in totaal. Verklein de afbeelding en upload die opnieuw.',
    );
    const broken = await upload(teacher, png(40, 20).subarray(0, 20)); // cut inside the header, before its size
    expect(broken.status).to.equal(422);
    expect(((await broken.json()) as { error: { message: string } }).error.message).to.equal(
      'De afmetingen van deze afbeelding zijn niet te lezen: het bestand is beschadigd. Sla het opnieuw op en upload het.',
    );
    expect(await imageFiles()).to.equal(files);
  });

  it('tells a French teacher in French that a revoked certificate cannot be re-issued (409), and issues nothing', async () => {
    const { c, teacher, courseId } = await teacherIn('fr-FR');
    const definition = await defineCertificate(t, courseId);
    const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
    const issue = await issueFor(t, courseId, definition, { userId: t.sandbox.store.subjectOf(c.course, learner), name: learner.name });
    const revoked = await teacher.browser.request(`${teacher.app}/teacher/certificates/${issue._id}/delete`, { form: { reason: 'Délivré par erreur' } });
    expect(revoked.status).to.equal(303);
    const before = await issueModel(t.db.connection).countDocuments({ courseId });
    const res = await teacher.browser.request(`${teacher.app}/teacher/certificates/${issue._id}/reissue`, { form: {} });
    expect(res.status).to.equal(409);
    const page = await res.text();
    expect(page).to.match(/<html lang="fr">/);
    expect(text(parseHtml(page), 'main')).to.include('Seul un certificat valide peut être délivré à nouveau ; celui-ci est révoqué.');
    expect(await issueModel(t.db.connection).countDocuments({ courseId })).to.equal(before);

    const missing = await teacher.browser.request(`${teacher.app}/teacher/certificates/0123456789abcdef01234567/delete`);
    expect(missing.status).to.equal(404);
    expect(text(parseHtml(await missing.text()), 'main')).to.include("Ce certificat n'existe pas dans ce cours.");
  });

  it("tells a German tool administrator in German which programme course is unknown (400) and that a certification does not exist (404), writing nothing", async () => {
    const w = await buildWorld(t, 2);
    const admin = new HttpBrowser({ headers: { 'accept-language': 'de-DE,de;q=0.9' } });
    expect((await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } })).status).to.equal(303);
    const key = registrationKey(t.sandbox.issuer, t.sandbox.registration.clientId);
    const count = () => certificationModel(t.db.connection).countDocuments({ issuer: t.sandbox.issuer });
    const before = await count();
    const f = programmeForm(w.courses, { name: 'Unbekannter Kurs' });
    const res = await admin.request(`${t.baseUrl}/admin/certifications/${key}`, { form: { ...f, courses: [...f.courses, '0123456789abcdef01234567'] } });
    expect(res.status).to.equal(400);
    const page = await res.text();
    expect(page).to.match(/<html lang="de">/);
    expect(text(parseHtml(page), 'main')).to.include('Einer der gewählten Kurse ist dem Werkzeug in dieser Registrierung nicht bekannt.');
    expect(await count()).to.equal(before);

    const missing = await admin.request(`${t.baseUrl}/admin/certifications/${key}/0123456789abcdef01234567/edit`);
    expect(missing.status).to.equal(404);
    expect(text(parseHtml(await missing.text()), 'main')).to.include('Diese Zertifizierung gibt es nicht.');
  });
});

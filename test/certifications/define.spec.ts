/**
 * Certifications are defined by administrators (R6): an LMS administrator from a launch, or the
 * tool's administrator on /admin — never a teacher or a learner. Real launches from the sandbox.
 */
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { certificationAuditModel } from '../../src/certifications/certification-audit';
import { certificationModel } from '../../src/certifications/certification.model';
import { registrationKey } from '../../src/web/certifications/admin-certifications.routes';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { launchAs } from '../support/e2e';
import { all, attr, parseHtml, text } from '../support/html';
import { adminLaunch, buildWorld, programmeForm, type World } from './world';

function png(width = 64, height = 64): Buffer {
  const p = new PNG({ width, height });
  p.data.fill(200);
  return PNG.sync.write(p);
}

describe('Defining certifications (R6)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let w: World;
  const count = (filter: Record<string, unknown> = {}) => certificationModel(t.db.connection).countDocuments({ issuer: t.sandbox.issuer, ...filter });

  before(async () => {
    t = await startTestApp();
    w = await buildWorld(t, 4);
  });

  describe('POST /app/:session/certifications/manage (an LMS administrator in a launch)', () => {
    it('creates a programme of 4 courses, 2 of them needed, on the launch\'s registration', async () => {
      const { browser, app } = await adminLaunch(t, w);
      const res = await browser.request(`${app}/certifications/manage`, { form: programmeForm(w.courses, { minimum: 2, name: 'Steward A' }) });
      expect(res.status).to.equal(303);
      const c = await certificationModel(t.db.connection).findOne({ name: 'Steward A' }).lean();
      expect(c).to.include({ issuer: t.sandbox.issuer, clientId: t.sandbox.registration.clientId, kind: 'internal', version: 1 });
      expect(c!.programme!.minimumMandatory).to.equal(2);
      expect(c!.programme!.courses.map((p) => String(p.courseId))).to.deep.equal(w.courses.map((x) => String(x.tool._id)));
      expect(c!.programme!.courses.every((p) => p.mandatory)).to.equal(true);
      // listed on the page, with its rule in words
      const list = parseHtml((await browser.open(`${app}/certifications/manage`)).html);
      const row = all(list, 'tr[data-certification-id]').find((r) => r.getAttribute('data-certification-id') === String(c!._id))!;
      expect(text(row)).to.contain('Steward A').and.contain('2 of 4 mandatory (4 courses)');
      expect((await certificationAuditModel(t.db.connection).find({ certificationId: c!._id }).lean()).map((a) => a.action)).to.deep.equal(['certification_created']);
    });

    it('refuses a learner: 403 with the reason, and nothing is written', async () => {
      const before = await count();
      const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
      const res = await browser.request(`${app}/certifications/manage`, { form: programmeForm(w.courses, { name: 'By a learner' }) });
      expect(res.status).to.equal(403);
      expect(text(parseHtml(await res.text()), '.error-card .lead')).to.equal('Only the LMS\'s administrators may define certifications.');
      expect(await count()).to.equal(before);
      expect((await browser.request(`${app}/certifications/manage`)).status).to.equal(403);
    });

    it('refuses a teacher (Instructor) too: defining certifications is for the LMS\'s administrators', async () => {
      const before = await count();
      const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, w.courses[0]!.teacherId);
      const res = await browser.request(`${app}/certifications/manage`, { form: programmeForm(w.courses, { name: 'By a teacher' }) });
      expect(res.status).to.equal(403);
      expect(await count()).to.equal(before);
    });

    const refusals: Array<[string, (f: ReturnType<typeof programmeForm>) => Record<string, unknown>, string]> = [
      ['more needed than mandatory', (f) => ({ ...f, mandatory: f.mandatory.slice(0, 2), minimumMandatory: '3' }), 'minimumMandatory'],
      ['recurring without a validity', (f) => ({ ...f, type: 'recurring' }), 'validForMonths'],
      ['no course', (f) => ({ ...f, courses: [], mandatory: [] }), 'courses'],
      ['a mandatory course outside the programme', (f) => ({ ...f, courses: f.courses.slice(0, 2) }), 'mandatory'],
      ['a name too long', (f) => ({ ...f, name: 'x'.repeat(81) }), 'name'],
      ['an unknown kind', (f) => ({ ...f, kind: 'magic' }), 'kind'],
      ['a field the form does not have', (f) => ({ ...f, ownerId: 'me' }), 'ownerId'],
    ];
    for (const [what, change, field] of refusals) {
      it(`refuses ${what} with 400 naming "${field}", writing nothing`, async () => {
        const before = await count();
        const { browser, app } = await adminLaunch(t, w);
        const res = await browser.request(`${app}/certifications/manage`, { form: change(programmeForm(w.courses)) as Record<string, string | string[]> });
        expect(res.status).to.equal(400);
        expect(text(parseHtml(await res.text()), '.error-card .lead')).to.contain(field);
        expect(await count()).to.equal(before);
      });
    }

    it('refuses a course of another registration (400), writing nothing', async () => {
      const other = await t.app.ctx.conn.collection('courses').insertOne({ issuer: 'https://other.example', clientId: 'x', contextId: `c-${Date.now()}`, deploymentIds: [], platformFamily: 'generic', services: { agsScopes: [] }, settings: { autoReissue: false } });
      const before = await count();
      const { browser, app } = await adminLaunch(t, w);
      const f = programmeForm(w.courses);
      const res = await browser.request(`${app}/certifications/manage`, { form: { ...f, courses: [...f.courses, String(other.insertedId)] } });
      expect(res.status).to.equal(400);
      expect(await count()).to.equal(before);
    });

    it('stores a badge image checked like the logos, and serves it to the platform\'s launches', async () => {
      const { app } = await adminLaunch(t, w);
      const body = new FormData();
      for (const [k, v] of Object.entries(programmeForm(w.courses, { name: 'With badge' }))) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
      body.append('badge', new Blob([new Uint8Array(png())], { type: 'image/png' }), 'badge.png');
      const res = await fetch(`${app}/certifications/manage`, { method: 'POST', body, redirect: 'manual' });
      expect(res.status).to.equal(303);
      const c = await certificationModel(t.db.connection).findOne({ name: 'With badge' }).lean();
      expect(c!.badgeFileId).to.be.a('string');
      const learner = await launchAs(t, w.courses[1]!.sandboxId, w.learnerId);
      const img = await fetch(`${learner.app}/certifications/${String(c!._id)}/badge`);
      expect(img.status).to.equal(200);
      expect(img.headers.get('content-type')).to.equal('image/png');
    });

    it('refuses a "badge" that is really HTML with 415, and stores neither the file nor the certification', async () => {
      const before = await count();
      const files = await t.db.connection.collection('images.files').countDocuments();
      const { app } = await adminLaunch(t, w);
      const body = new FormData();
      for (const [k, v] of Object.entries(programmeForm(w.courses, { name: 'Bad badge' }))) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
      body.append('badge', new Blob(['<html><script>alert(1)</script></html>'], { type: 'image/png' }), 'badge.png');
      const res = await fetch(`${app}/certifications/manage`, { method: 'POST', body, redirect: 'manual' });
      expect(res.status).to.equal(415);
      expect(await count()).to.equal(before);
      expect(await t.db.connection.collection('images.files').countDocuments()).to.equal(files);
    });

    it('changes a certification as a new version and archives it', async () => {
      const { browser, app } = await adminLaunch(t, w);
      await browser.request(`${app}/certifications/manage`, { form: programmeForm(w.courses, { name: 'To change' }) });
      const c = await certificationModel(t.db.connection).findOne({ name: 'To change' }).lean();
      const edit = parseHtml((await browser.open(`${app}/certifications/manage/${String(c!._id)}/edit`)).html);
      expect(attr(edit, 'input[name=name]', 'value')).to.equal('To change');
      const res = await browser.request(`${app}/certifications/manage/${String(c!._id)}`, { form: programmeForm(w.courses, { name: 'Changed', type: 'recurring', months: 24, window: 30 }) });
      expect(res.status).to.equal(303);
      const after = await certificationModel(t.db.connection).findById(c!._id).lean();
      expect(after).to.include({ name: 'Changed', version: 2 });
      expect(after!.validity).to.deep.equal({ kind: 'recurring', validForMonths: 24, renewalWindowDays: 30 });
      await browser.request(`${app}/certifications/manage/${String(c!._id)}/archive`, { form: {} });
      expect((await certificationModel(t.db.connection).findById(c!._id).lean())!.archivedAt).to.be.instanceOf(Date);
    });
  });

  describe('/admin/certifications (the tool\'s administrator)', () => {
    it('refuses anyone without the administrator cookie (401), writing nothing', async () => {
      const before = await count();
      const stranger = new HttpBrowser();
      const key = registrationKey(t.sandbox.issuer, t.sandbox.registration.clientId);
      const res = await stranger.request(`${t.baseUrl}/admin/certifications/${key}`, { form: programmeForm(w.courses, { name: 'Stranger' }) });
      expect(res.status).to.equal(401);
      expect(await count()).to.equal(before);
    });

    it('lists the registrations and defines a certification for the one chosen', async () => {
      const admin = new HttpBrowser();
      await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
      const index = parseHtml((await admin.open(`${t.baseUrl}/admin/certifications`)).html);
      const key = registrationKey(t.sandbox.issuer, t.sandbox.registration.clientId);
      expect(all(index, '[data-registrations] a').map((a) => a.getAttribute('href'))).to.include(`/admin/certifications/${key}`);
      const form = parseHtml((await admin.open(`${t.baseUrl}/admin/certifications/${key}/new`)).html);
      expect(all(form, 'tr[data-course-id]').map((r) => r.getAttribute('data-course-id'))).to.include.members(w.courses.map((c) => String(c.tool._id)));
      const res = await admin.request(`${t.baseUrl}/admin/certifications/${key}`, { form: programmeForm(w.courses, { name: 'From admin', minimum: 1 }) });
      expect(res.status).to.equal(303);
      expect(await count({ name: 'From admin' })).to.equal(1);
      expect((await admin.request(`${t.baseUrl}/admin/certifications/${registrationKey('https://nobody.example', 'x')}`)).status).to.equal(404);
    });
  });
});

/**
 * Inside a launch, what the tool itself writes reads in the launch's language (Dutch here): the
 * refusal of a withdrawn certificate's PDF, the grade columns the tool names itself (Canvas's
 * course scores and assignment groups) on the teacher's form, the learner's table and both their
 * reasons, and the text of the link deep linking places in the LMS. Real launches of sandbox
 * users whose LMS language is Dutch, real HTTP, the grades from a real Canvas REST sync.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Types } from 'mongoose';
import { courseModel } from '../../src/courses/course.model';
import { canvasKeyModel } from '../../src/grades/canvas/canvas.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import type { CreatedCourse } from '../../src/sandbox/sandbox';
import { SCOPE } from '../../src/sandbox/lti-vocabulary';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf } from '../support/browser';
import { defineCertificate, definitionFormFields, launchAs, sandboxCourse, toolCourse } from '../support/e2e';
import { all, cells, form, parseHtml, text } from '../support/html';

const DL_CONTENT_ITEMS = 'https://purl.imsglobal.org/spec/lti-dl/claim/content_items';

describe('Pages inside a launch in the launch language', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  const dutch = (userId: string) => {
    t.sandbox.store.getUser(userId)!.locale = 'nl-NL';
  };

  it("refuses a withdrawn certificate's PDF to a Dutch learner in Dutch (409), and sends no PDF", async () => {
    const c = sandboxCourse(t, { scores: [[10, 10]] });
    const [learnerId] = c.learnerIds as [string];
    dutch(learnerId);
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const definition = await defineCertificate(t, (await toolCourse(t, c))._id as Types.ObjectId);
    const learner = await launchAs(t, c.course.id, learnerId);
    const claimed = await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(definition._id) } });
    expect(claimed.status).to.equal(303);
    const id = claimed.headers.get('location')!.split('/').pop()!;
    const revoked = await teacher.browser.request(`${teacher.app}/teacher/certificates/${id}/delete`, { form: { reason: 'Issued by mistake' } });
    expect(revoked.status).to.equal(303);

    const res = await learner.browser.request(`${learner.app}/certificates/${id}.pdf`);
    expect(res.status).to.equal(409);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    const page = await res.text();
    expect(page).to.match(/<html lang="nl">/);
    expect(text(parseHtml(page), 'body')).to.include('Dit certificaat is vervangen of ingetrokken, dus er is geen PDF van.').and.not.include('This certificate');
  });

  it('sends the deep-linking item text and the default link title in the Dutch teacher\'s language', async () => {
    const c = sandboxCourse(t, { scores: [[10]], title: 'Elfentaal' });
    const teacherId = c.teacherIds[0]!;
    dutch(teacherId);
    const browser = new HttpBrowser();
    const picker = await browser.open(t.sandbox.launchUrl(c.course.id, teacherId, { deepLinking: true }));
    expect(picker.status, picker.html.slice(0, 300)).to.equal(200);
    expect(picker.url).to.match(/\/deep-linking$/);
    const fields = form(parseHtml(picker.html), 'form[action$="/deep-linking"]').fields;
    expect(fields.title).to.equal('Certificaten · Elfentaal');
    const reply = await browser.request(`${t.baseUrl}/app/${sessionOf(picker.url)}/deep-linking`, { form: { title: '' } });
    expect(reply.status).to.equal(200);
    const jwt = form(parseHtml(await reply.text()), 'form[data-auto-submit]').fields.JWT!;
    const [item] = decodeJwt(jwt)[DL_CONTENT_ITEMS] as Array<{ title: string; text: string }>;
    expect(item).to.include({ title: 'Certificaten', text: 'Certificaten van de cursus' });
  });

  it("tells a Dutch teacher in Dutch which service the platform did not grant, on the course page and in the sync history", async () => {
    const c = sandboxCourse(t, { scores: [[10, 10]], quirks: 'moodle' });
    const teacherId = c.teacherIds[0]!;
    dutch(teacherId);
    t.sandbox.store.setPermittedScopes(c.course.id, [SCOPE.lineItemReadonly, SCOPE.nrps]);
    const teacher = await launchAs(t, c.course.id, teacherId);
    await t.app.ctx.jobs.drain();
    expect((await teacher.browser.request(`${teacher.app}/teacher/sync`, { form: {} })).status).to.equal(303);
    await t.app.ctx.jobs.drain();
    const said = "Het platform heeft 'result.readonly' niet toegekend (AGS: resultaten lezen). Vraag de LMS-beheerder om in de instellingen van de tool 'IMS LTI Assignment and Grade Services' in te schakelen";

    const history = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/grades/history`)).html);
    const errors = all(history, 'ul.sync-errors li').map((li) => text(li));
    expect(errors.length).to.be.above(0);
    expect(errors[0]).to.include(said).and.not.include('The platform did not grant');
    const course = parseHtml((await teacher.browser.open(`${teacher.app}/teacher`)).html);
    expect(all(course, 'ul.sync-errors li').map((li) => text(li))[0]).to.include(said);
  });

  describe("the grade columns the tool names itself (Canvas's scores and assignment groups)", () => {
    after(async () => {
      await canvasKeyModel(t.db.connection).deleteMany({ issuer: t.sandbox.issuer });
    });

    const launch = async (courseId: string, userId: string) => {
      const launched = await launchAs(t, courseId, userId);
      return { ...launched, teacher: `${launched.app}/teacher` };
    };

    /** The administrator enters the sandbox Canvas's API key (Admin › Developer Keys) on /admin/canvas. */
    const saveKey = async () => {
      const admin = new HttpBrowser();
      await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
      const saved = await admin.request(`${t.baseUrl}/admin/canvas/save`, { form: { issuer: t.sandbox.issuer, clientId: t.sandbox.canvasApiKey!.clientId, clientSecret: t.sandbox.canvasApiKey!.secret } });
      expect(saved.status).to.equal(303);
    };

    /** The teacher authorises the tool on Canvas's page. */
    const authorise = async (teacher: Awaited<ReturnType<typeof launch>>, canvasUserId: string) => {
      const start = await teacher.browser.request(`${teacher.teacher}/grades/canvas/authorize`, { form: {} });
      expect(start.status).to.equal(303);
      const consent = await teacher.browser.open(start.headers.get('location')!);
      const fields: Record<string, string> = { decision: 'accept', user_id: canvasUserId };
      for (const input of all(parseHtml(consent.html), 'form input[type=hidden]')) fields[input.getAttribute('name')!] = input.getAttribute('value') ?? '';
      const back = await teacher.browser.request(`${t.sandbox.issuer}/login/oauth2/confirm`, { form: fields });
      expect(back.status).to.equal(302);
      const done = await teacher.browser.open(back.headers.get('location')!);
      expect(done.status, done.html.slice(0, 300)).to.equal(200);
    };

    const canvasCourse = (scores: Array<Array<number>>): CreatedCourse => {
      const c = t.sandbox.store.createCourse({ title: `Canvas nl ${Math.random().toString(36).slice(2, 7)}`, quirks: 'canvas', learners: scores.length, items: 2, itemModule: 'assign', scoreMaximum: 10, score: (l, i) => scores[l]![i]! });
      const homework = t.sandbox.canvas.addGroup(c.course.id, { name: 'Homework', weight: 100 });
      c.lineItemIds.forEach((id) => t.sandbox.canvas.putInGroup(c.course.id, id, homework.id));
      return c;
    };

    it("names the columns whose grades changed on a stale certificate in Dutch, Canvas's course score included", async () => {
      const c = canvasCourse([[8, 6]]); // Activity 1 80%, Activity 2 60%: Canvas's current score 70
      const [learnerId] = c.learnerIds as [string];
      const teacherId = c.teacherIds[0]!;
      dutch(teacherId);
      dutch(learnerId);
      await saveKey();
      const teacher = await launch(c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      await authorise(teacher, teacherId);
      await t.app.ctx.jobs.drain();
      const course = (await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.opaqueContextId }).lean())!;
      const columns = await lineItemModel(t.db.connection).find({ courseId: course._id, source: 'canvas', removedAt: null }).lean();
      const current = columns.find((x) => x.externalId === 'canvas:score:current')!;
      const first = columns.find((x) => x.label === 'Activity 1')!;
      // the current score and Activity 1, equally weighted: (70 + 80) / 2 = 75
      const created = await teacher.browser.open(`${teacher.teacher}/definitions`, {
        form: definitionFormFields({
          itemsMode: 'selected',
          thresholdPercent: '50',
          [`item.${current._id}.used`]: 'on',
          [`item.${current._id}.weight`]: '1',
          [`item.${first._id}.used`]: 'on',
          [`item.${first._id}.weight`]: '1',
        }),
      });
      const definitionId = /\/definitions\/([0-9a-f]{24})\?notice=created$/.exec(created.url)?.[1];
      expect(definitionId, created.html.slice(0, 500)).to.be.a('string');
      const learner = await launch(c.course.id, learnerId);
      expect((await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: definitionId! } })).status).to.equal(303);

      // Regraded in Canvas: Activity 1 9/10, Activity 2 3/10 — the current score drops to 60, the certificate's score stays (60 + 90) / 2 = 75
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[0]!, learnerId, 9);
      t.sandbox.store.setScore(c.course.id, c.lineItemIds[1]!, learnerId, 3);
      expect((await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} })).status).to.equal(303);
      await t.app.ctx.jobs.drain();

      const overview = parseHtml((await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`)).html);
      const rows = all(overview, 'tr[data-user-id]');
      expect(rows, 'the one learner').to.have.length(1);
      const row = rows[0]!;
      expect(row.getAttribute('data-status'), text(row)).to.equal('stale');
      const said = /^cijfers veranderd sinds de uitgifte: (“Huidige score \(Canvas\)” en “Activity 1”|“Activity 1” en “Huidige score \(Canvas\)”)$/;
      expect(text(row, '.stale-text')).to.match(said);
      const home = parseHtml((await teacher.browser.open(teacher.teacher)).html);
      const listed = all(home, `.stale-group[data-definition-id="${definitionId}"] .stale-list li .muted`).map((el) => text(el));
      expect(listed).to.have.length(1);
      expect(listed[0]).to.match(said);
    });

    it("tells a Dutch teacher in Dutch when Canvas answers a login page instead of data, or no longer accepts the authorisation", async () => {
      const c = canvasCourse([[8, 6]]);
      const teacherId = c.teacherIds[0]!;
      dutch(teacherId);
      await saveKey();
      const teacher = await launch(c.course.id, teacherId);
      await t.app.ctx.jobs.drain();
      await authorise(teacher, teacherId);
      await t.app.ctx.jobs.drain();
      const errorsOn = async (path: string) => all(parseHtml((await teacher.browser.open(path)).html), 'ul.sync-errors li').map((li) => text(li));

      // A proxy's login page instead of Canvas's JSON (the sandbox's htmlAnswers, as a real SSO proxy answers).
      t.sandbox.canvas.htmlAnswers = 1;
      try {
        expect((await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} })).status).to.equal(303);
        await t.app.ctx.jobs.drain();
      } finally {
        t.sandbox.canvas.htmlAnswers = 0;
      }
      const notJson = /^Canvas antwoordde op \S+ met iets wat geen JSON is \(text\/html[^)]*, beginnend met ".*"\): misschien verwijst het Canvas-adres op \/admin naar een inlogpagina of een proxy in plaats van naar de API van Canvas\.$/;
      const onPage = await errorsOn(teacher.teacher);
      expect(onPage.some((e) => notJson.test(e)), onPage.join('\n')).to.equal(true);
      expect(onPage.join(' ')).to.not.include('not JSON');
      const inHistory = await errorsOn(`${teacher.teacher}/grades/history`);
      expect(inHistory.some((e) => notJson.test(e)), inHistory.join('\n')).to.equal(true);

      // The teacher removes the integration in Canvas: the grant is refused.
      t.sandbox.canvas.revokeUser(teacherId);
      await teacher.browser.request(`${teacher.teacher}/sync`, { form: {} });
      await t.app.ctx.jobs.drain();
      const revoked = (await errorsOn(teacher.teacher)).join(' ');
      expect(revoked).to.include('Canvas accepteert de machtiging van deze tool niet meer').and.include('kiest opnieuw "Canvas machtigen"');
      expect(revoked).to.not.include('no longer accepts');
    });

    it('shows them in Dutch to a Dutch teacher and learner, and keeps the stored label', async () => {
      const c = canvasCourse([[8, 6]]); // Homework 70%: Canvas's current score 70
      const [learnerId] = c.learnerIds as [string];
      const teacherId = c.teacherIds[0]!;
      dutch(teacherId);
      dutch(learnerId);
      await saveKey();
      const teacher = await launch(c.course.id, teacherId);
      await t.app.ctx.jobs.drain(); // the launch's own sync (AGS/NRPS) first
      await authorise(teacher, teacherId);
      await t.app.ctx.jobs.drain();

      const course = (await courseModel(t.db.connection).findOne({ issuer: t.sandbox.issuer, contextId: c.course.opaqueContextId }).lean())!;
      const columns = await lineItemModel(t.db.connection).find({ courseId: course._id, source: 'canvas', removedAt: null }).lean();
      const current = columns.find((x) => x.externalId === 'canvas:score:current')!;
      const group = columns.find((x) => x.label === 'Homework (assignment group)')!;
      expect(current.label, 'stored as the source wrote it').to.equal('Current score (Canvas)');

      // the teacher's form lists them in Dutch; the activities keep the names Canvas gave them
      const blank = await teacher.browser.open(`${teacher.teacher}/definitions/new`);
      expect(blank.html).to.match(/<html lang="nl">/);
      const labels = all(parseHtml(blank.html), 'table.activities td.label label').map((l) => text(l));
      expect(labels).to.include.members(['Huidige score (Canvas)', 'Eindscore (Canvas)', 'Homework (opdrachtgroep)', 'Activity 1', 'Activity 2']);
      expect(labels.join('|')).to.not.match(/Current score|Final score|assignment group/);
      expect(blank.html).to.include('aria-label="“Huidige score (Canvas)” gebruiken"');

      // a certificate over Canvas's current score (at least 80) and the homework group
      const created = await teacher.browser.open(`${teacher.teacher}/definitions`, {
        form: definitionFormFields({
          itemsMode: 'selected',
          [`item.${current._id}.used`]: 'on',
          [`item.${current._id}.weight`]: '1',
          [`item.${current._id}.minimumPercent`]: '80',
          [`item.${group._id}.used`]: 'on',
          [`item.${group._id}.weight`]: '1',
        }),
      });
      const definitionId = /\/definitions\/([0-9a-f]{24})\?notice=created$/.exec(created.url)?.[1];
      expect(definitionId, created.html.slice(0, 500)).to.be.a('string');
      const overview = await teacher.browser.open(`${teacher.teacher}/definitions/${definitionId}`);
      const row = all(parseHtml(overview.html), 'tr[data-user-id]')[0]!;
      expect(text(row, '.reason')).to.equal('“Huidige score (Canvas)”: 70%, minimum 80%');

      const learner = await launch(c.course.id, learnerId);
      expect(learner.page.html).to.match(/<html lang="nl">/);
      const doc = parseHtml(learner.page.html);
      const rows = all(doc, 'tr[data-item]').map((tr) => cells(tr)[0]!.replace(/ Canvas$/, ''));
      expect(rows).to.have.members(['Huidige score (Canvas)', 'Homework (opdrachtgroep)']);
      expect(text(doc, 'main')).to.include('Voor ‘Huidige score (Canvas)’ heb je 70%; het minimum is 80%.').and.not.include('Current score');
    });
  });
});

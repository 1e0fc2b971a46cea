/**
 * The teacher's gradebook CSV import and sync history, end to end through the sandbox LMS:
 * launch as the course's teacher (which syncs the roster), upload a real-layout gradebook export
 * whose rows name this course's members, read the preview, apply it once, and find the run in the
 * history. Bad files are refused with the row/column or the limit named, and store nothing.
 * Every test builds its own sandbox course.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Types } from 'mongoose';
import { randomBytes } from 'node:crypto';
import { createDefinition } from '../../src/certificates/definition.service';
import { issueModel } from '../../src/certificates/issue.model';
import { claimCertificate } from '../../src/certificates/issue.service';
import { listLearnerCertificates } from '../../src/certificates/certificate.queries';
import { courseModel } from '../../src/courses/course.model';
import { csvPreviewModel } from '../../src/grades/csv/csv-preview.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import type { CreateCourseOptions } from '../../src/sandbox/sandbox.store';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf, type Page } from '../support/browser';

const FIXTURES = join(__dirname, '..', 'fixtures', 'csv');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

interface Launched {
  browser: HttpBrowser;
  /** `${baseUrl}/app/<session>` */
  app: string;
  /** `${baseUrl}/app/<session>/teacher/grades` */
  grades: string;
  page: Page;
}

interface Upload {
  status: number;
  location: string | null;
  html: string;
}

/** The `<tr>` (or other element) carrying an attribute value. */
function elementWith(html: string, attr: string, value: string, tag = 'tr'): string {
  const m = new RegExp(`<${tag}[^>]*${attr}="${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[\\s\\S]*?</${tag}>`).exec(html);
  if (!m) throw new Error(`no <${tag} ${attr}="${value}">`);
  return m[0];
}

const countOf = (html: string, key: string) => Number(new RegExp(`data-count="${key}" data-n="(\\d+)"`).exec(html)?.[1] ?? NaN);

describe('Gradebook CSV import and sync history (sandbox LMS → tool)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  const conn = () => t.db.connection;
  const store = () => t.sandbox.store;

  function newCourse(title: string, opts: Partial<CreateCourseOptions> = {}) {
    return store().createCourse({ title, quirks: 'standard', learners: 4, items: 2, scoreMaximum: 10, ...opts });
  }

  async function launch(courseId: string, userId: string): Promise<Launched> {
    const browser = new HttpBrowser();
    const page = await browser.open(t.sandbox.launchUrl(courseId, userId));
    expect(page.status, page.html.slice(0, 400)).to.equal(200);
    const app = `${t.baseUrl}/app/${sessionOf(page.url)}`;
    return { browser, app, grades: `${app}/teacher/grades`, page };
  }

  /** Launches as the teacher and waits for the course sync the launch starts (the roster is then stored). */
  async function teacherOf(c: ReturnType<typeof newCourse>): Promise<Launched> {
    const l = await launch(c.course.id, c.teacherIds[0]!);
    expect(l.page.url).to.match(/\/teacher$/);
    await t.app.ctx.jobs.drain();
    return l;
  }

  async function courseIdOf(c: ReturnType<typeof newCourse>): Promise<Types.ObjectId> {
    const course = await courseModel(conn()).findOne({ issuer: t.sandbox.issuer, contextId: store().contextIdOf(c.course) }).lean();
    return course!._id;
  }

  /** Posts the upload form as a browser does (multipart, one `file` field). */
  async function upload(l: Launched, content: Buffer | string, fileName: string, fields: Record<string, string> = {}): Promise<Upload> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/csv' }), fileName);
    const res = await fetch(`${l.grades}/import`, { method: 'POST', body: form, redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  }

  /** Uploads and follows the redirect to the preview page. */
  async function preview(l: Launched, content: Buffer | string, fileName: string, fields: Record<string, string> = {}): Promise<{ id: string; page: Page }> {
    const up = await upload(l, content, fileName, fields);
    expect(up.status, up.html.slice(0, 3000)).to.equal(303);
    const m = /\/teacher\/grades\/import\/([0-9a-f]{32})$/.exec(up.location ?? '');
    expect(m, String(up.location)).to.not.equal(null);
    const page = await l.browser.open(new URL(up.location!, l.grades).toString());
    expect(page.status).to.equal(200);
    return { id: m![1]!, page };
  }

  const apply = (l: Launched, previewId: string) => l.browser.request(`${l.grades}/import/${previewId}/apply`, { method: 'POST', form: {} });

  /**
   * A Canvas "Export Entire Gradebook" with the fixture's real layout (Manual Posting row, Points
   * Possible, Canvas's test student, an extra-credit column, the totals) whose students are this
   * course's learners 0–2 — found by LMS user id, SIS id and login respectively — plus one person
   * who is not in the course.
   */
  function canvasExport(c: ReturnType<typeof newCourse>): string {
    const lines = fixture('canvas-gradebook.csv').toString('utf8').split(/\r?\n/);
    const [l0, l1, l2] = c.learnerIds.map((id) => store().getUser(id)!);
    const totals = '121.50,121.50,89.34,89.34,89.34,89.34,121.50,121.50,89.34,89.34,89.34,89.34';
    const row = (name: string, id: string, sis: string, login: string, scores: string) => `"${name}",${id},${sis},${login},Biology 101,${scores},${totals}`;
    return [
      ...lines.slice(0, 4), // header, Manual Posting, Points Possible, the test student
      row(`${l0!.familyName}, ${l0!.givenName}`, l0!.id, '', '', '8.50,22.00,91.00,2.00'),
      row(`${l1!.familyName}, ${l1!.givenName}`, '990001', l1!.sourcedId, '', '10.00,EX,78.50,'),
      row(`${l2!.familyName}, ${l2!.givenName}`, '', '', l2!.email, ',19.50,,'),
      row('Nowak, Piotr', '1005', '', 'pnowak', '6.00,12.50,55.00,'),
    ].join('\r\n'); // Canvas ends lines with CRLF
  }

  /** A Moodle "Plain text file" export (fixture layout) naming learners 0–2 by email; "Lab notebook" is a Real column without a maximum. */
  function moodleExport(c: ReturnType<typeof newCourse>, labNotebook = ['18.00', '15.50', '-']): string {
    const [header] = fixture('moodle-grades.csv').toString('utf8').split(/\r?\n/);
    const people = c.learnerIds.slice(0, 3).map((id) => store().getUser(id)!);
    const rows = people.map(
      (u, i) => `${u.givenName},${u.familyName},,Uni Test,Biology,${u.email.toUpperCase()},8.50,85.00 %,72.00,72.00 %,${labNotebook[i]},90.00 %,26.50,190.50,1746262800`,
    );
    return [header, ...rows].join('\n');
  }

  describe('GET /teacher/grades/import', () => {
    it('shows the upload form with why and where to find the export in Moodle, Canvas and Chamilo', async () => {
      const c = newCourse('CSV form');
      const l = await teacherOf(c);
      const page = await l.browser.open(`${l.grades}/import`);
      expect(page.status).to.equal(200);
      expect(page.html).to.match(/<form method="post" action="\/app\/[^"]+\/teacher\/grades\/import" enctype="multipart\/form-data"/);
      expect(page.html).to.match(/<input id="grades-file" type="file" name="file" accept="\.csv,\.txt,\.tsv/);
      expect(page.html).to.include('only shares the grade columns that belong to this tool');
      expect(page.html).to.include('Grades › Export › Plain text file');
      expect(page.html).to.include('Grades › Export › Export Entire Gradebook');
      expect(page.html).to.include('Assessments › List View › CSV export');
      expect(page.html).to.include('at most 5 MB');
    });

    it('speaks Dutch (informal) to a Dutch teacher', async () => {
      const c = newCourse('CSV form (nl)');
      const docent = store().addUser({ givenName: 'Docent', familyName: 'Visser', locale: 'nl-NL' });
      store().enrol(c.course.id, docent.id, ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor']);
      const l = await launch(c.course.id, docent.id);
      await t.app.ctx.jobs.drain();
      const page = await l.browser.open(`${l.grades}/import`);
      expect(page.html).to.include('Voorbeeld tonen');
      expect(page.html).to.include('exporteer dan het cijferoverzicht uit je leeromgeving');
      const refused = await upload(l, fixture('bad-roster-not-gradebook.csv'), 'roster.csv');
      expect(refused.status).to.equal(400);
      expect(refused.html).to.include('Het bestand is niet geïmporteerd. Er is niets opgeslagen.');
      expect(refused.html).to.include('Rij 1');
    });
  });

  describe('POST /teacher/grades/import → preview → apply', () => {
    it('previews a Canvas export against the roster (matched by LMS id, SIS id and login; one unmatched), applies it once and stores exactly the shown scores', async () => {
      const c = newCourse('CSV Canvas');
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const [l0, l1, l2] = c.learnerIds;

      const { id, page } = await preview(l, canvasExport(c), 'Biology-gradebook.csv');
      const html = page.html;
      expect(html).to.include('data-format="canvas"');
      expect(html).to.include('Canvas gradebook export, UTF-8, separated by commas');
      expect(html).to.include('Biology-gradebook.csv');
      expect([countOf(html, 'rows'), countOf(html, 'matched'), countOf(html, 'unmatched'), countOf(html, 'changes'), countOf(html, 'unchanged'), countOf(html, 'newItems')]).to.deep.equal([4, 3, 1, 6, 0, 3]);
      // Items: maxima from the Points Possible row; the 0-point extra credit column is left out with a remark.
      expect(elementWith(html, 'data-item-key', 'canvas:1202')).to.include('data-maximum="25"').and.include('Essay: Climate, causes and effects').and.include('New column');
      expect(html).to.not.include('data-item-key="canvas:1204"');
      expect(elementWith(html, 'id', 'preview-warnings', 'section')).to.include('Extra credit');
      // How each row matched.
      expect(elementWith(html, 'data-user-id', l0!)).to.include('data-by="userId"').and.include('LMS user id');
      expect(elementWith(html, 'data-user-id', l1!)).to.include('data-by="sisId"');
      expect(elementWith(html, 'data-user-id', l2!)).to.include('data-by="login"');
      // The unmatched row, with its identifiers and why; the test student left out.
      const unmatched = elementWith(html, 'id', 'preview-unmatched', 'section');
      expect(unmatched).to.include('Nowak, Piotr').and.include('1005, pnowak').and.include('no course member with these identifiers');
      expect(elementWith(html, 'id', 'preview-skipped', 'section')).to.include('test student');
      // Score changes: none stored yet → new.
      const changes = elementWith(html, 'id', 'preview-changes', 'section');
      expect(changes.match(/data-change-user="/g)).to.have.length(6);
      expect(changes).to.include('no score').and.include('8.5 / 10').and.include('78.5 / 100');
      expect(html).to.include('data-action="apply"');

      // Nothing is stored before the confirmation.
      expect(await resultModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);
      expect(await lineItemModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);

      const applied = await apply(l, id);
      expect(applied.status).to.equal(303);
      const location = applied.headers.get('location')!;
      const runId = /\/teacher\/grades\/history\?imported=([0-9a-f]{24})$/.exec(location)?.[1];
      expect(runId, location).to.be.a('string');

      const items = await lineItemModel(conn()).find({ courseId, source: 'csv' }).lean();
      expect(items.map((i) => [i.externalId, i.scoreMaximum]).sort()).to.deep.equal([
        ['canvas:1201', 10],
        ['canvas:1202', 25],
        ['canvas:1203', 100],
      ]);
      const keyOf = new Map(items.map((i) => [String(i._id), i.externalId]));
      const results = await resultModel(conn()).find({ courseId, source: 'csv' }).lean();
      expect(results.map((r) => `${r.userId} ${keyOf.get(String(r.lineItemId))} ${r.scoreGiven}/${r.scoreMaximum}`).sort()).to.deep.equal(
        [`${l0} canvas:1201 8.5/10`, `${l0} canvas:1202 22/25`, `${l0} canvas:1203 91/100`, `${l1} canvas:1201 10/10`, `${l1} canvas:1203 78.5/100`, `${l2} canvas:1202 19.5/25`].sort(),
      );

      // The result page: the history with the run on top and the counts.
      const history = await l.browser.open(new URL(location, l.grades).toString());
      expect(history.status).to.equal(200);
      expect(history.html).to.match(new RegExp(`data-notice="imported" data-run-id="${runId}"`));
      expect(history.html).to.include('9 records changed, 6 scores for 3 learners');
      expect(history.html).to.include('1 row was not matched');
      const run = elementWith(history.html, 'data-run-id', runId!);
      expect(run).to.include('data-source="csv"').and.include('data-status="partial"').and.include('aria-current="true"');
      expect(run).to.include('Nowak, Piotr');

      // Applying the same preview again: refused, nothing written twice.
      const again = await apply(l, id);
      expect(again.status).to.equal(409);
      const againHtml = await again.text();
      expect(againHtml).to.include('data-notice="alreadyApplied"').and.include('never applied twice');
      expect(againHtml).to.include('enctype="multipart/form-data"');
      expect(await resultModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(6);
      expect(await syncRunModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(1);

      // The preview page now says it was applied, and offers no apply button.
      const appliedPage = await l.browser.open(`${l.grades}/import/${id}`);
      expect(appliedPage.html).to.include('data-notice="applied"').and.not.include('data-action="apply"');

      // The same file again: every score is already there, the columns exist.
      const second = await preview(l, canvasExport(c), 'Biology-gradebook.csv');
      expect([countOf(second.page.html, 'changes'), countOf(second.page.html, 'unchanged'), countOf(second.page.html, 'newItems')]).to.deep.equal([0, 6, 0]);
      expect(second.page.html).to.include('data-empty="changes"');
      expect(elementWith(second.page.html, 'data-item-key', 'canvas:1201')).to.include('data-status="existing"');
    });

    it('shows old → new for a changed score, and refuses (409) a preview whose grades changed before it was applied', async () => {
      const c = newCourse('CSV stale');
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const first = await preview(l, canvasExport(c), 'export.csv');
      expect((await apply(l, first.id)).status).to.equal(303);

      const changed = canvasExport(c).replace('8.50,22.00,91.00', '9.50,22.00,91.00');
      const second = await preview(l, changed, 'export.csv');
      expect(countOf(second.page.html, 'changes')).to.equal(1);
      const row = elementWith(second.page.html, 'data-change-user', c.learnerIds[0]!);
      expect(row).to.include('8.5 / 10').and.include('9.5 / 10').and.include('Quiz 1');

      // Someone else changes that grade in between (another import, a sync).
      const quiz = await lineItemModel(conn()).findOne({ courseId, externalId: 'canvas:1201' }).lean();
      await resultModel(conn()).updateOne({ lineItemId: quiz!._id, userId: c.learnerIds[0]! }, { $set: { scoreGiven: 7 } });
      const res = await apply(l, second.id);
      expect(res.status).to.equal(409);
      const html = await res.text();
      expect(html).to.include('data-notice="stale"').and.include('1 grade this import would change was changed since the preview');
      const stored = await resultModel(conn()).findOne({ lineItemId: quiz!._id, userId: c.learnerIds[0]! }).lean();
      expect(stored!.scoreGiven).to.equal(7);
    });

    it('asks the maxima a Moodle "Real" export does not give before anything can be applied, on the preview itself', async () => {
      const c = newCourse('CSV Moodle');
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const first = await preview(l, moodleExport(c), 'grades.txt');
      expect(first.page.html).to.include('data-format="moodle"');
      expect(countOf(first.page.html, 'matched')).to.equal(3);
      expect(first.page.html.match(/data-by="email"/g)).to.have.length(3);
      const lab = elementWith(first.page.html, 'data-item-key', 'moodle:Assignment: Lab notebook');
      expect(lab).to.include('data-maximum-from="unknown"').and.include('data-missing').and.include('not in the file: enter it');
      // Derived from the percentage column beside it.
      expect(elementWith(first.page.html, 'data-item-key', 'moodle:Quiz: Week 1 quiz')).to.include('data-maximum-from="derived"').and.include('data-maximum="10"');
      const name = /<label class="visually-hidden" for="(max-\d+)">Maximum of “Assignment: Lab notebook”/.exec(first.page.html)?.[1];
      expect(name, 'a maximum input for the lab notebook').to.be.a('string');
      // Apply is off, and says why; no certificate impact is guessed from an assumed maximum.
      expect(first.page.html).to.match(/data-action="apply" disabled/);
      expect(first.page.html).to.include('data-notice="maxima-missing"').and.include('Enter the maximum of this column before applying: Assignment: Lab notebook.');
      expect(first.page.html).to.include('data-impact="incomplete"');
      expect(first.page.html).to.not.include('18 / 100');

      // Applying anyway (a forged or stale form): refused, nothing written.
      const forced = await apply(l, first.id);
      expect(forced.status).to.equal(400);
      expect(await forced.text()).to.include('data-notice="maximaMissing"');
      expect(await lineItemModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);

      const revise = (value: string) => l.browser.request(`${l.grades}/import/${first.id}`, { method: 'POST', form: { [name!]: value } });
      // Not a number: 400 naming the field, on the preview.
      const notANumber = await revise('twenty');
      expect(notANumber.status).to.equal(400);
      expect(await notANumber.text()).to.include(`data-field="${name}"`);
      // Below a score in the file: shown on the column, still not applicable.
      expect((await revise('10')).status).to.equal(303);
      const tooLow = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(elementWith(tooLow.html, 'data-item-key', 'moodle:Assignment: Lab notebook')).to.include('Row 2 has 18, above the maximum 10');
      expect(tooLow.html).to.match(/data-action="apply" disabled/);

      expect((await revise('20')).status).to.equal(303);
      const answered = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(elementWith(answered.html, 'data-item-key', 'moodle:Assignment: Lab notebook')).to.include('data-maximum-from="asked"').and.include('value="20"');
      expect(answered.html).to.include('18 / 20').and.not.match(/data-action="apply" disabled/);
      expect(answered.html).to.include('data-impact="none"');
      expect((await apply(l, first.id)).status).to.equal(303);
      expect(await lineItemModel(conn()).findOne({ courseId, externalId: 'moodle:Assignment: Lab notebook' }).lean()).to.include({ scoreMaximum: 20 });
      expect(await csvPreviewModel(conn()).countDocuments({ courseId })).to.equal(1);
    });

    it('puts the missing maximum before Apply, refuses bad maxima (400, nothing changed) and lets the teacher correct an answer on the preview: the percentages and the applied grades follow', async () => {
      // A course whose grades come only from gradebook files, with a certificate at 80% over all activities.
      const c = newCourse('CSV maxima', { learners: 2, items: 0 });
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const [mia, joris] = c.learnerIds.map((id) => store().getUser(id)!);
      await createDefinition(conn(), {
        courseId,
        input: { title: 'Lab pass', issuerName: 'Uni', thresholdPercent: 80, requireAllGraded: false },
        by: { kind: 'teacher', userId: c.teacherIds[0]!, name: 'Teacher' },
        now: new Date(),
        publicAllowed: false,
      });
      // A Moodle "Real" column alone: the file has no maximum for it.
      const file = [
        'First name,Last name,ID number,Institution,Department,Email address,Assignment: Lab notebook (Real),Last downloaded from this course',
        `${mia!.givenName},${mia!.familyName},,Uni Test,Biology,${mia!.email},18.00,1746262800`,
        `${joris!.givenName},${joris!.familyName},,Uni Test,Biology,${joris!.email},15.00,1746262800`,
      ].join('\n');
      const first = await preview(l, file, 'grades.txt');
      const name = /<label class="visually-hidden" for="(max-\d+)">Maximum of “Assignment: Lab notebook”/.exec(first.page.html)?.[1];
      expect(name, 'a maximum input for the lab notebook').to.be.a('string');
      // The question comes first in the page (and so in reading and tab order), Apply after it, off, described by it.
      const html = first.page.html;
      const at = (needle: string) => {
        const i = html.indexOf(needle);
        expect(i, needle).to.be.greaterThan(-1);
        return i;
      };
      expect(at('data-notice="maxima-missing"')).to.be.lessThan(at('data-action="apply"'));
      expect(at(`name="${name}"`)).to.be.lessThan(at('data-action="apply"'));
      expect(at('data-action="revise"')).to.be.lessThan(at('data-action="apply"'));
      expect(html).to.match(/data-action="apply" disabled aria-disabled="true" aria-describedby="maxima-missing"/);
      expect(html).to.include('id="maxima-missing"');
      // No silent default: no score is shown out of 100, the input is empty.
      expect(html).to.not.include('18 / 100').and.not.include('value="100"');
      expect(elementWith(html, 'data-item-key', 'moodle:Assignment: Lab notebook')).to.include(`name="${name}" type="text" inputmode="decimal" size="6" value=""`);

      // Apply while the maximum is missing: 400 with the reason, nothing written.
      const forced = await apply(l, first.id);
      expect(forced.status).to.equal(400);
      expect(await forced.text()).to.include('Nothing was applied: enter the maximum of this column first: Assignment: Lab notebook.');
      expect(await lineItemModel(conn()).countDocuments({ courseId })).to.equal(0);
      expect(await resultModel(conn()).countDocuments({ courseId })).to.equal(0);

      const revise = (value: string) => l.browser.request(`${l.grades}/import/${first.id}`, { method: 'POST', form: { [name!]: value } });
      const stored = async () => (await csvPreviewModel(conn()).findOne({ courseId }).lean())!;
      // 0, negative, not a number: 400 on the preview naming the field, the stored preview unchanged.
      for (const bad of ['0', '-5', 'twenty', '1e3']) {
        const res = await revise(bad);
        expect(res.status, bad).to.equal(400);
        const text = await res.text();
        expect(text, bad).to.include('A maximum must be a number greater than 0.').and.include(`data-field="${name}"`);
        const doc = await stored();
        expect(doc.items.map((i) => i.scoreMaximum), bad).to.deep.equal([null]);
        expect(doc.ready, bad).to.equal(false);
      }

      // Answered (20): Mia 90%, eligible; Joris 75%, not.
      expect((await revise('20')).status).to.equal(303);
      const answered = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(answered.html).to.include('18 / 20').and.include('15 / 20').and.not.match(/data-action="apply" disabled/);
      expect(elementWith(answered.html, 'data-eligible-user', mia!.id, 'li')).to.include('90%');
      expect(answered.html).to.not.include(`data-eligible-user="${joris!.id}"`);
      // Corrected on the preview itself, without choosing the file again (the same preview): 25.
      expect(elementWith(answered.html, 'data-item-key', 'moodle:Assignment: Lab notebook')).to.include('value="20"');
      expect((await revise('25')).status).to.equal(303);
      const corrected = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(corrected.html).to.include(`data-preview-id="${first.id}"`).and.include('18 / 25').and.include('15 / 25').and.not.include('18 / 20');
      expect(elementWith(corrected.html, 'data-item-key', 'moodle:Assignment: Lab notebook')).to.include('value="25"').and.include('data-maximum-from="asked"');
      // 18 / 25 = 72%: nobody becomes eligible any more.
      expect(corrected.html).to.not.include('data-eligible-user=');
      expect(elementWith(corrected.html, 'id', 'preview-certificates', 'section')).to.include('data-impact="none"');
      expect(await csvPreviewModel(conn()).countDocuments({ courseId })).to.equal(1);

      // Applied: exactly the corrected maximum.
      expect((await apply(l, first.id)).status).to.equal(303);
      const item = await lineItemModel(conn()).findOne({ courseId, externalId: 'moodle:Assignment: Lab notebook' }).lean();
      expect(item).to.include({ scoreMaximum: 25 });
      const results = await resultModel(conn()).find({ courseId, lineItemId: item!._id }).lean();
      expect(results.map((r) => [r.userId, r.scoreGiven, r.scoreMaximum]).sort()).to.deep.equal([
        [joris!.id, 15, 25],
        [mia!.id, 18, 25],
      ].sort());
    });

    it('lets the teacher correct a maximum the file gives (Canvas "Points Possible") on the preview, before Apply, without choosing the file again; a bad one is refused (400, nothing changed)', async () => {
      const c = newCourse('CSV corrected maximum');
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const [l0, l1] = c.learnerIds;
      const first = await preview(l, canvasExport(c), 'Biology-gradebook.csv');
      const quiz = () => elementWith(first.page.html, 'data-item-key', 'canvas:1201');
      // The file's maximum (10) is shown in a field of its own, said to come from the file.
      expect(quiz()).to.include('data-maximum-from="file"').and.include('value="10"');
      const name = /<label class="visually-hidden" for="(max-\d+)">Maximum of “Quiz 1”/.exec(first.page.html)?.[1];
      expect(name, 'a maximum field for Quiz 1').to.be.a('string');
      expect(first.page.html).to.include('data-hint="correct-maxima"').and.include('A maximum the file gives can be corrected here too');
      // Every maximum is known: Apply is on.
      expect(first.page.html).to.not.match(/data-action="apply" disabled/);
      const stored = async () => (await csvPreviewModel(conn()).findOne({ courseId, _id: first.id }).lean())!;
      const revise = (value: string) => l.browser.request(`${l.grades}/import/${first.id}`, { method: 'POST', form: { [name!]: value } });

      for (const bad of ['0', '-2', 'ten']) {
        const res = await revise(bad);
        expect(res.status, bad).to.equal(400);
        expect(await res.text(), bad).to.include('A maximum must be a number greater than 0.').and.include(`data-field="${name}"`);
        expect((await stored()).items.find((i) => i.key === 'canvas:1201')).to.include({ scoreMaximum: 10, maximumFrom: 'file' });
      }
      // Below a score of the file (Learner 1's 10): shown on the column, Apply off.
      expect((await revise('9')).status).to.equal(303);
      const tooLow = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(elementWith(tooLow.html, 'data-item-key', 'canvas:1201')).to.include('data-above');
      expect(tooLow.html).to.match(/data-action="apply" disabled/);

      // Corrected to 12: the same preview, the scores shown out of 12, the file's 10 named.
      expect((await revise('12')).status).to.equal(303);
      const corrected = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(corrected.html).to.include(`data-preview-id="${first.id}"`).and.include('data-new-score>8.5 / 12<').and.not.include('data-new-score>8.5 / 10<');
      const row = elementWith(corrected.html, 'data-item-key', 'canvas:1201');
      expect(row).to.include('data-maximum-from="corrected"').and.include('value="12"').and.include('you (the file says 10)');
      expect(corrected.html).to.not.match(/data-action="apply" disabled/);
      expect(await csvPreviewModel(conn()).countDocuments({ courseId })).to.equal(1);
      expect(await lineItemModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);

      // Applied: the corrected maximum, the other columns as the file says.
      expect((await apply(l, first.id)).status).to.equal(303);
      const items = await lineItemModel(conn()).find({ courseId, source: 'csv' }).lean();
      expect(items.map((i) => [i.externalId, i.scoreMaximum]).sort()).to.deep.equal([
        ['canvas:1201', 12],
        ['canvas:1202', 25],
        ['canvas:1203', 100],
      ]);
      const quizItem = items.find((i) => i.externalId === 'canvas:1201')!;
      const results = await resultModel(conn()).find({ courseId, lineItemId: quizItem._id }).lean();
      expect(results.map((r) => `${r.userId} ${r.scoreGiven}/${r.scoreMaximum}`).sort()).to.deep.equal([`${l0} 8.5/12`, `${l1} 10/12`].sort());
    });

    it('refuses a bad corrected maximum in the teacher\'s language (Dutch)', async () => {
      const c = newCourse('CSV corrected maximum (nl)');
      const docent = store().addUser({ givenName: 'Docent', familyName: 'Jansen', locale: 'nl-NL' });
      store().enrol(c.course.id, docent.id, ['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor']);
      const l = await launch(c.course.id, docent.id);
      await t.app.ctx.jobs.drain();
      const first = await preview(l, canvasExport(c), 'Biology-gradebook.csv');
      expect(elementWith(first.page.html, 'data-item-key', 'canvas:1201')).to.include('value="10"');
      expect(first.page.html).to.include('Een maximum uit het bestand kun je hier ook corrigeren');
      const res = await l.browser.request(`${l.grades}/import/${first.id}`, { method: 'POST', form: { 'max-0': '0' } });
      expect(res.status).to.equal(400);
      expect(await res.text()).to.include('Een maximum moet een getal groter dan 0 zijn.');
      expect((await csvPreviewModel(conn()).findOne({ _id: first.id }).lean())!.items[0]).to.include({ scoreMaximum: 10, maximumFrom: 'file' });
      expect((await l.browser.request(`${l.grades}/import/${first.id}`, { method: 'POST', form: { 'max-0': '12,5' } })).status).to.equal(303);
      const corrected = await l.browser.open(`${l.grades}/import/${first.id}`);
      expect(elementWith(corrected.html, 'data-item-key', 'canvas:1201')).to.include('jouw correctie (het bestand zegt 10)');
    });

    it('reads a Chamilo 1.11 export (Code;First name;Last name;Username;…;TOTAL;), matches learners by the username their launch carried, and asks about its zeros', async () => {
      const c = newCourse('CSV Chamilo');
      // The tool's placement with the custom parameter the guides ask for.
      const link = store().addResourceLink(c.course.id, { title: 'Certificates', custom: { username: '$User.username' } });
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const people = c.learnerIds.slice(0, 3).map((id) => store().getUser(id)!);
      // Two learners open the tool (their usernames are learned); the third never did.
      for (const u of people.slice(0, 2)) {
        const page = await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, u.id, { resourceLinkId: link.id }));
        expect(page.status).to.equal(200);
      }
      const login = (u: (typeof people)[number]) => u.username;
      const text = [
        'Code;First name;Last name;Username;Quiz 1 20 % ;Lab report 30 % ;TOTAL;',
        `;${people[0]!.givenName};${people[0]!.familyName};${login(people[0]!)};12.00 ;0 ;12.00 ;`,
        `;${people[1]!.givenName};${people[1]!.familyName};${login(people[1]!)};18.00 ;24.00 ;42.00 ;`,
        `;${people[2]!.givenName};${people[2]!.familyName};${login(people[2]!)};10.00 ;10.00 ;20.00 ;`,
      ].join('\r\n');
      const { id, page } = await preview(l, text, 'chamilo.csv');
      expect(page.html).to.include('data-format="chamilo"').and.include('separated by semicolons');
      expect(page.html.match(/data-by="username"/g)).to.have.length(2);
      expect(countOf(page.html, 'unmatched')).to.equal(1);
      expect(elementWith(page.html, 'id', 'preview-unmatched', 'section')).to.include('data-hint="username"').and.include('$User.username');
      // The header's number is a weight: the maxima are asked.
      expect(elementWith(page.html, 'data-item-key', 'chamilo:Quiz 1')).to.include('data-maximum-from="unknown"');
      // The 0 is a question, not a grade.
      expect(countOf(page.html, 'zeros')).to.equal(1);
      expect(page.html).to.include('data-question="zeros"').and.include('0 in this file means a real zero');
      const maxima = { 'max-0': '20', 'max-1': '30' };
      expect((await l.browser.request(`${l.grades}/import/${id}`, { method: 'POST', form: maxima })).status).to.equal(303);
      const unconfirmed = await l.browser.open(`${l.grades}/import/${id}`);
      expect(countOf(unconfirmed.html, 'changes')).to.equal(3);
      expect(unconfirmed.html).to.not.include('0 / 30');
      expect((await l.browser.request(`${l.grades}/import/${id}`, { method: 'POST', form: { ...maxima, 'zero-is-real': 'on' } })).status).to.equal(303);
      const confirmed = await l.browser.open(`${l.grades}/import/${id}`);
      expect(countOf(confirmed.html, 'changes')).to.equal(4);
      expect(confirmed.html).to.include('0 / 30').and.match(/name="zero-is-real" value="on" checked/);
      expect((await apply(l, id)).status).to.equal(303);
      const lab = await lineItemModel(conn()).findOne({ courseId, externalId: 'chamilo:Lab report' }).lean();
      expect(await resultModel(conn()).findOne({ lineItemId: lab!._id, userId: people[0]!.id }).lean()).to.include({ scoreGiven: 0, scoreMaximum: 30 });
    });

    it('shows what the import changes for certificates, then runs the same stale check and automatic re-issue as a sync', async () => {
      // A course whose grades come only from gradebook files: no AGS column of its own.
      const c = newCourse('CSV certificates', { learners: 3, items: 0 });
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const [bilbo, frodo, sam] = c.learnerIds.map((id) => store().getUser(id)!);
      const canvasFile = (columns: string[], scores: number[][]) =>
        [
          `Student,ID,SIS User ID,SIS Login ID,Section,${columns.join(',')},Current Score`,
          `    Points Possible,,,,,${columns.map(() => '10.00').join(',')},(read only)`,
          ...[bilbo, frodo, sam].map((u, i) => `"${u!.familyName}, ${u!.givenName}",${u!.id},,,A,${scores[i]!.map((x) => x.toFixed(2)).join(',')},0.00`),
        ].join('\r\n');
      // First export, before the certificate is defined: "Essay" (Bilbo 9, Frodo 7, Sam 5) and
      // "Final project" (Bilbo 9, Frodo 7, Sam 5): "all activities" counts both.
      const first = await preview(l, canvasFile(['Essay (76)', 'Final project (77)'], [[9, 9], [7, 7], [5, 5]]), 'canvas.csv');
      expect((await apply(l, first.id)).status).to.equal(303);
      await courseModel(conn()).updateOne({ _id: courseId }, { $set: { 'settings.autoReissue': true } });
      const definition = await createDefinition(conn(), {
        courseId,
        input: { title: 'Pass', issuerName: 'Uni', thresholdPercent: 80, requireAllGraded: false },
        by: { kind: 'teacher', userId: c.teacherIds[0]!, name: 'Teacher' },
        now: new Date(),
        publicAllowed: false,
      });
      const claimed = await claimCertificate(conn(), { courseId, definitionId: definition._id, learner: { userId: bilbo!.id, name: bilbo!.name }, now: () => new Date(), random: randomBytes });
      expect(Math.round(claimed.certificate.scorePercent)).to.equal(90);

      // The next export changes "Final project": Bilbo 10, Frodo 10, Sam 5.
      const file = canvasFile(['Final project (77)'], [[10], [10], [5]]);
      const { id, page } = await preview(l, file, 'canvas.csv');
      const impact = elementWith(page.html, 'id', 'preview-certificates', 'section');
      expect(impact).to.include('data-impact="changes"');
      expect(impact).to.include('1 learner becomes eligible, 1 certificate turns stale, 0 learners stop qualifying.');
      expect(impact).to.include(`data-eligible-user="${frodo!.id}"`).and.include(`data-stale-user="${bilbo!.id}"`);
      expect(elementWith(impact, 'data-stale-user', bilbo!.id, 'li')).to.include('90%').and.include('95%').and.include(claimed.certificate.code).and.include('re-issued automatically');
      expect(impact).to.include('Automatic re-issue is on: 1 stale certificate is re-issued right after the import.');
      // The preview changed nothing.
      expect(await issueModel(conn()).countDocuments({ courseId })).to.equal(1);

      const applied = await apply(l, id);
      expect(applied.status).to.equal(303);
      const history = await l.browser.open(new URL(applied.headers.get('location')!, l.grades).toString());
      expect(history.html).to.include('data-after-import').and.include('1 certificate was re-issued with the new grades.');
      const certificates = await listLearnerCertificates(conn(), courseId, bilbo!.id);
      expect(certificates.map((x) => [x.version, x.status, Math.round(x.scorePercent)])).to.deep.equal([
        [2, 'active', 95],
        [1, 'superseded', 90],
      ]);
    });
  });

  describe('the sandbox gradebook exported as each platform writes it', () => {
    // The course's quizzes reach the tool only through the export; "Final project" is the tool's
    // own activity, also listed over AGS.
    for (const mode of ['moodle', 'canvas', 'chamilo'] as const) {
      it(`${mode}: imports the export the sandbox's gradebook page offers, the tool's own activity once, the grades as in the gradebook`, async () => {
        const c = newCourse(`CSV tour ${mode}`, { quirks: mode, learners: 3, items: 2, itemModule: 'quiz', scoreMaximum: 10, score: (l, i) => (l === 2 && i === 1 ? null : 5 + l + i) });
        const link = store().addResourceLink(c.course.id, { title: 'Final project', custom: { username: '$User.username' } });
        store().addLineItem(c.course.id, { label: 'Final project', scoreMaximum: 20, module: 'lti', resourceLinkId: link.id });
        const l = await teacherOf(c);
        const courseId = await courseIdOf(c);
        // Each learner opens the tool once (Chamilo's file knows them only by username).
        for (const id of c.learnerIds) expect((await new HttpBrowser().open(t.sandbox.launchUrl(c.course.id, id, { resourceLinkId: link.id }))).status).to.equal(200);
        const agsColumns = await lineItemModel(conn()).find({ courseId, source: 'ags', removedAt: null }).lean();
        expect(agsColumns.map((li) => li.label)).to.deep.equal(['Final project']);

        const exported = await fetch(`${t.baseUrl}/sandbox/courses/${encodeURIComponent(c.course.id)}/gradebook/export?format=${mode}`);
        expect(exported.status).to.equal(200);
        const { id, page } = await preview(l, Buffer.from(await exported.arrayBuffer()), 'export.csv');
        expect(page.html).to.include(`data-format="${mode}"`);
        expect(countOf(page.html, 'matched')).to.equal(3);
        const own = [...page.html.matchAll(/<tr data-item-key="([^"]+)" data-status="ags"/g)].map((m) => m[1]);
        expect(own, 'the tool\'s own activity is the AGS column').to.have.length(1);
        if (mode !== 'canvas') {
          // Moodle's Real export and Chamilo's weights give no maximum: Apply waits for them.
          expect(page.html).to.match(/data-action="apply" disabled/);
          const names = [...page.html.matchAll(/<input id="(max-\d+)"/g)].map((m) => m[1]!);
          expect(names).to.have.length(2);
          const answered = await l.browser.request(`${l.grades}/import/${id}`, { method: 'POST', form: Object.fromEntries(names.map((n) => [n, '10'])) });
          expect(answered.status).to.equal(303);
        }
        expect((await apply(l, id)).status).to.equal(303);

        const csv = await lineItemModel(conn()).find({ courseId, source: 'csv' }).lean();
        expect(csv.map((li) => [li.label.replace(/^Quiz: /, ''), li.scoreMaximum]).sort()).to.deep.equal([
          ['Activity 1', 10],
          ['Activity 2', 10],
        ]);
        const labelOf = new Map(csv.map((li) => [String(li._id), li.label.replace(/^Quiz: /, '')]));
        const results = await resultModel(conn()).find({ courseId, source: 'csv' }).lean();
        const subjectOf = new Map<string, number>();
        const given = c.learnerIds.map((uid) => store().getUser(uid)!.givenName);
        for (const m of await memberModel(conn()).find({ courseId, isLearner: true }).lean()) subjectOf.set(m.userId, given.indexOf(m.givenName ?? ''));
        const got = results.map((r) => `${subjectOf.get(r.userId)} ${labelOf.get(String(r.lineItemId))} ${r.scoreGiven}/${r.scoreMaximum}`).sort();
        expect(got).to.deep.equal(['0 Activity 1 5/10', '0 Activity 2 6/10', '1 Activity 1 6/10', '1 Activity 2 7/10', '2 Activity 1 7/10']);
      });
    }
  });

  describe('bad files are refused and store nothing', () => {
    let l: Launched;
    let courseId: Types.ObjectId;
    before(async () => {
      const c = newCourse('CSV bad files');
      l = await teacherOf(c);
      courseId = await courseIdOf(c);
    });
    afterEach(async () => {
      expect(await csvPreviewModel(conn()).countDocuments({ courseId })).to.equal(0);
      expect(await lineItemModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);
      expect(await syncRunModel(conn()).countDocuments({ courseId, source: 'csv' })).to.equal(0);
    });

    it('a binary file: 400, named as not a text file', async () => {
      const res = await upload(l, fixture('bad-binary.csv'), 'grades.csv');
      expect(res.status).to.equal(400);
      expect(res.html).to.include('data-error-reason="binary"').and.include('The file was not imported. Nothing was stored.');
      expect(res.html).to.include('Row ');
    });

    it('an Excel workbook renamed .csv: 400, asked for the CSV export', async () => {
      const res = await upload(l, fixture('bad-workbook.xlsx'), 'grades.csv');
      expect(res.status).to.equal(400);
      expect(res.html).to.include('data-error-reason="workbook"').and.include('Excel workbook');
    });

    it('a file with the wrong columns: 400, row 1 named with the columns found', async () => {
      const res = await upload(l, fixture('bad-roster-not-gradebook.csv'), 'roster.csv');
      expect(res.status).to.equal(400);
      expect(res.html).to.include('data-error-reason="not_a_gradebook"').and.include('<span data-error-where>Row 1</span>');
      expect(res.html).to.include('found &quot;Name, Email, Phone&quot;');
    });

    it('a score that is not a number: 400, row and column named', async () => {
      const res = await upload(l, fixture('bad-canvas-score-not-a-number.csv'), 'grades.csv');
      expect(res.status).to.equal(400);
      expect(res.html).to.include('data-error-reason="bad_score"');
      expect(res.html).to.match(/<span data-error-where>Row \d+, column “[^”]+”<\/span>/);
    });

    it('a file above the upload limit: 413, naming the limit in MB', async () => {
      const big = Buffer.alloc(t.config.uploadMaxBytes + 1, 'a');
      const res = await upload(l, big, 'huge.csv');
      expect(res.status).to.equal(413);
      expect(res.html).to.include('the limit is 5 MB');
    });

    it('no file at all: 400 on the form', async () => {
      const res = await fetch(`${l.grades}/import`, { method: 'POST', body: new FormData(), redirect: 'manual' });
      expect(res.status).to.equal(400);
      expect(await res.text()).to.include('data-error-reason="missing"');
    });
  });

  describe('who may see what', () => {
    it('refuses a learner (403) on every page of the import and the history, and applies nothing', async () => {
      const c = newCourse('CSV learner');
      const teacher = await teacherOf(c);
      const { id } = await preview(teacher, canvasExport(c), 'export.csv');
      const learner = await launch(c.course.id, c.learnerIds[0]!);
      for (const path of ['/import', `/import/${id}`, '/history']) {
        const page = await learner.browser.open(`${learner.grades}${path}`);
        expect(page.status, path).to.equal(403);
      }
      expect((await upload(learner, canvasExport(c), 'export.csv')).status).to.equal(403);
      expect((await apply(learner, id)).status).to.equal(403);
      expect(await resultModel(conn()).countDocuments({ courseId: await courseIdOf(c), source: 'csv' })).to.equal(0);
    });

    it("answers 404 for another course's preview or run, and leaves that preview applicable", async () => {
      const a = newCourse('CSV course A');
      const b = newCourse('CSV course B');
      const teacherA = await teacherOf(a);
      const teacherB = await teacherOf(b);
      const { id } = await preview(teacherA, canvasExport(a), 'export.csv');

      expect((await teacherB.browser.open(`${teacherB.grades}/import/${id}`)).status).to.equal(404);
      const res = await apply(teacherB, id);
      expect(res.status).to.equal(404);
      expect(await res.text()).to.include('data-notice="previewNotFound"');
      expect((await teacherB.browser.open(`${teacherB.grades}/import/not-a-preview-id`)).status).to.equal(404);

      const applied = await apply(teacherA, id);
      expect(applied.status).to.equal(303);
      const runId = /imported=([0-9a-f]{24})/.exec(applied.headers.get('location')!)![1]!;
      expect((await teacherB.browser.open(`${teacherB.grades}/history?imported=${runId}`)).status).to.equal(404);
      expect(await resultModel(conn()).countDocuments({ courseId: await courseIdOf(b), source: 'csv' })).to.equal(0);
    });
  });

  describe('GET /teacher/grades/history', () => {
    it('lists the AGS syncs and CSV imports newest first with who, counts, duration, status and errors; learner refreshes on request; pages', async () => {
      const c = newCourse('CSV history', { learners: 3, items: 2 });
      const l = await teacherOf(c);
      const courseId = await courseIdOf(c);
      const { id } = await preview(l, canvasExport(c), 'export.csv');
      expect((await apply(l, id)).status).to.equal(303);
      // A learner's launch refreshes that learner's results; one that brings a new grade is recorded
      // (a refresh that finds nothing new writes nothing).
      const graded = store().listResults(c.course.id, c.lineItemIds[0]!).find((r) => r.userId === c.learnerIds[0]);
      store().setScore(c.course.id, c.lineItemIds[0]!, c.learnerIds[0]!, graded?.scoreGiven === 1 ? 2 : 1);
      await launch(c.course.id, c.learnerIds[0]!);

      const page = await l.browser.open(`${l.grades}/history`);
      expect(page.status).to.equal(200);
      const rows = [...page.html.matchAll(/<tr data-run-id="([0-9a-f]{24})" data-source="(\w+)" data-status="(\w+)"/g)].map((m) => [m[2], m[3]]);
      expect(rows).to.deep.equal([
        ['csv', 'partial'],
        ['ags', 'succeeded'],
      ]);
      const ags = elementWith(page.html, 'data-source', 'ags');
      expect(ags).to.include('Learning platform (LTI)').and.include('2 columns').and.include('data-counts="2,');
      expect(ags).to.match(/Teacher \d+-1/);
      expect(ags).to.match(/<td class="num"[^>]*>\d+(\.\d)? s<\/td>/);
      const csv = elementWith(page.html, 'data-source', 'csv');
      expect(csv).to.include('Gradebook file (CSV)').and.include('data-counts="3,6,3,9"').and.include('data-error-kind="unmatched_row"');

      const all = await l.browser.open(`${l.grades}/history?scope=all`);
      expect(all.html).to.include("one learner&#x27;s refresh");
      expect(all.html.match(/<tr data-run-id=/g)).to.have.length(3);

      // 25 more runs: two pages of 20.
      const base = await syncRunModel(conn()).findOne({ courseId, source: 'csv' }).lean();
      const { _id: _, ...copy } = base!;
      await syncRunModel(conn()).insertMany(
        Array.from({ length: 25 }, (_x, i) => ({ ...copy, startedAt: new Date(Date.UTC(2020, 0, 1, 0, i)), errors: [{ kind: 'invalid_result', message: `Score ${i} out of range`, item: { userId: `u${i}`, scoreGiven: -1 } }] })),
      );
      const first = await l.browser.open(`${l.grades}/history`);
      expect(first.html).to.include('Page 1 of 2').and.include('rel="next"');
      const second = await l.browser.open(`${l.grades}/history?page=2`);
      expect(second.html.match(/<tr data-run-id=/g)).to.have.length(7);
      expect(second.html).to.include('Score 0 out of range').and.include('&quot;scoreGiven&quot;:-1');

      expect((await l.browser.open(`${l.grades}/history?page=zero`)).status).to.equal(400);
      expect((await l.browser.open(`${l.grades}/history?sort=old`)).status).to.equal(400);
    });
  });
});

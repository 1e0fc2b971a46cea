/**
 * The page states the browser suite (pages-browser.spec.ts) visits at 1280, 692 and 390 px.
 *
 * To add a page of yours: append a row to PAGE_STATES. `open` builds the state through the real
 * app (sandbox launches, the tool's own services, or the builders) and returns the URL to load;
 * rows share nothing but the World helpers below, so any row can run alone
 * (`npm run test:file -- test/ui/pages-browser.spec.ts -g "learner: ready"`).
 */
import { Types } from 'mongoose';
import type { Page } from 'puppeteer';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { GENERATE_ALL_JOB } from '../../src/certificates/generate-all.job';
import { jobModel } from '../../src/jobs/job.model';
import { SYNC_JOB } from '../../src/grades/sync.job';
import type { DefinitionDoc } from '../../src/certificates/definition.service';
import type { IssueDoc } from '../../src/certificates/certificate.queries';
import { random } from '../support/builders';
import type { CreatedCourse } from '../../src/sandbox/sandbox.types';
import type { TestApp } from '../support/app';
import { buildIssuedCertificate } from '../support/builders';
import { TEACHER, defineCertificate, launchAs, sandboxCourse, toolCourse, type Launched } from '../support/e2e';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { EXPORT_PDF_JOB, EXPORT_ZIP_JOB } from '../../src/documents';
import { createPdfRenderer, type PdfRenderer } from '../../src/render';
import { awardModel } from '../../src/certifications/award.model';
import { certificationModel } from '../../src/certifications/certification.model';
import { courseModel } from '../../src/courses/course.model';
import { memberModel } from '../../src/grades/member.model';
import { adminLaunch, buildWorld, programmeForm } from '../certifications/world';

/** Ten activities of 10 points: all graded, 100%. */
export const FULL = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
/** 85% after nine activities, the tenth not graded yet. */
export const BILBO = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

export interface World {
  t: TestApp;
  /** A sandbox course with these scores, its teacher launched once (the tool knows the course). */
  course(scores: Array<Array<number | null>>, opts?: { title?: string; learnerNames?: string[] }): Promise<{ c: CreatedCourse; courseId: Types.ObjectId; teacher: Launched }>;
  /** Launches a sandbox user and returns the session's app base URL. */
  launch(c: CreatedCourse, userId: string, locale?: string, opts?: { deepLinking?: boolean }): Promise<Launched>;
  definition(courseId: Types.ObjectId, input?: Record<string, unknown>): Promise<DefinitionDoc>;
  /** Issues a certificate to a learner of the course (who must qualify), optionally back in time. */
  issue(definition: DefinitionDoc, c: CreatedCourse, learnerIndex: number, at?: Date): Promise<IssueDoc>;
  /** The cookie of a signed-in administrator, for /admin. */
  adminCookie(): Promise<string>;
}

export interface PageState {
  /** "<area>: <state>", e.g. "learner: ready". */
  name: string;
  open(w: World): Promise<string | { url: string; cookie?: string }>;
  /** The HTTP status the page answers with; without it, any below 400 (a row must show its state, not an error page). */
  status?: number;
  /** What else is wrong with this page at this width (runs after the common checks; empty when all is well). */
  check?(page: Page, width: number): Promise<string[]>;
  /** Undoes what must not outlive the visit (runs after the checks, pass or fail). */
  after?(w: World): Promise<void>;
}

const MONTH = 31 * 24 * 3600_000;
let runningJob: { _id: unknown } | undefined;
let runningExport: { _id: unknown } | undefined;

/** A finished (or running) job another instance holds, as the pages show it. */
async function fakeJob(w: World, kind: string, courseId: Types.ObjectId, fields: Record<string, unknown>) {
  const at = new Date();
  return jobModel(w.t.db.connection).create({
    kind,
    courseId: String(courseId),
    payload: {},
    createdBy: { userId: TEACHER.userId, name: TEACHER.name },
    createdAt: at,
    startedAt: at,
    attempts: 1,
    ...fields,
  });
}

// ---- no browser to print PDFs with (CHROMIUM_PATH pointing at nothing), as in test/e2e/no-browser.spec.ts
let realRenderer: PdfRenderer | undefined;
function withoutBrowser(w: World): void {
  realRenderer ??= w.t.app.ctx.renderer;
  w.t.app.ctx.renderer = createPdfRenderer({ executablePath: '/nonexistent/chromium-for-the-browser-suite' });
}
/** Without a browser a page offers no PDF link (it would answer 503) and says the PDF is being prepared. */
async function noDeadPdfLink(page: Page): Promise<string[]> {
  const links = (await page.evaluate(`[...document.querySelectorAll('a[data-pdf], a[href$=".pdf"], a[href$="/pdf"]')].map((a) => a.getAttribute('href'))`)) as string[];
  const pending = (await page.evaluate(`document.querySelectorAll('[data-pdf-pending]').length`)) as number;
  return [...links.map((href) => `a PDF link that answers 503 without a browser: ${href}`), ...(pending ? [] : ['no "PDF being prepared" ([data-pdf-pending])'])];
}
async function browserBack(w: World): Promise<void> {
  if (!realRenderer || w.t.app.ctx.renderer === realRenderer) return;
  await w.t.app.ctx.renderer.close();
  w.t.app.ctx.renderer = realRenderer;
}

/**
 * Certifications across courses, built once per app and shared by the rows that show them: two
 * courses, a programme of both (defined by the LMS administrator's launch), a learner who claimed
 * both certificates and so holds the award, and an external certification the learner sent proof for.
 */
interface CertificationScene {
  learner: Launched;
  admin: Launched;
  teacher: Launched;
  programmeId: string;
  externalId: string;
  awardCode: string;
}
/** One scene per World: a suite that launches its users in another language builds its own. */
const scenes = new WeakMap<World, Promise<CertificationScene>>();
function certificationScene(w: World): Promise<CertificationScene> {
  let scene = scenes.get(w);
  if (!scene) {
    scene = buildCertificationScene(w.t);
    scenes.set(w, scene);
  }
  return scene;
}
async function buildCertificationScene(t: TestApp): Promise<CertificationScene> {
  // buildWorld (test/certifications) with names a reader of the screenshots recognises
  const world = await buildWorld(t, 2);
  const store = t.sandbox.store;
  const frodo = store.getUser(world.learnerId)!;
  [frodo.givenName, frodo.familyName, frodo.name] = ['Frodo', 'Baggins', 'Frodo Baggins'];
  const titles = ['Information Security', 'Privacy Law'];
  for (const [i, c] of world.courses.entries()) {
    store.getCourse(c.sandboxId)!.title = titles[i]!;
    await courseModel(t.db.connection).updateOne({ _id: c.tool._id }, { $set: { title: titles[i] } });
  }
  // the roster the teachers' launches synced still has the name buildWorld gave
  await memberModel(t.db.connection).updateMany({ userId: world.subject }, { $set: { name: 'Frodo Baggins', givenName: 'Frodo', familyName: 'Baggins' } });
  const admin = await adminLaunch(t, world);
  const name = 'Data Steward';
  const defined = await admin.browser.request(`${admin.app}/certifications/manage`, {
    form: programmeForm(world.courses, { name, definitionIds: world.courses.map((c) => String(c.definition._id)) }),
  });
  if (defined.status !== 303) throw new Error(`programme refused: ${defined.status}`);
  const programme = (await certificationModel(t.db.connection).findOne({ name }).sort({ _id: -1 }).lean())!;
  let learner: Launched | undefined;
  for (const c of world.courses) {
    learner = await launchAs(t, c.sandboxId, world.learnerId);
    const claimed = await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(c.definition._id) } });
    if (claimed.status !== 303) throw new Error(`claim refused: ${claimed.status}`);
  }
  const award = await awardModel(t.db.connection).findOne({ certificationId: programme._id, userId: world.subject }).lean();
  if (!award) throw new Error('no award after both claims');

  // An external certification (R8) assigned to this learner, with a proof waiting in the teacher's queue.
  const first = world.courses[0]!;
  const teacher = await launchAs(t, first.sandboxId, first.teacherId);
  const now = new Date();
  const teacherSub = t.sandbox.store.subjectOf(t.sandbox.store.getCourse(first.sandboxId)!, t.sandbox.store.getUser(first.teacherId)!);
  const external = await certificationModel(t.db.connection).create({
    issuer: t.sandbox.issuer,
    clientId: t.sandbox.registration.clientId,
    name: 'First aid',
    overview: 'A first aid course from the Red Cross or an equivalent.',
    issuerName: 'Shire Academy',
    kind: 'external',
    validity: { kind: 'recurring', validForMonths: 12, renewalWindowDays: 30 },
    onCourseRevoked: 'keep',
    assignment: { everyone: false, userIds: [world.subject] },
    version: 1,
    publishedAt: now,
    archivedAt: null,
    createdAt: now,
    createdBy: { kind: 'teacher', userId: teacherSub, name: 'Gandalf' },
    updatedAt: now,
    updatedBy: { kind: 'teacher', userId: teacherSub, name: 'Gandalf' },
  });
  const image = new PNG({ width: 30, height: 20 });
  image.data.fill(200);
  const form = new FormData();
  form.set('completedAt', now.toISOString().slice(0, 10));
  form.set('file', new Blob([new Uint8Array(PNG.sync.write(image))], { type: 'image/png' }), 'proof.png');
  const sent = await fetch(`${learner!.app}/certifications/${String(external._id)}/proof`, { method: 'POST', body: form, redirect: 'manual', headers: { origin: t.baseUrl } });
  if (sent.status !== 303) throw new Error(`proof refused: ${sent.status} ${(await sent.text()).slice(0, 300)}`);
  return { learner: learner!, admin, teacher, programmeId: String(programme._id), externalId: String(external._id), awardCode: award.code };
}

async function learnerWith(w: World, scores: Array<number | null>, input: Record<string, unknown> = {}) {
  const { c, courseId } = await w.course([scores]);
  const def = await w.definition(courseId, input);
  return { c, courseId, def };
}

/**
 * The definition form's activities (#15): a table from 601 px (the 692 px LMS iframe included), one
 * labelled block per activity below, never scrolling in its box; in both, Tab goes from an
 * activity's "use" box to its weight, its minimum and its "mandatory" box.
 */
async function activitiesLayout(page: Page, width: number): Promise<string[]> {
  const problems = (await page.evaluate(`(() => {
    const problems = [];
    const row = document.querySelector('table.activities tbody tr');
    if (!row) return ['no activities table'];
    const stacked = getComputedStyle(row).display === 'grid';
    const labels = [...row.querySelectorAll('.cell-label')];
    const shown = labels.filter((l) => getComputedStyle(l).display !== 'none' && l.getBoundingClientRect().width > 0);
    const wrap = row.closest('.table-wrap');
    if (wrap && wrap.scrollWidth > wrap.clientWidth + 1) problems.push('the activities scroll in their box (' + wrap.scrollWidth + ' px in ' + wrap.clientWidth + ')');
    if (${width} <= 600 && !(stacked && shown.length === labels.length)) problems.push('the activities are not blocks with visible labels (' + shown.length + ' of ' + labels.length + ' labels shown)');
    if (${width} > 600 && (stacked || shown.length)) problems.push('the activities are not a table');
    for (const l of labels) if (l.tagName === 'LABEL' && !document.getElementById(l.htmlFor)) problems.push('a label for nothing: ' + l.htmlFor);
    return problems;
  })()`)) as string[];
  // keyboard order inside an activity, with the activities chosen one by one (they are off under "all")
  await page.click('input[name="itemsMode"][value="selected"]');
  const id = (await page.evaluate(`document.querySelector('table.activities tbody tr').dataset.lineItemId`)) as string;
  await page.focus(`#f-item-${id}-used`);
  const order: string[] = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    order.push((await page.evaluate('document.activeElement.id')) as string);
  }
  const expected = ['weight', 'minimumPercent', 'mandatory'].map((f) => `f-item-${id}-${f}`);
  if (order.join() !== expected.join()) problems.push(`Tab from "use" goes to ${order.join(', ')}, not ${expected.join(', ')}`);
  await page.click('input[name="itemsMode"][value="all"]');
  return problems;
}

export const PAGE_STATES: PageState[] = [
  // ---- learner
  {
    name: 'learner: not yet',
    async open(w) {
      const { c } = await learnerWith(w, BILBO);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
  },
  {
    name: 'learner: ready',
    async open(w) {
      const { c } = await learnerWith(w, FULL, { requireAllGraded: false });
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
  },
  {
    name: 'learner: holding',
    async open(w) {
      const { c, def } = await learnerWith(w, FULL);
      await w.issue(def, c, 0);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
  },
  {
    name: 'learner: certificate page',
    async open(w) {
      const { c, def } = await learnerWith(w, FULL);
      const cert = await w.issue(def, c, 0);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/certificates/${cert._id}`;
    },
  },
  {
    name: 'learner: stale',
    async open(w) {
      const { c, def } = await learnerWith(w, BILBO, { requireAllGraded: false });
      await w.issue(def, c, 0);
      // the tenth activity is graded afterwards: the certificate's 85% is no longer the score
      w.t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, c.learnerIds[0]!, 6);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
  },
  {
    name: 'learner: expired',
    async open(w) {
      const { c, def } = await learnerWith(w, FULL, { validity: { kind: 'recurring', validForMonths: 1 } });
      await w.issue(def, c, 0, new Date(Date.now() - 2 * MONTH));
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
  },
  {
    name: 'learner: in Dutch, long title',
    async open(w) {
      const { c, courseId } = await w.course([BILBO], { title: 'Interdisciplinaire samenwerkingsvaardigheden voor gezondheidszorgprofessionals' });
      await w.definition(courseId, { title: 'Certificaat interprofessionele gezondheidszorgcommunicatie' });
      return `${(await w.launch(c, c.learnerIds[0]!, 'nl-NL')).app}/learner`;
    },
  },
  {
    name: 'learner: holding, no browser for PDFs',
    async open(w) {
      const { c, def } = await learnerWith(w, FULL);
      await w.issue(def, c, 0);
      withoutBrowser(w);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/learner`;
    },
    check: noDeadPdfLink,
    after: browserBack,
  },
  {
    name: 'learner: certificate page, no browser for PDFs',
    async open(w) {
      const { c, def } = await learnerWith(w, FULL);
      const cert = await w.issue(def, c, 0);
      withoutBrowser(w);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/certificates/${cert._id}?claimed=1`;
    },
    check: noDeadPdfLink,
    after: browserBack,
  },
  // ---- certifications across courses (the learner's side)
  { name: 'certification: page (awarded)', open: async (w) => { const s = await certificationScene(w); return `${s.learner.app}/certifications/${s.programmeId}`; } },
  {
    name: 'certification: page (awarded), no browser for PDFs',
    async open(w) {
      const s = await certificationScene(w);
      withoutBrowser(w);
      return `${s.learner.app}/certifications/${s.programmeId}`;
    },
    check: noDeadPdfLink,
    after: browserBack,
  },
  { name: 'certification: my certifications', open: async (w) => `${(await certificationScene(w)).learner.app}/certifications` },
  { name: 'certification: external, proof sent', open: async (w) => { const s = await certificationScene(w); return `${s.learner.app}/certifications/${s.externalId}`; } },
  { name: 'certification: proof form', open: async (w) => { const s = await certificationScene(w); return `${s.learner.app}/certifications/${s.externalId}/proof`; } },
  { name: 'certification: manage (LMS administrator)', open: async (w) => `${(await certificationScene(w)).admin.app}/certifications/manage` },
  { name: 'certification: new programme form', open: async (w) => `${(await certificationScene(w)).admin.app}/certifications/manage/new` },
  // ---- teacher
  {
    name: 'teacher: empty course',
    async open(w) {
      const { teacher } = await w.course([BILBO, FULL]);
      return `${teacher.app}/teacher`;
    },
  },
  {
    name: 'teacher: with certificates',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL, FULL, BILBO], { learnerNames: ['Frodo Baggins', 'Samwise Gamgee', 'Bilbo Baggins'] });
      const def = await w.definition(courseId, { title: 'Digital Literacy: pass' });
      const a = await w.issue(def, c, 0);
      const b = await w.issue(def, c, 1);
      await revokeCertificate(w.t.db.connection, { courseId, issueId: b._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date() }); void a;
      return `${teacher.app}/teacher/definitions/${def._id}`;
    },
  },
  {
    name: 'teacher: overview with stale certificates',
    async open(w) {
      const { c, courseId, teacher } = await w.course([BILBO, BILBO]);
      const def = await w.definition(courseId, { requireAllGraded: false });
      await w.issue(def, c, 0);
      await w.issue(def, c, 1);
      w.t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, c.learnerIds[0]!, 10);
      return `${teacher.app}/teacher`;
    },
  },
  {
    name: 'teacher: dry run',
    async open(w) {
      const { courseId, teacher } = await w.course([FULL, BILBO]);
      const def = await w.definition(courseId);
      return `${teacher.app}/teacher/definitions/${def._id}/generate`;
    },
  },
  {
    name: 'teacher: job running',
    async open(w) {
      const { courseId, teacher } = await w.course([FULL, BILBO]);
      const def = await w.definition(courseId);
      // A job another instance holds: leased, so this one never runs it; the page shows its bar.
      runningJob = await jobModel(w.t.db.connection).create({
        kind: GENERATE_ALL_JOB,
        courseId: String(courseId),
        status: 'running',
        progress: { done: 1, total: 2 },
        payload: { definitionId: String(def._id) },
        createdBy: { userId: TEACHER.userId, name: TEACHER.name },
        createdAt: new Date(),
        startedAt: new Date(),
        attempts: 1,
        leaseUntil: new Date(Date.now() + 3600_000),
      });
      return `${teacher.app}/teacher/definitions/${def._id}`;
    },
    async after(w) {
      // finished, so that the queue's drain() (other tests) never waits for it
      if (runningJob) await jobModel(w.t.db.connection).updateOne({ _id: runningJob._id }, { $set: { status: 'cancelled', finishedAt: new Date(), leaseUntil: null } });
    },
  },
  {
    name: 'teacher: job done',
    async open(w) {
      const { courseId, teacher } = await w.course([FULL, BILBO]);
      const def = await w.definition(courseId);
      const at = new Date();
      await jobModel(w.t.db.connection).create({
        kind: GENERATE_ALL_JOB,
        courseId: String(courseId),
        status: 'succeeded',
        progress: { done: 2, total: 2 },
        payload: { definitionId: String(def._id) },
        result: { issued: 1, total: 2 },
        createdBy: { userId: TEACHER.userId, name: TEACHER.name },
        createdAt: at,
        startedAt: at,
        finishedAt: at,
        attempts: 1,
      });
      return `${teacher.app}/teacher/definitions/${def._id}`;
    },
  },
  {
    name: 'teacher: export (PDF ready, ZIP running)',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL, FULL]);
      const def = await w.definition(courseId);
      await w.issue(def, c, 0);
      await w.issue(def, c, 1);
      const done = new Date();
      await fakeJob(w, EXPORT_PDF_JOB, courseId, {
        status: 'succeeded',
        progress: { done: 2, total: 2 },
        finishedAt: done,
        result: { fileId: String(new Types.ObjectId()), fileName: 'certificates.pdf', format: 'pdf', certificates: 2, bytes: 120_000, expiresAt: new Date(done.getTime() + 24 * 3600_000).toISOString() },
      });
      // held by another instance (leased), so this one never runs it
      runningExport = await fakeJob(w, EXPORT_ZIP_JOB, courseId, { status: 'running', progress: { done: 1, total: 2 }, leaseUntil: new Date(Date.now() + 3600_000) });
      return `${teacher.app}/teacher/definitions/${def._id}`;
    },
    async after(w) {
      if (runningExport) await jobModel(w.t.db.connection).updateOne({ _id: runningExport._id }, { $set: { status: 'cancelled', finishedAt: new Date(), leaseUntil: null } });
    },
  },
  { name: 'teacher: proof queue', open: async (w) => `${(await certificationScene(w)).teacher.app}/proofs` },
  {
    name: 'teacher: certificate page, no browser for PDFs',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL]);
      const def = await w.definition(courseId);
      const cert = await w.issue(def, c, 0);
      withoutBrowser(w);
      return `${teacher.app}/certificates/${cert._id}`;
    },
    check: noDeadPdfLink,
    after: browserBack,
  },
  {
    name: 'teacher: audit log',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL]);
      const def = await w.definition(courseId);
      const cert = await w.issue(def, c, 0);
      await reissueCertificate(w.t.db.connection, { courseId, issueId: cert._id, by: TEACHER, now: () => new Date(), random });
      return `${teacher.app}/teacher/audit`;
    },
  },
  {
    name: 'teacher: import preview',
    async open(w) {
      const { teacher } = await w.course([FULL]);
      const csv = readFileSync(join(__dirname, '..', 'fixtures', 'csv', 'moodle-grades.csv'));
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(csv)], { type: 'text/csv' }), 'moodle-grades.csv');
      const res = await fetch(`${teacher.app}/teacher/grades/import`, { method: 'POST', body: form, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 303 || !location) throw new Error(`upload refused: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return new URL(location, teacher.app).toString();
    },
  },
  {
    // Rows that match learners of the course: the score changes and matched rows tables (on a phone: one block per row).
    name: 'teacher: import preview, rows matched',
    async open(w) {
      const { c, teacher } = await w.course([FULL, BILBO], { learnerNames: ['Ada Jansen', 'Bilbo Baggins'] });
      const [header] = readFileSync(join(__dirname, '..', 'fixtures', 'csv', 'moodle-grades.csv'), 'utf8').split(/\r?\n/);
      const rows = c.learnerIds.map((id) => w.t.sandbox.store.getUser(id)!).map(
        (u) => `${u.givenName},${u.familyName},,Uni Test,Biology,${u.email},8.50,85.00 %,72.00,72.00 %,18.00,90.00 %,26.50,190.50,1746262800`,
      );
      const form = new FormData();
      form.append('file', new Blob([[header, ...rows].join('\n')], { type: 'text/csv' }), 'moodle-grades.csv');
      const res = await fetch(`${teacher.app}/teacher/grades/import`, { method: 'POST', body: form, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 303 || !location) throw new Error(`upload refused: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return new URL(location, teacher.app).toString();
    },
    async check(page, width) {
      const n = (await page.evaluate(`[document.querySelectorAll('table.changes tbody tr').length, document.querySelectorAll('table.matched tbody tr').length]`)) as number[];
      return n[0] && n[1] === 2 ? [] : [`expected score changes and 2 matched rows, found ${n.join(' and ')} (${width} px)`];
    },
  },
  {
    name: 'teacher: import form',
    async open(w) {
      return `${(await w.course([FULL])).teacher.app}/teacher/grades/import`;
    },
  },
  {
    name: 'teacher: sync history',
    async open(w) {
      return `${(await w.course([FULL])).teacher.app}/teacher/grades/history`;
    },
  },
  {
    // The tool's own columns in the LMS gradebook (created over AGS, as test/e2e/tool-columns.spec.ts does).
    name: 'teacher: columns in the LMS gradebook',
    async open(w) {
      const { teacher } = await w.course([FULL]);
      const columns = `${teacher.app}/teacher/columns`;
      for (const label of ['Final project (group work, second semester)', 'Oral exam']) {
        const created = await teacher.browser.open(columns, { form: { label, scoreMaximum: '20' } });
        if (created.status !== 200) throw new Error(`column not created: ${created.status}`);
      }
      return columns;
    },
  },
  {
    name: 'teacher: new definition form',
    async open(w) {
      return `${(await w.course([FULL, BILBO])).teacher.app}/teacher/definitions/new`;
    },
    check: activitiesLayout,
  },
  {
    name: 'teacher: edit definition form',
    async open(w) {
      const { courseId, teacher } = await w.course([FULL]);
      const def = await w.definition(courseId, { validity: { kind: 'recurring', validForMonths: 24 } });
      return `${teacher.app}/teacher/definitions/${def._id}/edit`;
    },
  },
  {
    name: 'teacher: certificate preview',
    async open(w) {
      const { courseId, teacher } = await w.course([FULL]);
      const def = await w.definition(courseId);
      return `${teacher.app}/teacher/templates/preview?definitionId=${def._id}`;
    },
  },
  {
    name: 'teacher: delete one certificate',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL]);
      const def = await w.definition(courseId);
      const cert = await w.issue(def, c, 0);
      return `${teacher.app}/teacher/certificates/${cert._id}/delete`;
    },
  },
  {
    name: 'teacher: delete all certificates',
    async open(w) {
      const { c, courseId, teacher } = await w.course([FULL, FULL]);
      const def = await w.definition(courseId);
      await w.issue(def, c, 0);
      await w.issue(def, c, 1);
      return `${teacher.app}/teacher/definitions/${def._id}/delete-all`;
    },
  },
  { name: 'teacher: grade columns', open: async (w) => `${(await w.course([FULL])).teacher.app}/teacher/columns` },
  {
    name: 'teacher: placing the tool (deep-linking picker)',
    async open(w) {
      const { c } = await w.course([FULL]);
      const picker = await w.launch(c, c.teacherIds[0]!, undefined, { deepLinking: true });
      return `${picker.app}/deep-linking`;
    },
  },
  // ---- verification
  ...(['valid', 'expired', 'revoked', 'superseded'] as const).map(
    (status): PageState => ({
      name: `verify: ${status}`,
      async open(w) {
        const { c, courseId } = await w.course([FULL]);
        const def = await w.definition(courseId, status === 'expired' ? { validity: { kind: 'recurring', validForMonths: 1 } } : {});
        const cert = await w.issue(def, c, 0, status === 'expired' ? new Date(Date.now() - 2 * MONTH) : undefined);
        if (status === 'revoked') await revokeCertificate(w.t.db.connection, { courseId, issueId: cert._id, by: TEACHER, reason: 'Issued by mistake', now: () => new Date() });
        if (status === 'superseded') await reissueCertificate(w.t.db.connection, { courseId, issueId: cert._id, by: TEACHER, now: () => new Date(), random });
        return `${w.t.baseUrl}/verify/${encodeURIComponent(cert.code)}`;
      },
    }),
  ),
  {
    name: 'verify: valid, public, no browser for PDFs',
    async open(w) {
      const { c, courseId } = await w.course([FULL]);
      const cert = await w.issue(await w.definition(courseId, { public: true }), c, 0);
      withoutBrowser(w);
      return `${w.t.baseUrl}/verify/${encodeURIComponent(cert.code)}`;
    },
    check: noDeadPdfLink,
    after: browserBack,
  },
  { name: 'verify: certification award', open: async (w) => `${w.t.baseUrl}/verify/${encodeURIComponent((await certificationScene(w)).awardCode)}` },
  { name: 'verify: form', open: async (w) => `${w.t.baseUrl}/verify` },
  { name: 'verify: credential verifier', open: async (w) => `${w.t.baseUrl}/verify/credential` },
  { name: 'verify: not found', status: 404, open: async (w) => `${w.t.baseUrl}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ` },
  { name: 'verify: not a code', status: 400, open: async (w) => `${w.t.baseUrl}/verify/ZZZZ-ZZZZ-ZZZZ` },
  // ---- admin
  { name: 'admin: sign in', open: async (w) => `${w.t.baseUrl}/admin` },
  { name: 'admin: platforms', open: async (w) => ({ url: `${w.t.baseUrl}/admin`, cookie: await w.adminCookie() }) },
  {
    name: 'admin: platforms, no browser for PDFs',
    async open(w) {
      withoutBrowser(w);
      return { url: `${w.t.baseUrl}/admin`, cookie: await w.adminCookie() };
    },
    after: browserBack,
  },
  {
    name: 'admin: privacy, after an erasure',
    async open(w) {
      const { c, courseId } = await w.course([FULL]);
      await w.issue(await w.definition(courseId), c, 0);
      const cookie = await w.adminCookie();
      const userId = w.t.sandbox.store.subjectOf(c.course, w.t.sandbox.store.getUser(c.learnerIds[0]!)!);
      const res = await fetch(`${w.t.baseUrl}/admin/privacy/erase`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: w.t.baseUrl, cookie },
        body: new URLSearchParams({ issuer: w.t.sandbox.issuer, userId, confirm: userId }).toString(),
        redirect: 'manual',
      });
      if (res.status >= 400) throw new Error(`erasure refused: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return { url: `${w.t.baseUrl}/admin/privacy`, cookie };
    },
  },
  ...(['moodle', 'canvas', 'credentials', 'certifications'] as const).map(
    (sub): PageState => ({ name: `admin: ${sub}`, open: async (w) => ({ url: `${w.t.baseUrl}/admin/${sub}`, cookie: await w.adminCookie() }) }),
  ),
  {
    // After a dynamic registration: the platform waiting for activation and the registration events table.
    name: 'admin: platforms, after a dynamic registration',
    async open(w) {
      const reg = await fetch(w.t.sandbox.startDynamicRegistration().url);
      if (reg.status >= 400) throw new Error(`registration refused: ${reg.status}`);
      return { url: `${w.t.baseUrl}/admin`, cookie: await w.adminCookie() };
    },
    async check(page) {
      const events = (await page.evaluate(`document.querySelectorAll('#registration-events tbody tr').length`)) as number;
      return events ? [] : ['no registration event listed'];
    },
  },
  { name: 'home page', open: async (w) => `${w.t.baseUrl}/` },
  // the page an LMS administrator reads in the LMS's dialog after dynamic registration
  { name: 'registration: done, waiting for activation', open: async (w) => w.t.sandbox.startDynamicRegistration().url },
  // ---- errors
  { name: 'error: session ended', status: 401, open: async (w) => `${w.t.baseUrl}/app/no-such-session/learner` },
  { name: 'error: not found', status: 404, open: async (w) => `${w.t.baseUrl}/nothing-here` },
  {
    name: 'error: no access (learner opens the teacher page)',
    status: 403,
    async open(w) {
      const { c } = await w.course([FULL]);
      return `${(await w.launch(c, c.learnerIds[0]!)).app}/teacher`;
    },
  },
];

/**
 * Builds the row's state and readies the tab for it: the tool's cookies of the previous row gone,
 * the row's own (an administrator's) set. Returns the URL to load.
 */
export async function openState(page: Page, w: World, state: PageState): Promise<string> {
  const target = await state.open(w);
  const { url, cookie } = typeof target === 'string' ? { url: target, cookie: undefined } : target;
  await page.deleteCookie(...(await page.cookies(w.t.baseUrl)));
  if (cookie) {
    const [name, value] = cookie.split('=') as [string, string];
    await page.setCookie({ name, value, url: w.t.baseUrl });
  }
  return url;
}

/** The World the rows build their states in. */
export function createWorld(t: TestApp): World {
  let cookie: string | undefined;
  return {
    t,
    async course(scores, opts = {}) {
      const c = sandboxCourse(t, { scores, title: opts.title ?? 'Digital Literacy' });
      opts.learnerNames?.forEach((name, i) => {
        const u = t.sandbox.store.getUser(c.learnerIds[i]!);
        if (u) [u.givenName, u.familyName, u.name] = [...(name.split(' ') as [string, string]), name];
      });
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      const courseId = (await toolCourse(t, c))._id;
      // The sync the teacher's launch started, of this course only (another row's state may hold a
      // running job on purpose, so the queue as a whole is never idle).
      for (let i = 0; i < 400; i++) {
        const job = await t.app.ctx.jobs.latest(String(courseId), SYNC_JOB);
        if (!job || (job.status !== 'queued' && job.status !== 'running')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return { c, courseId, teacher };
    },
    async launch(c, userId, locale, opts) {
      if (locale) t.sandbox.store.getUser(userId)!.locale = locale;
      return launchAs(t, c.course.id, userId, opts);
    },
    definition: (courseId, input = {}) => defineCertificate(t, courseId, input),
    async issue(definition, c, learnerIndex, at) {
      const userId = t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(c.learnerIds[learnerIndex]!)!);
      return buildIssuedCertificate(t.db.connection, { definition, learner: { userId }, issuedBy: TEACHER, now: at ?? new Date() });
    },
    async adminCookie() {
      if (cookie) return cookie;
      const res = await fetch(`${t.baseUrl}/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.baseUrl },
        body: new URLSearchParams({ secret: t.config.adminSecret }).toString(),
        redirect: 'manual',
      });
      const set = res.headers.getSetCookie()[0];
      if (!set) throw new Error(`admin login failed: ${res.status}`);
      cookie = set.split(';')[0]!;
      return cookie;
    },
  };
}

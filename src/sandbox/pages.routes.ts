/**
 * The sandbox's own pages, for people: the course list, and a course page the way an LMS shows
 * it (people, gradebook, "launch as" buttons that open the tool in an iframe on the same page).
 */
import express, { type Request, type Response } from 'express';
import type { SandboxContext } from './context';
import { isTeacher } from './id-token';
import { platformStorageFrame } from './platform-storage';
import { esc, renderErrorPage, renderPage } from './html';
import { principalRole } from './lti-vocabulary';
import { isQuirkMode, QUIRK_MODES, QUIRKS } from './quirks';
import { visibleTo } from './context';
import { EXPORT_FORMATS, exportFormatOf, exportGradebook, type ExportFormat } from './gradebook-export';

const FORMAT_NAMES: Record<ExportFormat, string> = { moodle: 'Moodle plain text (CSV)', canvas: 'Canvas gradebook CSV', chamilo: 'Chamilo flat view CSV' };

/** Large generated courses would make a page of megabytes; people beyond this are summarised. */
const PEOPLE_SHOWN = 200;

function formatScore(value: number | undefined): string {
  if (value === undefined) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

export function pageRoutes(ctx: SandboxContext): express.Router {
  const router = express.Router();
  const home = `${ctx.baseUrl}/`;

  router.get('/', (_req, res) => {
    const rows = ctx.store
      .listCourses()
      .map((course) => {
        const people = ctx.store.listMembers(course.id).length;
        return `<tr><td><a href="${esc(ctx.urls.course(course.id))}">${esc(course.title)}</a></td><td>${esc(course.label)}</td><td>${esc(QUIRKS[course.quirks].platformName)}</td><td class="num">${people}</td></tr>`;
      })
      .join('');
    const body = `<h1>Courses</h1>
<p class="muted">A local LTI 1.3 platform that behaves like Moodle, Canvas or Chamilo. Open a course, then “Launch as” someone to see the tool inside the course.</p>
<table id="courses"><thead><tr><th>Course</th><th>Short name</th><th>Behaves like</th><th>People</th></tr></thead><tbody>${rows}</tbody></table>
<p><a class="button" href="${esc(ctx.baseUrl)}/register-tool">Register a tool dynamically</a> <a class="button" href="${esc(ctx.baseUrl)}/admin/webservices">Web services (Moodle tokens)</a> <a class="button" href="${esc(ctx.baseUrl)}/mailbox" id="mailbox-link">Mailbox (the mail the tool sent)</a></p>`;
    res.type('html').send(renderPage('Courses', body, { homeUrl: home }));
  });

  // Chamilo's course home is /courses/<code>/index.php (its .htaccess rewrites it to
  // main/course_home/course_home.php?cDir=<code>); the tool links a Chamilo course there, from the
  // launch's context label, since Chamilo 1.11 sends no return URL.
  router.get('/courses/:code/index.php', (req: Request, res: Response) => {
    const course = ctx.store.listCourses().find((c) => c.quirks === 'chamilo' && c.label === String(req.params.code));
    if (!course) return res.status(404).type('html').send(renderErrorPage('No such course', 'not_found', `There is no course ${String(req.params.code)}.`, home));
    res.redirect(302, ctx.urls.course(course.id));
  });

  router.get('/courses/:courseId', (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    if (!course) return res.status(404).type('html').send(renderErrorPage('No such course', 'not_found', `There is no course ${String(req.params.courseId)}.`, home));
    const items = ctx.store.listLineItems(course.id);
    const members = ctx.store.listMembers(course.id);
    const shown = members.slice(0, PEOPLE_SHOWN);
    const options = QUIRK_MODES.map((mode) => `<option value="${mode}"${mode === course.quirks ? ' selected' : ''}>${esc(QUIRKS[mode].platformName)}</option>`).join('');
    const head = `<tr><th>Name</th><th></th><th>Role</th><th>Status</th>${items.map((i) => `<th title="max ${esc(i.scoreMaximum)}">${esc(i.label)}</th>`).join('')}<th>Total</th></tr>`;
    const rows = shown
      .map((m) => {
        const learner = m.roles.some((r) => principalRole(r) === 'Learner');
        const cells = items.map((item) => `<td class="num">${learner ? esc(formatScore(ctx.store.getResult(course.id, item.id, m.id)?.scoreGiven)) : ''}</td>`).join('');
        const total = learner ? `${esc(ctx.store.courseGrade(course.id, m.id).percent)}%` : '';
        const launch = `<a class="button primary" target="tool-frame" data-user-id="${esc(m.id)}" href="${esc(ctx.launchUrl(course.id, m.id))}">Launch as ${esc(m.givenName)}</a>`;
        const deepLink = isTeacher(m.roles) ? ` <a class="button" target="tool-frame" href="${esc(ctx.launchUrl(course.id, m.id, { deepLinking: true }))}">Add content</a>` : '';
        return `<tr class="${m.status === 'Active' ? '' : 'inactive'}" data-user-id="${esc(m.id)}"><td>${esc(m.name)} <span class="muted">${esc(m.locale)}</span></td><td class="launch">${launch}${deepLink}</td><td>${esc(m.roles.map(principalRole).join(', '))}</td><td>${esc(m.status)}</td>${cells}<td class="num">${total}</td></tr>`;
      })
      .join('');
    const more = members.length > shown.length ? `<p class="muted">…and ${members.length - shown.length} more people.</p>` : '';
    const learners = shown.filter((m) => m.roles.some((r) => principalRole(r) === 'Learner'));
    const gradebook = `<form method="post" action="${esc(ctx.urls.course(course.id))}/scores" class="card" id="gradebook-form">
<strong>Gradebook</strong> (<a id="gradebook-link" href="${esc(ctx.urls.course(course.id))}/gradebook">open, export</a>) <label>Learner <select name="userId">${learners.map((m) => `<option value="${esc(m.id)}">${esc(m.name)}</option>`).join('')}</select></label>
<label>Activity <select name="lineItemId">${items.map((i) => `<option value="${esc(i.id)}">${esc(i.label)}</option>`).join('')}</select></label>
<label>Score <input name="score" type="number" min="0" step="any" size="5" placeholder="empty = ungraded"></label>
<button type="submit">Save grade</button></form>`;
    const links = course.resourceLinks.map((l) => `<li>${esc(l.title)}${l.url ? ` <span class="muted">${esc(l.url)}</span>` : ''}</li>`).join('');
    const body = `<h1>${esc(course.title)} <span class="muted">${esc(course.label)}</span></h1>
<form method="post" action="${esc(ctx.urls.course(course.id))}/quirks" class="inline" id="quirks-form"><label>Behaves like <select name="mode">${options}</select></label> <button type="submit">Switch</button></form>
· <a href="${esc(ctx.baseUrl)}/register-tool">Register a tool dynamically</a>
<div class="layout"><section><h2>People</h2>
<table id="people"><thead>${head}</thead><tbody>${rows}</tbody></table>${more}
${gradebook}
<h2>Tool placements</h2><ul>${links}</ul></section>
<section><h2>Tool</h2><iframe name="tool-frame" id="tool-frame" title="Tool" allow="clipboard-write"></iframe>${platformStorageFrame(ctx.baseUrl, course.quirks)}</section></div>`;
    res.type('html').send(renderPage(course.title, body, { homeUrl: home, subtitle: QUIRKS[course.quirks].platformName }));
  });

  // The gradebook as the teacher sees it in the LMS: every column (only some are line items the
  // tool sees over AGS), the platform's own CSV export, and the "grades" tick of each tool link.
  router.get('/courses/:courseId/gradebook', (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    if (!course) return res.status(404).type('html').send(renderErrorPage('No such course', 'not_found', `There is no course ${String(req.params.courseId)}.`, home));
    ctx.store.openGradebook(course.id);
    const items = ctx.store.listLineItems(course.id);
    const learners = ctx.store.listMembers(course.id).filter((m) => m.roles.some((r) => principalRole(r) === 'Learner')).slice(0, PEOPLE_SHOWN);
    const head = `<tr><th>Learner</th><th>Username</th>${items
      .map((i) => `<th data-item-id="${esc(i.id)}" data-module="${esc(i.module)}" data-ags="${visibleTo(i, ctx.defaultClient.clientId) ? 'yes' : 'no'}">${esc(i.label)}<br><span class="muted">${esc(i.module)} · max ${esc(i.scoreMaximum)}${visibleTo(i, ctx.defaultClient.clientId) ? ' · AGS' : ''}</span></th>`)
      .join('')}</tr>`;
    const rows = learners
      .map((m) => `<tr data-user-id="${esc(m.id)}"><td>${esc(m.name)}</td><td>${esc(m.username)}</td>${items.map((i) => `<td class="num">${esc(formatScore(ctx.store.getResult(course.id, i.id, m.id)?.scoreGiven))}</td>`).join('')}</tr>`)
      .join('');
    const own = exportFormatOf(course);
    const exports = EXPORT_FORMATS.map(
      (f) => `<li><a id="export-${f}" href="${esc(ctx.urls.course(course.id))}/gradebook/export?format=${f}">${esc(FORMAT_NAMES[f])}</a>${f === own ? ' <strong>(this platform’s)</strong>' : ''}${f === 'chamilo' ? ` · <a href="${esc(ctx.urls.course(course.id))}/gradebook/export?format=chamilo&amp;only_score=1">only numbers</a>` : ''}${f === 'moodle' ? ` · <a id="export-moodle-percentage" href="${esc(ctx.urls.course(course.id))}/gradebook/export?format=moodle&amp;display=real,percentage">Real + Percentage</a>` : ''}</li>`,
    ).join('');
    const links = course.resourceLinks
      .map((l) => {
        const graded = items.some((i) => i.resourceLinkId === l.id && i.module === 'lti' && i.clientId === undefined);
        return `<li>${esc(l.title)} — ${graded ? 'has a grade column' : l.gradesUnticked ? 'grades unticked' : 'no grade column'}
<form method="post" action="${esc(ctx.urls.course(course.id))}/links/${esc(l.id)}/grades" class="inline"><input type="hidden" name="on" value="${graded ? '0' : '1'}"><button type="submit">${graded ? 'Untick' : 'Tick'} “Allow the tool to add grades”</button></form></li>`;
      })
      .join('');
    const body = `<h1>Gradebook: ${esc(course.title)}</h1>
<p><a href="${esc(ctx.urls.course(course.id))}">Back to the course</a></p>
<h2>Export</h2><ul id="exports">${exports}</ul>
<table id="gradebook"><thead>${head}</thead><tbody>${rows}</tbody></table>
<h2>Tool activities</h2><ul id="tool-links">${links}</ul>`;
    res.type('html').send(renderPage(`Gradebook: ${course.title}`, body, { homeUrl: home, subtitle: QUIRKS[course.quirks].platformName }));
  });

  router.get('/courses/:courseId/gradebook/export', (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    if (!course) return res.status(404).type('html').send(renderErrorPage('No such course', 'not_found', `There is no course ${String(req.params.courseId)}.`, home));
    const asked = String(req.query.format ?? '');
    const format = (EXPORT_FORMATS as readonly string[]).includes(asked) ? (asked as ExportFormat) : exportFormatOf(course);
    const file = exportGradebook(ctx.store, course.id, format, ctx.now(), { onlyScore: req.query.only_score === '1', withPercentage: String(req.query.display ?? '').split(',').includes('percentage') });
    res.set('Content-Type', file.contentType).set('Content-Disposition', `attachment; filename="${file.filename}"`).send(file.body);
  });

  router.post('/courses/:courseId/links/:linkId/grades', express.urlencoded({ extended: false }), (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    const link = course?.resourceLinks.find((l) => l.id === String(req.params.linkId));
    if (!course || !link) return res.status(400).type('html').send(renderErrorPage('Cannot change the grades setting', 'invalid_request', 'Unknown course or tool activity.', home));
    ctx.store.setLinkGrades(course.id, link.id, req.body?.on === '1');
    res.redirect(303, `${ctx.urls.course(course.id)}/gradebook`);
  });

  router.post('/courses/:courseId/quirks', express.urlencoded({ extended: false }), (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    const mode = req.body?.mode;
    if (!course || !isQuirkMode(mode)) return res.status(400).type('html').send(renderErrorPage('Cannot switch', 'invalid_request', 'Unknown course or platform mode.', home));
    ctx.store.setQuirks(course.id, mode);
    res.redirect(303, ctx.urls.course(course.id));
  });

  router.post('/courses/:courseId/scores', express.urlencoded({ extended: false }), (req: Request, res: Response) => {
    const course = ctx.store.getCourse(String(req.params.courseId));
    const userId = String(req.body?.userId ?? '');
    const lineItemId = String(req.body?.lineItemId ?? '');
    const rawScore = String(req.body?.score ?? '').trim();
    const score = rawScore === '' ? null : Number(rawScore);
    const item = course ? ctx.store.getLineItem(course.id, lineItemId) : undefined;
    if (!course || !item || !ctx.store.getMembership(course.id, userId) || (score !== null && (!Number.isFinite(score) || score < 0))) {
      return res.status(400).type('html').send(renderErrorPage('Cannot save the grade', 'invalid_request', 'Choose a learner, an activity, and a score of 0 or more (or leave it empty to remove the grade).', home));
    }
    ctx.store.setScore(course.id, item.id, userId, score);
    res.redirect(303, ctx.urls.course(course.id));
  });

  return router;
}

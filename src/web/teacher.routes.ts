/**
 * The teacher's pages (R4, R5): grade data and sync, the course's certificate definitions, the
 * roster overview per definition with its actions, and the audit log. Mounted under
 * `/app/:session/teacher` behind `requireRole('teacher')`: the launch decides the course, and
 * every id in a URL or form (definition, certificate, job) is looked up *in that course* by the
 * services, so another course's id is simply not found (404).
 *
 * Forms post to `/app/<session>/teacher/…`; the session token in the path is what authorises
 * them (a cross-site page cannot know it), see src/lti/session.service.ts.
 *
 *   GET  /                                     home: grade data, definitions, settings
 *   POST /sync                                 "Sync now" (background job)
 *   POST /settings                             automatic re-issue after sync
 *   GET  /audit                                the audit log, newest first
 *   GET  /definitions/new, POST /definitions   create a definition
 *   GET  /definitions/:id                      roster overview (filters, sort, pages)
 *   GET  /definitions/:id/edit, POST /definitions/:id   change it
 *   POST /definitions/:id/archive              archive it
 *   GET|POST /definitions/:id/generate         dry run, then "generate all" (background job)
 *   GET|POST /definitions/:id/delete-all       confirm, then revoke every valid certificate
 *   POST /definitions/:id/reissue-stale        re-issue every stale certificate
 *   GET|POST /certificates/:id/delete          confirm, then revoke one certificate
 *   POST /certificates/:id/reissue             re-issue one stale certificate
 */
import { moodleSourceView } from './teacher/moodle-source.view';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { listAudit } from '../certificates/audit.service';
import { NotEligibleError } from '../certificates/certificate.errors';
import type { FieldError } from '../certificates/definition.schema';
import { archiveDefinition, createDefinition, getDefinition, listDefinitions, updateDefinition } from '../certificates/definition.service';
import { loadCourseColumns } from '../grades/course-grades.service';
import { GRADE_SOURCE_LABELS } from '../grades/sources/grade-source';
import { GENERATE_ALL_JOB, generateAllPayload, REISSUE_STALE_JOB, type GenerateAllJobResult, type ReissueStaleJobResult } from '../certificates/generate-all.job';
import { dryRunGenerateAll, type PlanEntry } from '../certificates/generate-all.service';
import { getCertificate } from '../certificates/certificate.queries';
import { reissueCertificate } from '../certificates/reissue.service';
import { revokeAll, revokeCertificate } from '../certificates/revoke.service';
import { certificateState } from '../certificates/certificate-state';
import { issueModel } from '../certificates/issue.model';
import { getCertificateSettings, updateCertificateSettings } from '../certificates/settings.service';
import { ConflictError, ValidationError } from '../errors';
import type { Translator } from '../i18n';
import { jobModel, toJobView, type JobDoc, type JobView } from '../jobs';
import type { WebContext } from './context';
import { exportPanelData } from './export.routes';
import { launchCourseTitle, renderTeacherPage, teacherPage, type TeacherPage } from './teacher-page';
import { auditRows } from './teacher/audit.view';
import {
  applyFieldErrors,
  bodyToForm,
  definitionToForm,
  fieldId,
  formToInput,
  newDefinitionForm,
  type DefinitionForm,
  type FormErrorSummary,
  type FormLineItem,
} from './teacher/definition-form';
import { createOverviewCache } from './teacher/overview-cache';
import { buildOverviewPage, mainReason, OverviewQuerySchema } from './teacher/overview.view';
import { noticeParams, parseQuery } from './teacher/query';
import { loadSyncStatus, startSync, syncIfStale, type SyncStatus } from './teacher/sync-status';

/** Names listed per group on the dry-run page (the counts are always complete). */
const DRY_RUN_NAMES = 200;
const AUDIT_PAGE_SIZE = 50;
const REASON_MAX = 500;

const HomeQuerySchema = z.strictObject({ ...noticeParams(['synced', 'syncStarted', 'settingsSaved', 'archived'] as const) });
const AuditQuerySchema = z.strictObject({ before: z.string().regex(/^[0-9a-f]{24}$/i).optional() });
const EmptyQuerySchema = z.strictObject({});
/** An image id as the template routes hand it back ('' removes the image). */
const imageIdParam = () => z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)]).optional();
const EditQuerySchema = z.strictObject({ 'template.logoFileId': imageIdParam(), 'template.signatureFileId': imageIdParam() });
const SettingsBodySchema = z.object({ autoReissue: z.enum(['on', 'off']) });

type PageContext = TeacherPage;
const pageContext = teacherPage;


export function teacherRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;
  const overviews = createOverviewCache();

  /** Renders a teacher page in the launch's language with what every page needs. */
  const render = (res: Response, p: PageContext, page: string, data: Record<string, unknown>, status = 200) =>
    renderTeacherPage(ctx.views, res, p, page, data, status);

  async function definitionTabs(p: PageContext, currentId?: string) {
    const defs = await listDefinitions(conn, p.launch.courseId);
    return defs.map((d) => ({ id: String(d._id), title: d.title, thresholdPercent: d.thresholdPercent, href: `${p.base}/definitions/${d._id}`, current: String(d._id) === currentId }));
  }

  async function currentLineItems(courseId: string): Promise<FormLineItem[]> {
    // The course's activities: the tool's launcher, copies of another source's column and totals never count.
    const items = (await loadCourseColumns(conn, courseId)).filter((li) => li.excluded === undefined);
    return items.map((li) => ({ id: String(li._id), label: li.label, scoreMaximum: li.scoreMaximum, source: li.source, sourceLabel: GRADE_SOURCE_LABELS[li.source] }));
  }

  function syncView(p: PageContext, status: SyncStatus) {
    const job = status.activeJob;
    const run = status.lastRun;
    return {
      ...status,
      jobUrl: job ? `/app/${p.session}/jobs/${job.id}.json` : null,
      ago: run ? timeAgo(ctx.now(), run.finishedAt ?? run.startedAt, p.t) : null,
      statusText: run ? p.t(`teacher.sync.status.${run.status}`) : null,
      statusClass: run ? ({ succeeded: 'ok', running: '', partial: 'warn', failed: 'bad' } as const)[run.status] : null,
    };
  }

  /** The newest job of a kind for a definition (a reload shows its progress or its outcome). */
  async function latestJob<R>(kind: string, p: PageContext, definitionId: string) {
    const doc = await jobModel(conn).findOne({ courseId: p.launch.courseId, kind, 'payload.definitionId': definitionId }).sort({ createdAt: -1, _id: -1 }).lean<JobDoc>();
    if (!doc) return null;
    const job: JobView = toJobView(doc);
    return { ...job, active: job.status === 'queued' || job.status === 'running', url: `/app/${p.session}/jobs/${job.id}.json`, result: job.result as R | null };
  }

  // ---- home ----------------------------------------------------------------------------------

  router.get('/', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(HomeQuerySchema, req.query, p.t);
    // A teacher's launch lands here: refresh the course when its data is old (issue #4).
    const sync = await syncIfStale(ctx, p.launch, await loadSyncStatus(ctx, p.launch.courseId));
    const [definitions, settings, moodle] = await Promise.all([definitionTabs(p), getCertificateSettings(conn, p.launch.courseId), moodleSourceView(conn, p.launch)]);
    render(res, p, 'teacher', {
      sync: syncView(p, sync),
      moodle,
      definitions,
      settings,
      notice: noticeView(p.t, query.notice, query.n),
    });
  });

  router.post('/sync', async (_req, res) => {
    const p = pageContext(res);
    await startSync(ctx, p.launch);
    res.redirect(303, `${p.base}?notice=syncStarted`);
  });

  router.post('/settings', async (req, res) => {
    const p = pageContext(res);
    const body = SettingsBodySchema.safeParse(req.body ?? {});
    if (!body.success) throw new ValidationError(p.t('teacher.settings.invalid'), { field: 'autoReissue' });
    await updateCertificateSettings(conn, { courseId: p.launch.courseId, settings: { autoReissue: body.data.autoReissue === 'on' }, by: p.actor, now: ctx.now() });
    res.redirect(303, `${p.base}?notice=settingsSaved`);
  });

  // ---- audit log -----------------------------------------------------------------------------

  router.get('/audit', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(AuditQuerySchema, req.query, p.t);
    const [page, defs] = await Promise.all([
      listAudit(conn, p.launch.courseId, { limit: AUDIT_PAGE_SIZE, before: query.before }),
      listDefinitions(conn, p.launch.courseId, { includeArchived: true }),
    ]);
    const titles = new Map(defs.map((d) => [String(d._id), d.title]));
    render(res, p, 'teacher-audit', {
      title: p.t('teacher.audit.title'),
      rows: auditRows(page.entries, titles, p.t),
      olderHref: page.nextBefore ? `${p.base}/audit?before=${page.nextBefore}` : null,
      newestHref: query.before ? `${p.base}/audit` : null,
    });
  });

  // ---- definitions: create and change --------------------------------------------------------

  function renderForm(res: Response, p: PageContext, opts: { form: DefinitionForm; definitionId?: string; summary?: FormErrorSummary[]; conflict?: boolean }, status = 200) {
    const modes = {
      design: ['classic', 'modern'],
      paper: ['A4', 'Letter'],
      orientation: ['landscape', 'portrait'],
      language: ['auto', 'en', 'nl'],
    };
    const options = Object.fromEntries(
      Object.entries(modes).map(([name, values]) => [
        name,
        values.map((v) => ({ value: v, text: p.t(`teacher.form.template.${name}.option.${v}`), selected: (opts.form.template as Record<string, unknown>)[name] === v })),
      ]),
    );
    render(
      res,
      p,
      'teacher-definition-form',
      {
        title: opts.definitionId ? p.t('teacher.form.editTitle', { title: opts.form.title }) : p.t('teacher.form.newTitle'),
        form: opts.form,
        options,
        definitionId: opts.definitionId ?? null,
        action: opts.definitionId ? `${p.base}/definitions/${opts.definitionId}` : `${p.base}/definitions`,
        cancelHref: opts.definitionId ? `${p.base}/definitions/${opts.definitionId}` : p.base,
        publicAllowed: ctx.config.publicCertificates,
        summary: opts.summary ?? [],
        conflict: opts.conflict === true,
        ids: { items: fieldId('items') },
      },
      status,
    );
  }

  /** Runs a create/update; a refused form comes back with the teacher's input and the errors. */
  async function saveDefinition(req: Request, res: Response, definitionId?: string): Promise<void> {
    const p = pageContext(res);
    parseQuery(EmptyQuerySchema, req.query, p.t);
    const lineItems = await currentLineItems(p.launch.courseId);
    if (definitionId) await getDefinition(conn, p.launch.courseId, definitionId); // 404 before anything else
    const form = bodyToForm((req.body ?? {}) as Record<string, unknown>, lineItems);
    const { input, selectedIds } = formToInput(form);
    const common = { courseId: p.launch.courseId, input, by: p.actor, now: ctx.now(), publicAllowed: ctx.config.publicCertificates, acceptNewColumns: form.acceptNewColumns };
    try {
      if (!definitionId) {
        const created = await createDefinition(conn, common);
        res.redirect(303, `${p.base}/definitions/${created._id}?notice=created`);
        return;
      }
      const expectedVersion = /^\d+$/.test(form.expectedVersion) ? Number(form.expectedVersion) : undefined;
      const before = await getDefinition(conn, p.launch.courseId, definitionId);
      const updated = await updateDefinition(conn, { ...common, definitionId, expectedVersion });
      res.redirect(303, `${p.base}/definitions/${definitionId}?notice=${updated.version === before.version ? 'unchanged' : 'saved'}`);
    } catch (err) {
      if (err instanceof ValidationError) {
        const fields = (err.details?.fields as FieldError[] | undefined) ?? [{ field: String(err.details?.field ?? 'definition'), message: err.message }];
        const summary = applyFieldErrors(form, fields, selectedIds, p.t);
        renderForm(res, p, { form, definitionId, summary }, 400);
        return;
      }
      if (err instanceof ConflictError && definitionId) {
        renderForm(res, p, { form, definitionId, conflict: true }, 409);
        return;
      }
      throw err;
    }
  }

  router.get('/definitions/new', async (req, res) => {
    const p = pageContext(res);
    parseQuery(EmptyQuerySchema, req.query, p.t);
    const form = newDefinitionForm(await currentLineItems(p.launch.courseId), { title: p.t('teacher.form.defaultTitle'), issuerName: launchCourseTitle(p.launch) });
    renderForm(res, p, { form });
  });

  router.post('/definitions', (req, res) => saveDefinition(req, res));

  router.get('/definitions/:definitionId/edit', async (req, res) => {
    const p = pageContext(res);
    // The template pages send the teacher back here with a freshly uploaded image, to be saved.
    const query = parseQuery(EditQuerySchema, req.query, p.t);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const form = definitionToForm(definition, await currentLineItems(p.launch.courseId));
    if (query['template.logoFileId'] !== undefined) form.template.logoFileId = query['template.logoFileId'];
    if (query['template.signatureFileId'] !== undefined) form.template.signatureFileId = query['template.signatureFileId'];
    renderForm(res, p, { form, definitionId: String(definition._id) });
  });

  router.post('/definitions/:definitionId', (req, res) => saveDefinition(req, res, String(req.params.definitionId)));

  router.post('/definitions/:definitionId/archive', async (req, res) => {
    const p = pageContext(res);
    await archiveDefinition(conn, { courseId: p.launch.courseId, definitionId: String(req.params.definitionId), by: p.actor, now: ctx.now() });
    res.redirect(303, `${p.base}?notice=archived`);
  });

  // ---- the roster overview of one definition ------------------------------------------------

  router.get('/definitions/:definitionId', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(OverviewQuerySchema, req.query, p.t);
    const definitionId = String(req.params.definitionId);
    const definition = await getDefinition(conn, p.launch.courseId, definitionId);
    const base = `${p.base}/definitions/${definition._id}`;
    const [overview, tabs, sync, generateJob, reissueJob, settings, exports] = await Promise.all([
      overviews.get(conn, definition, ctx.now()),
      definitionTabs(p, String(definition._id)),
      loadSyncStatus(ctx, p.launch.courseId),
      latestJob<GenerateAllJobResult>(GENERATE_ALL_JOB, p, String(definition._id)),
      latestJob<ReissueStaleJobResult>(REISSUE_STALE_JOB, p, String(definition._id)),
      getCertificateSettings(conn, p.launch.courseId),
      exportPanelData(ctx, { courseId: p.launch.courseId, session: p.session }),
    ]);
    const table = buildOverviewPage(overview, query, base, p.t);
    render(res, p, 'teacher-definition', {
      title: definition.title,
      definition: { ...definition, id: String(definition._id) },
      tabs,
      sync: syncView(p, sync),
      settings,
      exports,
      table,
      defBase: base,
      staleReissuable: overview.rows.filter((r) => r.status === 'stale' && r.comparison?.stillEligible).length,
      valid: overview.counts.active + overview.counts.stale + overview.counts.expired,
      generateJob,
      reissueJob,
      notice: noticeView(p.t, query.notice, query.n),
    });
  });

  // ---- generate all: dry run, then the job ---------------------------------------------------

  router.get('/definitions/:definitionId/generate', async (req, res) => {
    const p = pageContext(res);
    parseQuery(EmptyQuerySchema, req.query, p.t);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const plan = await dryRunGenerateAll(conn, p.launch.courseId, definition._id, ctx.now());
    const group = (entries: PlanEntry[], withReason = false) => ({
      count: entries.length,
      more: Math.max(0, entries.length - DRY_RUN_NAMES),
      names: entries.slice(0, DRY_RUN_NAMES).map((e) => ({
        name: e.name ?? p.t('teacher.overview.nameUnknown', { id: e.userId }),
        score: e.scorePercent,
        reason: withReason ? mainReason(e.reasons, p.t) : null,
      })),
    });
    render(res, p, 'teacher-generate', {
      title: p.t('teacher.generate.title', { title: definition.title }),
      definition: { ...definition, id: String(definition._id) },
      plan,
      groups: {
        willIssue: group(plan.willIssue),
        alreadyIssued: group(plan.alreadyIssued),
        stale: group(plan.stale),
        notEligible: group(plan.notEligible, true),
        skipped: {
          ...group(plan.skipped),
          names: plan.skipped.slice(0, DRY_RUN_NAMES).map((e) => ({ name: e.name ?? p.t('teacher.overview.nameUnknown', { id: e.userId }), score: e.scorePercent, reason: p.t(`teacher.generate.skip.${e.skipReason}`) })),
        },
      },
    });
  });

  /**
   * Starts a certificate job for a definition. One job of a kind per course at a time: a click
   * while another definition's run is going returns that run (false: the teacher is told to wait).
   */
  async function startDefinitionJob(kind: string, p: PageContext, definitionId: string): Promise<boolean> {
    const job = await ctx.jobs.enqueue(kind, {
      courseId: p.launch.courseId,
      createdBy: { userId: p.launch.user.id, name: p.launch.user.name },
      payload: generateAllPayload(definitionId, p.actor),
      dedupe: true,
    });
    const doc = await jobModel(conn).findById(job.id, { payload: 1 }).lean<Pick<JobDoc, 'payload'>>();
    return (doc?.payload as { definitionId?: string } | undefined)?.definitionId === definitionId;
  }

  router.post('/definitions/:definitionId/generate', async (req, res) => {
    const p = pageContext(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const mine = await startDefinitionJob(GENERATE_ALL_JOB, p, String(definition._id));
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=${mine ? 'generateStarted' : 'jobOther'}`);
  });

  // ---- delete all, delete one ----------------------------------------------------------------

  function reasonOf(req: Request, p: PageContext, required: boolean): string {
    const raw = (req.body as Record<string, unknown> | undefined)?.reason;
    const reason = (Array.isArray(raw) ? raw[raw.length - 1] : raw) ?? '';
    if (typeof reason !== 'string') throw new ValidationError(p.t('teacher.delete.reasonInvalid'), { field: 'reason' });
    const trimmed = reason.trim();
    if (trimmed.length > REASON_MAX) throw new ValidationError(p.t('teacher.delete.reasonTooLong', { max: REASON_MAX }), { field: 'reason' });
    if (!trimmed && required) throw new ValidationError(p.t('teacher.delete.reasonRequired'), { field: 'reason' });
    return trimmed;
  }

  router.get('/definitions/:definitionId/delete-all', async (req, res) => {
    const p = pageContext(res);
    parseQuery(EmptyQuerySchema, req.query, p.t);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const count = await issueModel(conn).countDocuments({ courseId: definition.courseId, definitionId: definition._id, status: 'active' });
    render(res, p, 'teacher-delete-all', { title: p.t('teacher.deleteAll.title', { title: definition.title }), definition: { ...definition, id: String(definition._id) }, count });
  });

  router.post('/definitions/:definitionId/delete-all', async (req, res) => {
    const p = pageContext(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId), { includeArchived: true });
    // The reason is optional here; the audit log still says that none was given.
    const reason = reasonOf(req, p, false) || p.t('teacher.deleteAll.noReason');
    const { revoked } = await revokeAll(conn, { courseId: p.launch.courseId, definitionId: definition._id, by: p.actor, reason, now: ctx.now });
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=revokedAll&n=${revoked}`);
  });

  router.get('/certificates/:issueId/delete', async (req, res) => {
    const p = pageContext(res);
    parseQuery(EmptyQuerySchema, req.query, p.t);
    const certificate = await getCertificate(conn, p.launch.courseId, String(req.params.issueId));
    render(res, p, 'teacher-delete-one', {
      title: p.t('teacher.deleteOne.title', { name: certificate.learnerName }),
      certificate: { ...certificate, id: String(certificate._id), state: certificateState(certificate, ctx.now()) },
      backHref: `${p.base}/definitions/${certificate.definitionId}`,
    });
  });

  router.post('/certificates/:issueId/delete', async (req, res) => {
    const p = pageContext(res);
    const certificate = await getCertificate(conn, p.launch.courseId, String(req.params.issueId));
    const reason = reasonOf(req, p, true);
    await revokeCertificate(conn, { courseId: p.launch.courseId, issueId: certificate._id, by: p.actor, reason, now: ctx.now });
    res.redirect(303, `${p.base}/definitions/${certificate.definitionId}?notice=revoked`);
  });

  // ---- re-issue stale certificates -----------------------------------------------------------

  router.post('/certificates/:issueId/reissue', async (req, res) => {
    const p = pageContext(res);
    const certificate = await getCertificate(conn, p.launch.courseId, String(req.params.issueId));
    const back = `${p.base}/definitions/${certificate.definitionId}`;
    try {
      await reissueCertificate(conn, { courseId: p.launch.courseId, issueId: certificate._id, by: p.actor, now: ctx.now, random: ctx.random });
    } catch (err) {
      // No longer qualifying is the teacher's decision to make (delete, or wait): say so on the page.
      if (err instanceof NotEligibleError) {
        res.redirect(303, `${back}?notice=reissueNotEligible&n=1`);
        return;
      }
      throw err;
    }
    res.redirect(303, `${back}?notice=reissued&n=1`);
  });

  // Every stale certificate of a large course is long work: a background job, like generate all.
  router.post('/definitions/:definitionId/reissue-stale', async (req, res) => {
    const p = pageContext(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const mine = await startDefinitionJob(REISSUE_STALE_JOB, p, String(definition._id));
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=${mine ? 'reissueStarted' : 'jobOther'}`);
  });

  return router;
}

/** Notices after an action that did not (fully) do what was asked are warnings. */
const WARNING_NOTICES = new Set(['reissueNotEligible', 'jobOther', 'unchanged']);

function noticeView(t: Translator, code: string | undefined, n: number | undefined): { text: string; kind: 'ok' | 'warn'; code: string } | null {
  if (!code) return null;
  return { text: t(`teacher.notice.${code}`, { n: n ?? 0 }), kind: WARNING_NOTICES.has(code) ? 'warn' : 'ok', code };
}

/** "5 minutes ago", "just now", "3 days ago". */
function timeAgo(now: Date, then: Date, t: Translator): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - new Date(then).getTime()) / 60_000));
  if (minutes < 60) return t('teacher.sync.ago.minutes', { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t('teacher.sync.ago.hours', { n: hours });
  return t('teacher.sync.ago.days', { n: Math.floor(hours / 24) });
}

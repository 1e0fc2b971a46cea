/**
 * One definition's pages: the roster overview (filters, sort, pages, with its actions), the dry
 * run of "generate all" and the background jobs that generate all and re-issue every stale
 * certificate.
 */
import { Router, type Request, type Response } from 'express';
import { listDefinitions, getDefinition } from '../../certificates/definition.service';
import {
  GENERATE_ALL_JOB,
  latestDefinitionJob,
  REISSUE_STALE_JOB,
  startDefinitionJob,
  type GenerateAllJobResult,
  type ReissueStaleJobResult,
} from '../../certificates/generate-all.job';
import { dryRunGenerateAll } from '../../certificates/generate-all.service';
import { createOverviewCache } from '../../certificates/overview-cache';
import { getCertificateSettings } from '../../certificates/settings.service';
import { loadSyncStatus } from '../../grades/sync-status';
import type { WebContext } from '../context';
import { renderTeacherPage, teacherPage, type TeacherPage } from '../teacher-page';
import { bodyOf, queryOf, validateBody, validateQuery } from '../validate';
import { issueIfEligible } from '../../certificates/issue.service';
import { exportPanelData } from './export-panel.view';
import { buildOverviewPage } from './overview.view';
import { EmptyQuery, ISSUE_ONE_MESSAGES, IssueOneBody, OverviewQuery } from './schema';
import { definitionTabs, dryRunGroups, jobPanel, noticeView, syncView } from './teacher.view';

export function definitionRoutes(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;
  const overviews = createOverviewCache();

  const latestJob = (kind: string, p: TeacherPage, definitionId: string) => latestDefinitionJob(conn, { kind, courseId: p.launch.courseId, definitionId });
  const startJob = (kind: string, p: TeacherPage, definitionId: string) =>
    startDefinitionJob(ctx, { kind, courseId: p.launch.courseId, definitionId, by: p.actor, createdBy: { userId: p.launch.user.id, name: p.launch.user.name } });

  router.get('/definitions/:definitionId', validateQuery(OverviewQuery), async (req, res) => {
    const p = teacherPage(res);
    const query = queryOf(res, OverviewQuery);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const id = String(definition._id);
    const base = `${p.base}/definitions/${id}`;
    const [overview, definitions, sync, generateJob, reissueJob, settings, exports] = await Promise.all([
      overviews.get(conn, definition, ctx.now()),
      listDefinitions(conn, p.launch.courseId),
      loadSyncStatus(ctx, p.launch.courseId),
      latestJob(GENERATE_ALL_JOB, p, id),
      latestJob(REISSUE_STALE_JOB, p, id),
      getCertificateSettings(conn, p.launch.courseId),
      exportPanelData(ctx, { courseId: p.launch.courseId, session: p.session }),
    ]);
    renderTeacherPage(ctx.views, res, p, 'teacher-definition', {
      title: definition.title,
      definition: { ...definition, id },
      tabs: definitionTabs(p, definitions, id),
      sync: syncView(p, sync, ctx.now()),
      settings,
      exports,
      table: buildOverviewPage(overview, query, base, p.t),
      defBase: base,
      staleReissuable: overview.rows.filter((r) => r.status === 'stale' && r.comparison?.stillEligible).length,
      valid: overview.counts.active + overview.counts.stale + overview.counts.expired,
      generateJob: jobPanel<GenerateAllJobResult>(p, generateJob),
      reissueJob: jobPanel<ReissueStaleJobResult>(p, reissueJob),
      notice: noticeView(p.t, query.notice, query.n),
    });
  });

  router.get('/definitions/:definitionId/generate', validateQuery(EmptyQuery), async (req, res) => {
    const p = teacherPage(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const plan = await dryRunGenerateAll(conn, p.launch.courseId, definition._id, ctx.now());
    renderTeacherPage(ctx.views, res, p, 'teacher-generate', {
      title: p.t('teacher.generate.title', { title: definition.title }),
      definition: { ...definition, id: String(definition._id) },
      plan,
      groups: dryRunGroups(p.t, plan),
    });
  });

  /** Starts a certificate job for the definition and goes back to its page, saying whether it runs or another one does. */
  const startJobRoute = (kind: string, startedNotice: string) => async (req: Request, res: Response) => {
    const p = teacherPage(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const mine = await startJob(kind, p, String(definition._id));
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=${mine ? startedNotice : 'jobOther'}`);
  };

  router.post('/definitions/:definitionId/generate', startJobRoute(GENERATE_ALL_JOB, 'generateStarted'));
  // Every stale certificate of a large course is long work: a background job, like generate all.
  router.post('/definitions/:definitionId/reissue-stale', startJobRoute(REISSUE_STALE_JOB, 'reissueStarted'));

  // "Issue" in one eligible learner's row: the same one-certificate-per-learner service as a claim.
  router.post('/definitions/:definitionId/issue', validateBody(IssueOneBody, ISSUE_ONE_MESSAGES), async (req, res) => {
    const p = teacherPage(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const { userId } = bodyOf(res, IssueOneBody);
    const r = await issueIfEligible(conn, { courseId: p.launch.courseId, definition, learner: { userId }, issuedBy: p.actor, now: ctx.now, random: ctx.random });
    const notice = r.outcome === 'not_eligible' ? 'issueNotEligible' : 'issuedOne';
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=${notice}`);
  });

  return router;
}

/**
 * The course's teacher pages: the home page (grade data, definitions, settings), "Sync now",
 * the course settings and the audit log.
 */
import { Router } from 'express';
import { listAudit } from '../../certificates/audit.service';
import { listDefinitions } from '../../certificates/definition.service';
import { findStaleCertificates } from '../../certificates/stale.service';
import { getCertificateSettings, updateCertificateSettings } from '../../certificates/settings.service';
import { loadSyncStatus, startSync, syncIfStale } from '../../grades/sync-status';
import type { WebContext } from '../context';
import { renderTeacherPage, teacherPage } from '../teacher-page';
import { bodyOf, queryOf, validateBody, validateQuery } from '../validate';
import { auditRows } from './audit.view';
import { moodleSourceStatus } from '../../grades/moodle/moodle-connection.service';
import { canvasSourceStatus } from '../../grades/canvas/canvas-oauth.service';
import { AuditQuery, HomeQuery, SETTINGS_MESSAGES, SettingsBody } from './schema';
import { definitionTabs, noticeView, staleView, syncView } from './teacher.view';

const AUDIT_PAGE_SIZE = 50;

export function homeRoutes(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;

  router.get('/', validateQuery(HomeQuery), async (_req, res) => {
    const p = teacherPage(res);
    const query = queryOf(res, HomeQuery);
    // A teacher's launch lands here: refresh the course when its data is old (issue #4).
    const sync = await syncIfStale(ctx, p.launch, await loadSyncStatus(ctx, p.launch.courseId));
    const [definitions, settings, moodle, canvas, stale] = await Promise.all([
      listDefinitions(conn, p.launch.courseId),
      getCertificateSettings(conn, p.launch.courseId),
      moodleSourceStatus(conn, p.launch),
      canvasSourceStatus(conn, p.launch),
      findStaleCertificates(conn, p.launch.courseId, ctx.now()),
    ]);
    renderTeacherPage(ctx.views, res, p, 'teacher', {
      sync: syncView(p, sync, ctx.now()),
      moodle,
      canvas,
      definitions: definitionTabs(p, definitions),
      settings,
      stale: staleView(p, stale),
      notice: noticeView(p.t, query.notice, query.n),
    });
  });

  router.post('/sync', async (_req, res) => {
    const p = teacherPage(res);
    await startSync(ctx, p.launch);
    res.redirect(303, `${p.base}?notice=syncStarted`);
  });

  router.post('/settings', validateBody(SettingsBody, SETTINGS_MESSAGES), async (_req, res) => {
    const p = teacherPage(res);
    const { autoReissue } = bodyOf(res, SettingsBody);
    await updateCertificateSettings(conn, { courseId: p.launch.courseId, settings: { autoReissue: autoReissue === 'on' }, by: p.actor, now: ctx.now() });
    res.redirect(303, `${p.base}?notice=settingsSaved`);
  });

  router.get('/audit', validateQuery(AuditQuery), async (_req, res) => {
    const p = teacherPage(res);
    const query = queryOf(res, AuditQuery);
    const [page, defs] = await Promise.all([
      listAudit(conn, p.launch.courseId, { limit: AUDIT_PAGE_SIZE, before: query.before }),
      listDefinitions(conn, p.launch.courseId, { includeArchived: true }),
    ]);
    const titles = new Map(defs.map((d) => [String(d._id), d.title]));
    renderTeacherPage(ctx.views, res, p, 'teacher-audit', {
      title: p.t('teacher.audit.title'),
      rows: auditRows(page.entries, titles, p.t),
      olderHref: page.nextBefore ? `${p.base}/audit?before=${page.nextBefore}` : null,
      newestHref: query.before ? `${p.base}/audit` : null,
    });
  });

  return router;
}

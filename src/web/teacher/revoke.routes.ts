/**
 * Deleting (revoking) certificates, one or all of a definition, each behind a confirmation
 * page, and re-issuing one stale certificate. The reason's rules (required for one, at most
 * REVOKE_REASON_MAX_LENGTH characters) are the revoke service's.
 */
import { Router } from 'express';
import { NotEligibleError } from '../../certificates/certificate.errors';
import { certificateState } from '../../certificates/certificate-state';
import { countActiveCertificates, getCertificate } from '../../certificates/certificate.queries';
import { getDefinition } from '../../certificates/definition.service';
import { reissueCertificate } from '../../certificates/reissue.service';
import { revokeAll, revokeCertificate } from '../../certificates/revoke.service';
import type { WebContext } from '../context';
import { renderTeacherPage, teacherPage } from '../teacher-page';
import { bodyOf, validateBody, validateQuery } from '../validate';
import { EmptyQuery, REVOKE_MESSAGES, RevokeBody } from './schema';

export function revokeRoutes(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;

  router.get('/definitions/:definitionId/delete-all', validateQuery(EmptyQuery), async (req, res) => {
    const p = teacherPage(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId));
    const count = await countActiveCertificates(conn, definition.courseId, definition._id);
    renderTeacherPage(ctx.views, res, p, 'teacher-delete-all', { title: p.t('teacher.deleteAll.title', { title: definition.title }), definition: { ...definition, id: String(definition._id) }, count });
  });

  router.post('/definitions/:definitionId/delete-all', validateBody(RevokeBody, REVOKE_MESSAGES), async (req, res) => {
    const p = teacherPage(res);
    const definition = await getDefinition(conn, p.launch.courseId, String(req.params.definitionId), { includeArchived: true });
    // The reason is optional here; the audit log still says that none was given.
    const reason = bodyOf(res, RevokeBody).reason.trim() || p.t('teacher.deleteAll.noReason');
    const { revoked } = await revokeAll(conn, { courseId: p.launch.courseId, definitionId: definition._id, by: p.actor, reason, now: ctx.now });
    res.redirect(303, `${p.base}/definitions/${definition._id}?notice=revokedAll&n=${revoked}`);
  });

  router.get('/certificates/:issueId/delete', validateQuery(EmptyQuery), async (req, res) => {
    const p = teacherPage(res);
    const certificate = await getCertificate(conn, p.launch.courseId, String(req.params.issueId));
    renderTeacherPage(ctx.views, res, p, 'teacher-delete-one', {
      title: p.t('teacher.deleteOne.title', { name: certificate.learnerName }),
      certificate: { ...certificate, id: String(certificate._id), state: certificateState(certificate, ctx.now()) },
      backHref: `${p.base}/definitions/${certificate.definitionId}`,
    });
  });

  router.post('/certificates/:issueId/delete', validateBody(RevokeBody, REVOKE_MESSAGES), async (req, res) => {
    const p = teacherPage(res);
    const certificate = await getCertificate(conn, p.launch.courseId, String(req.params.issueId));
    await revokeCertificate(conn, { courseId: p.launch.courseId, issueId: certificate._id, by: p.actor, reason: bodyOf(res, RevokeBody).reason, now: ctx.now });
    res.redirect(303, `${p.base}/definitions/${certificate.definitionId}?notice=revoked`);
  });

  router.post('/certificates/:issueId/reissue', async (req, res) => {
    const p = teacherPage(res);
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

  return router;
}

/**
 * Defining certifications — for administrators only, in two places that share these routes:
 *
 *   /admin/certifications/<registration>/…   the tool's administrator (ADMIN_SECRET)
 *   /app/<session>/certifications/manage/…   an LMS administrator in a launch (who.ts); the
 *                                            registration is the launch's, never a form field
 *
 *   GET  /                 the registration's certifications
 *   GET  /new, POST /      create (multipart: the badge image is optional)
 *   GET  /:id/edit, POST /:id   change (a new version)
 *   POST /:id/archive      archive
 *   POST /:id/reissue-stale   re-issue the awards issued under an older version (each learner who still completes it)
 *   GET  /:id/badge        the badge image
 *
 * Every check (the form, the courses, the badge) happens before anything is written.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { Types } from 'mongoose';
import type { Actor } from '../../certificates/audit.model';
import { awardCounts, reissueStaleAwards } from '../../certifications/award.service';
import { listCertificationAudit } from '../../certifications/certification-audit';
import {
  archiveCertification,
  badgeScope,
  checkProgramme,
  createCertification,
  definitionsOfCourses,
  getCertification,
  listCertifications,
  tenantCourses,
  updateCertification,
  type CertificationDoc,
  type Tenant,
} from '../../certifications/certification.service';
import { imageLimitBytes, loadCourseImage, storeImage, tooLargeError } from '../../documents/images.service';
import { ValidationError } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import type { WebContext } from '../context';
import { parseWith } from '../validate';
import { CERTIFICATION_FORM_MESSAGES, CertificationForm } from './schema';

export interface ManageScope {
  /** Who may use these routes (runs first; refuses with 401/403). */
  guard: RequestHandler;
  tenantOf(req: Request, res: Response): Tenant;
  baseOf(req: Request, res: Response): string;
  actorOf(res: Response): Actor;
  langOf(res: Response): string;
  /** A link back to where the administrator came from. */
  backOf(req: Request, res: Response): { href: string; label: string };
}

function formValues(c?: CertificationDoc) {
  const programme = c?.programme;
  return {
    name: c?.name ?? '',
    overview: c?.overview ?? '',
    issuerName: c?.issuerName ?? '',
    kind: c?.kind ?? 'internal',
    type: c?.validity.kind ?? 'perpetual',
    validForMonths: c?.validity.kind === 'recurring' ? c.validity.validForMonths : '',
    renewalWindowDays: c?.validity.kind === 'recurring' ? c.validity.renewalWindowDays : 60,
    onCourseRevoked: c?.onCourseRevoked ?? 'revoke',
    minimumMandatory: programme?.minimumMandatory ?? '',
    useLmsCompletion: programme?.useLmsCompletion ?? false,
    assignEveryone: c?.assignment.everyone ?? true,
    courses: new Set(programme?.courses.map((p) => String(p.courseId)) ?? []),
    mandatory: new Set(programme?.courses.filter((p) => p.mandatory).map((p) => String(p.courseId)) ?? []),
    definitionIds: new Set(programme?.courses.flatMap((p) => p.definitionIds.map(String)) ?? []),
  };
}

export function certificationManageRouter(ctx: WebContext, scope: ManageScope): Router {
  const router = Router({ mergeParams: true });
  const limit = imageLimitBytes(ctx.config.uploadMaxBytes);
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limit, files: 1, fields: 400, parts: 410 } }).single('badge');
  router.use(scope.guard);

  const render = (req: Request, res: Response, page: string, data: Record<string, unknown>, status = 200) => {
    const lang = pickLanguage(scope.langOf(res));
    res.status(status).type('html').send(ctx.views.render(page, { lang, base: scope.baseOf(req, res), back: scope.backOf(req, res), ...data, title: String(data.title ?? '') }));
  };

  router.get('/', async (req, res) => {
    const tenant = scope.tenantOf(req, res);
    const t = createTranslator(pickLanguage(scope.langOf(res)));
    const list = await listCertifications(ctx.conn, tenant, { includeArchived: true });
    const counts = await Promise.all(list.map((c) => awardCounts(ctx.conn, c)));
    render(req, res, 'certifications-manage', {
      title: t('certifications.manage.title'),
      tenant,
      certifications: list.map((c, i) => ({
        awards: counts[i]!.active,
        stale: counts[i]!.stale,
        id: String(c._id),
        name: c.name,
        kind: c.kind,
        recurring: c.validity.kind === 'recurring',
        months: c.validity.kind === 'recurring' ? c.validity.validForMonths : null,
        courses: c.programme?.courses.length ?? 0,
        needed: c.programme ? (c.programme.minimumMandatory ?? c.programme.courses.filter((p) => p.mandatory).length) : null,
        mandatory: c.programme?.courses.filter((p) => p.mandatory).length ?? 0,
        archived: Boolean(c.archivedAt),
        version: c.version,
      })),
    });
  });

  const showForm = async (req: Request, res: Response, c?: CertificationDoc) => {
    const tenant = scope.tenantOf(req, res);
    const t = createTranslator(pickLanguage(scope.langOf(res)));
    const courses = await tenantCourses(ctx.conn, tenant);
    const definitions = await definitionsOfCourses(ctx.conn, courses.map((x) => x._id));
    const v = formValues(c);
    render(req, res, 'certification-form', {
      title: c ? t('certifications.form.editTitle', { name: c.name }) : t('certifications.form.newTitle'),
      action: c ? `${scope.baseOf(req, res)}/${String(c._id)}` : scope.baseOf(req, res),
      certification: c ? { id: String(c._id), version: c.version, badge: Boolean(c.badgeFileId) } : null,
      form: { ...v, courses: undefined, mandatory: undefined, definitionIds: undefined },
      courses: courses.map((x) => ({
        id: String(x._id),
        title: x.title ?? x.contextId,
        inProgramme: v.courses.has(String(x._id)),
        mandatory: v.mandatory.has(String(x._id)),
        definitions: definitions.filter((d) => d.courseId.equals(x._id)).map((d) => ({ id: String(d._id), title: d.title, chosen: v.definitionIds.has(String(d._id)) })),
      })),
      audit: c ? (await listCertificationAudit(ctx.conn, c._id, 50)).map((a) => ({ action: a.action, at: a.at, actor: a.actor.name ?? a.actor.kind, userId: a.userId })) : [],
    });
  };

  router.get('/new', (req, res) => showForm(req, res));
  router.get('/:id/edit', async (req, res) => showForm(req, res, await getCertification(ctx.conn, scope.tenantOf(req, res), req.params.id)));

  /** Parses the multipart (or urlencoded) form; refuses a bad upload before anything is stored. */
  const parseForm = (req: Request, res: Response): Promise<void> =>
    new Promise((resolve, reject) => {
      upload(req, res, (err: unknown) => {
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') return reject(tooLargeError(limit));
        if (err instanceof multer.MulterError) return reject(new ValidationError(`${err.field ?? 'form'}: ${err.message}`, { field: err.field ?? 'badge' }, { key: 'certifications.error.badUpload' }));
        if (err) return reject(err);
        resolve();
      });
    });

  async function save(req: Request, res: Response, existing?: CertificationDoc): Promise<void> {
    await parseForm(req, res);
    const tenant = scope.tenantOf(req, res);
    const input = parseWith(CertificationForm, req.body, CERTIFICATION_FORM_MESSAGES, 'body');
    const id = existing?._id ?? new Types.ObjectId();
    const by = scope.actorOf(res);
    const now = ctx.now();
    // the programme's courses and definitions are checked first, the badge stored only then
    await checkProgramme(ctx.conn, tenant, input);
    let badgeFileId: string | undefined;
    if (req.file && req.file.size > 0) {
      badgeFileId = (await storeImage(ctx.conn, { courseId: badgeScope(id), kind: 'logo', data: req.file.buffer, uploadedBy: { userId: by.userId ?? by.kind, name: by.name }, now, uploadMaxBytes: ctx.config.uploadMaxBytes })).fileId;
    }
    if (existing) await updateCertification(ctx.conn, id, { tenant, input, by, now, badgeFileId });
    else await createCertification(ctx.conn, { tenant, input, by, now, id, badgeFileId });
    res.redirect(303, scope.baseOf(req, res));
  }

  router.post('/', (req, res) => save(req, res));
  router.post('/:id', async (req, res) => save(req, res, await getCertification(ctx.conn, scope.tenantOf(req, res), req.params.id)));
  router.post('/:id/archive', async (req, res) => {
    await archiveCertification(ctx.conn, scope.tenantOf(req, res), req.params.id, scope.actorOf(res), ctx.now());
    res.redirect(303, scope.baseOf(req, res));
  });
  router.post('/:id/reissue-stale', async (req, res) => {
    const c = await getCertification(ctx.conn, scope.tenantOf(req, res), req.params.id);
    await reissueStaleAwards(ctx.conn, c, { now: ctx.now(), random: ctx.random, by: scope.actorOf(res) });
    res.redirect(303, scope.baseOf(req, res));
  });
  router.get('/:id/badge', async (req, res) => {
    const c = await getCertification(ctx.conn, scope.tenantOf(req, res), req.params.id);
    if (!c.badgeFileId) throw new ValidationError('This certification has no badge image.', { field: 'badge' }, { key: 'certifications.error.noBadge' });
    const image = await loadCourseImage(ctx.conn, badgeScope(c._id), c.badgeFileId, 'badge');
    res.setHeader('Cache-Control', 'private, max-age=3600');
    res.type(image.contentType).send(image.data);
  });
  return router;
}

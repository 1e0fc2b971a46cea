/**
 * Privacy requests (src/privacy, docs/privacy.md):
 * - a learner downloads their own data from their page: GET /app/<session>/learner/my-data.zip;
 * - the administrator exports or erases any learner's data on /admin/privacy, naming the platform
 *   (issuer) and the LMS user id (`sub`, shown on the teacher's roster and in the LMS).
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { createTranslator, pickLanguage } from '../i18n';
import { z } from 'zod';
import type { PdfDeps } from '../documents/certificate-pdf.service';
import { collectLearnerData, eraseLearner, recordExport, writeLearnerZip, type DataSubject } from '../privacy/learner-data.service';
import { privacyRequestModel } from '../privacy/privacy-request.model';
import type { LtiProvider } from '../lti/provider';
import { launchOf, requireRole } from './middleware/session';
import { parseAdminForm } from './validate';
import type { Views } from './views';

function zipName(subject: DataSubject, now: Date): string {
  const safe = subject.userId.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'learner';
  return `my-data_${safe}_${now.toISOString().slice(0, 10)}.zip`;
}

async function sendZip(deps: PdfDeps, subject: DataSubject, res: Response): Promise<void> {
  res.setHeader('Content-Type', 'application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="${zipName(subject, deps.now())}"`);
  res.setHeader('Cache-Control', 'no-store');
  await writeLearnerZip(deps, subject, res);
}

/** The learner's own export, under /app/:session (mounted with the other tool routes). */
export function learnerDataRouter(deps: PdfDeps): Router {
  const router = Router({ mergeParams: true });
  router.get('/learner/my-data.zip', requireRole('learner'), async (_req, res, next) => {
    try {
      const launch = launchOf(res);
      const subject = { issuer: launch.issuer, userId: launch.user.id };
      await recordExport(deps.conn, subject, { by: { kind: 'learner' }, now: deps.now() });
      await sendZip(deps, subject, res);
    } catch (err) {
      if (res.headersSent) return void res.destroy(err as Error);
      next(err);
    }
  });
  return router;
}

const SubjectSchema = z.object({
  issuer: z.string().trim().min(1, 'choose the platform').max(2000),
  userId: z.string().trim().min(1, 'give the LMS user id').max(256),
});
const EraseSchema = SubjectSchema.extend({ confirm: z.string().trim().max(256) });

export interface PrivacyAdminDeps {
  pdfs: PdfDeps;
  lti: Pick<LtiProvider, 'listPlatforms'>;
  views: Views;
  requireAdmin: RequestHandler;
}

/** The administrator's language: the browser's. */
const adminT = (req: Request) => createTranslator(pickLanguage(req.get('accept-language')));

/** /admin/privacy: export or erase a learner's data (behind the administrator check). */
export function privacyAdminRouter(deps: PrivacyAdminDeps): Router {
  const router = Router();
  const conn = deps.pdfs.conn;
  const admin = { kind: 'admin' as const, name: 'Administrator' };

  async function page(req: Request, res: Response, status: number, extra: Record<string, unknown> = {}): Promise<void> {
    // /admin pages speak the browser's language (there is no launch).
    const lang = pickLanguage(req.get('accept-language'));
    const [platforms, log] = await Promise.all([
      deps.lti.listPlatforms(),
      privacyRequestModel(conn).find({}).sort({ at: -1 }).limit(50).lean(),
    ]);
    const issuers = [...new Map(platforms.map((p) => [p.issuer, { issuer: p.issuer, name: p.name }])).values()];
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('html').send(
      deps.views.render('admin-privacy', {
        title: createTranslator(lang)('admin.privacy.title'),
        lang,
        issuers,
        log: log.map((l) => ({
          ...l,
          at: l.at.toISOString(),
          kindKey: `admin.privacy.kind.${l.kind}`,
          byKey: `admin.privacy.actor.${l.by?.kind ?? 'admin'}`,
          counts: l.counts ? JSON.stringify(l.counts) : '',
        })),
        ...extra,
      }),
    );
  }

  router.get('/admin/privacy', deps.requireAdmin, async (req, res, next) => {
    try {
      await page(req, res, 200);
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/privacy/export', deps.requireAdmin, async (req, res, next) => {
    try {
      const subject = parseAdminForm(SubjectSchema, req.body);
      await recordExport(conn, subject, { by: admin, now: deps.pdfs.now() });
      await sendZip(deps.pdfs, subject, res);
    } catch (err) {
      if (res.headersSent) return void res.destroy(err as Error);
      next(err);
    }
  });

  router.post('/admin/privacy/erase', deps.requireAdmin, async (req, res, next) => {
    try {
      const body = parseAdminForm(EraseSchema, req.body);
      const subject = { issuer: body.issuer, userId: body.userId };
      if (body.confirm !== body.userId) {
        await page(req, res, 422, { error: adminT(req)('admin.privacy.notConfirmed'), form: subject });
        return;
      }
      const found = await collectLearnerData(conn, subject, deps.pdfs.now());
      const stored = ['roster', 'grades', 'certificates', 'auditLog'].some((k) => (found.json[k] as unknown[]).length > 0);
      if (!stored) {
        await page(req, res, 404, { error: adminT(req)('admin.privacy.nothingStored', { userId: subject.userId, issuer: subject.issuer }), form: subject });
        return;
      }
      const result = await eraseLearner(conn, subject, { by: admin, now: deps.pdfs.now() });
      await page(req, res, 200, { erased: result });
    } catch (err) {
      next(err);
    }
  });

  return router;
}

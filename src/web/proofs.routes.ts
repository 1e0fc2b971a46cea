/**
 * External certifications' proofs inside a launch (R8):
 * - `GET|POST /certifications/:id/proof`: the learner's upload form and their earlier proofs;
 * - `GET /proofs`: the approvers' queue (teachers and administrators of this platform registration);
 * - `POST /proofs/:id/approve|reject`: the decision (409 when already decided);
 * - `GET /proofs/:id/file`: the file, inline, for its owner or an approver.
 * A learner never sees nor decides another learner's proof: every lookup is scoped to the
 * launch's registration and, for learners, to their own user id, and answers 404 otherwise.
 */
import { Router, type Request, type Response } from 'express';
import multer from 'multer';
import type { Actor } from '../certificates/audit.model';
import { certificationNames, decideProof, externalCertificationFor, learnerProofs, pendingProofs, proofFileFor, proofTooLarge, submitProof, type ExternalCertification } from '../certifications/external/proof.service';
import { PROOF_EXTENSIONS } from '../certifications/external/proof-file';
import { ValidationError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import type { Launch } from '../lti/launch';
import type { WebContext } from './context';
import { launchOf, requireRole } from './middleware/session';
import { ProofRejectBody, ProofSubmitBody } from './proofs/schema';
import { bodyOf, parseWith, validateBody } from './validate';

const BODY_MESSAGES = { invalid: 'proofs.invalidField' };

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1);

function tenantOf(launch: Launch) {
  return { issuer: launch.issuer, clientId: launch.clientId };
}

function actorOf(launch: Launch): Actor {
  return { kind: launch.role === 'teacher' ? 'teacher' : 'learner', userId: launch.user.id, name: launch.user.name };
}

export function proofsRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const limit = ctx.config.uploadMaxBytes;
  // one file, the date and nothing else; the whole file is checked in memory before anything is stored
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limit, files: 1, fields: 3, parts: 4 } }).single('file');

  const page = (res: Response) => {
    const launch = launchOf(res);
    const lang = pickLanguage(launch.locale);
    return { launch, lang, t: createTranslator(lang), base: `/app/${res.locals.session}` };
  };

  async function renderUpload(res: Response, cert: ExternalCertification, extra: Record<string, unknown> = {}, status = 200) {
    const { launch, lang, t, base } = page(res);
    const proofs = await learnerProofs(ctx.conn, cert, launch.user.id);
    res.status(status).type('html').send(
      ctx.views.render('proof-upload', {
        title: t('proofs.upload.title', { name: cert.name }),
        lang,
        certification: { id: String(cert._id), name: cert.name, overview: cert.overview, issuerName: cert.issuerName, recurring: cert.validity.kind === 'recurring' },
        action: `${base}/certifications/${String(cert._id)}/proof`,
        maxMegabytes: megabytes(limit),
        today: ctx.now().toISOString().slice(0, 10),
        pending: proofs.some((p) => p.status === 'pending'),
        proofs: proofs.map((p) => ({
          id: String(p._id),
          status: p.status,
          statusText: t(`proofs.status.${p.status}`),
          submittedAt: p.submittedAt,
          completedAt: p.completedAt,
          reason: p.reason,
          fileUrl: `${base}/proofs/${String(p._id)}/file`,
        })),
        ...extra,
      }),
    );
  }

  router.get('/certifications/:id/proof', requireRole('learner'), async (req, res) => {
    const { launch, t } = page(res);
    const cert = await externalCertificationFor(ctx.conn, tenantOf(launch), req.params.id, launch.user.id);
    await renderUpload(res, cert, { notice: req.query.notice === 'sent' ? t('proofs.upload.sent') : undefined });
  });

  router.post('/certifications/:id/proof', requireRole('learner'), (req: Request, res: Response, next) => {
    const { launch } = page(res);
    upload(req, res, async (uploadErr: unknown) => {
      try {
        if (uploadErr instanceof multer.MulterError && uploadErr.code === 'LIMIT_FILE_SIZE') throw proofTooLarge(limit);
        if (uploadErr instanceof multer.MulterError) throw new ValidationError('malformed proof form', { field: uploadErr.field ?? 'file' }, { key: 'proofs.error.form' });
        if (uploadErr) throw uploadErr;
        const cert = await externalCertificationFor(ctx.conn, tenantOf(launch), req.params.id, launch.user.id);
        if (!req.file) throw new ValidationError('no proof file', { field: 'file' }, { key: 'proofs.error.empty' });
        const { completedAt } = parseWith(ProofSubmitBody, req.body, BODY_MESSAGES, 'body');
        await submitProof(ctx.conn, {
          cert,
          learner: { userId: launch.user.id, name: launch.user.name ?? launch.user.id, email: launch.user.email },
          data: req.file.buffer,
          completedAt,
          now: ctx.now(),
          uploadMaxBytes: limit,
        });
        res.redirect(303, `/app/${res.locals.session}/certifications/${String(cert._id)}/proof?notice=sent`);
      } catch (err) {
        next(err);
      }
    });
  });

  router.get('/proofs', requireRole('teacher'), async (req, res) => {
    const { launch, lang, t, base } = page(res);
    const proofs = await pendingProofs(ctx.conn, tenantOf(launch));
    const nameOf = await certificationNames(ctx.conn, proofs.map((p) => p.certificationId));
    const notice = typeof req.query.notice === 'string' && ['approved', 'rejected'].includes(req.query.notice) ? t(`proofs.queue.${req.query.notice}`) : undefined;
    res.type('html').send(
      ctx.views.render('proofs-queue', {
        title: t('proofs.queue.title'),
        lang,
        notice,
        backUrl: `${base}/teacher`,
        proofs: proofs.map((p) => ({
          id: String(p._id),
          learnerName: p.learnerName,
          certification: nameOf.get(String(p.certificationId)) ?? '',
          completedAt: p.completedAt,
          submittedAt: p.submittedAt,
          type: PROOF_EXTENSIONS[p.contentType].toUpperCase(),
          fileUrl: `${base}/proofs/${String(p._id)}/file`,
          approveAction: `${base}/proofs/${String(p._id)}/approve`,
          rejectAction: `${base}/proofs/${String(p._id)}/reject`,
        })),
      }),
    );
  });

  const decide = (decision: 'approve' | 'reject') => async (req: Request, res: Response) => {
    const { launch } = page(res);
    const reason = decision === 'reject' ? bodyOf(res, ProofRejectBody).reason : undefined;
    await decideProof(ctx.conn, {
      tenant: tenantOf(launch),
      proofId: req.params.id,
      decision,
      reason,
      by: actorOf(launch),
      now: ctx.now(),
      random: ctx.random,
    });
    res.redirect(303, `/app/${res.locals.session}/proofs?notice=${decision === 'approve' ? 'approved' : 'rejected'}`);
  };
  router.post('/proofs/:id/approve', requireRole('teacher'), decide('approve'));
  router.post('/proofs/:id/reject', requireRole('teacher'), validateBody(ProofRejectBody, BODY_MESSAGES), decide('reject'));

  router.get('/proofs/:id/file', async (req, res) => {
    const { launch } = page(res);
    const { proof, stream } = await proofFileFor(ctx.conn, tenantOf(launch), req.params.id, { userId: launch.user.id, approver: launch.role === 'teacher' });
    // The file is someone's upload: shown inline, never sniffed into HTML, and nothing in it may run.
    res.setHeader('Content-Type', proof.contentType);
    res.setHeader('Content-Disposition', `inline; filename="proof-${String(proof._id)}.${PROOF_EXTENSIONS[proof.contentType]}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'");
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Length', String(proof.size));
    stream().on('error', () => res.destroy()).pipe(res);
  });

  return router;
}

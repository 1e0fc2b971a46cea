/**
 * One certificate inside a launch: `/app/:session/certificates/:id` (the page),
 * `…/:id.html` (the certificate itself, the same HTML the PDF is printed from) and `…/:id.pdf`
 * (the stored PDF). A learner opens only their own certificates, a teacher any certificate of
 * the launch's course; anything else is "not found", so a certificate's existence never leaks
 * across learners or courses (certificateForViewer).
 */
import { Router, type Response } from 'express';
import { certificateState } from '../certificates/certificate-state';
import { certificateForViewer } from '../certificates/certificate.queries';
import { definitionVisibility } from '../certificates/definition.service';
import { certificatePdf, documentFor, downloadName } from '../documents';
import { ConflictError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import { renderCertificateHtml } from '../render';
import { certificatePageView, hasPdf } from './certificate.view';
import { pdfFailure, sendCertificateHtml, sendPdf } from './certificate-response';
import type { WebContext } from './context';
import { launchOf } from './middleware/session';
import { credentialPanelView } from './credential-downloads.routes';

/** The launch, its language, and the certificate it asks for (404 unless it may see it). */
async function requestedCertificate(ctx: WebContext, res: Response, id: string) {
  const launch = launchOf(res);
  const lang = pickLanguage(launch.locale);
  const certificate = await certificateForViewer(ctx.conn, { courseId: launch.courseId, role: launch.role, userId: launch.user.id }, id);
  return { launch, lang, t: createTranslator(lang), certificate, audience: launch.role === 'teacher' ? ('teacher' as const) : ('learner' as const) };
}

/** How long after the claim the certificate page confirms it. */
const JUST_CLAIMED_MS = 2 * 60_000;

export function certificateRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/certificates/:id.pdf', async (req, res) => {
    const { lang, t, certificate: c, audience } = await requestedCertificate(ctx, res, req.params.id);
    if (!hasPdf(c, ctx.now())) throw new ConflictError(t('learner.certificate.noPdf'), { state: certificateState(c, ctx.now()) });
    const pdf = await certificatePdf({ conn: ctx.conn, renderer: ctx.renderer, publicUrl: ctx.config.publicUrl, now: ctx.now }, c, lang).catch((err: unknown) => {
      throw pdfFailure(err, t, audience);
    });
    await sendPdf(res, pdf, downloadName(c));
  });

  router.get('/certificates/:id.html', async (req, res) => {
    const { lang, t, certificate: c, audience } = await requestedCertificate(ctx, res, req.params.id);
    const html = await documentFor(ctx.conn, c, { publicUrl: ctx.config.publicUrl, now: ctx.now(), language: lang, watermark: true })
      .then(renderCertificateHtml)
      .catch((err: unknown) => {
        throw pdfFailure(err, t, audience);
      });
    sendCertificateHtml(res, html);
  });

  router.get('/certificates/:id', async (req, res) => {
    const { launch, lang, certificate } = await requestedCertificate(ctx, res, req.params.id);
    const definition = await definitionVisibility(ctx.conn, certificate.definitionId);
    const view = certificatePageView(ctx, { session: res.locals.session!, launch, certificate, definition, now: ctx.now() });
    const credential = await credentialPanelView(ctx, res.locals.session!, certificate, launch);
    // The learner just got it (POST /learner/claim leads here): the page says so and takes the focus.
    const claimed = launch.role === 'learner' && certificate.status === 'active' && ctx.now().getTime() - certificate.issuedAt.getTime() < JUST_CLAIMED_MS;
    res.type('html').send(ctx.views.render('certificate', { ...view, credential, lang, claimed }));
  });

  return router;
}

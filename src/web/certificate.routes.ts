/**
 * One certificate inside a launch: `/app/:session/certificates/:id` (the page),
 * `…/:id.html` (the certificate itself, the same HTML the PDF is printed from) and `…/:id.pdf`
 * (the stored PDF). A learner opens only their own certificates, a teacher any certificate of
 * the launch's course; anything else is "not found", so a certificate's existence never leaks
 * across learners or courses (certificateForViewer).
 *
 * The PDF has a route of its own, mounted ahead of the app's other middleware (app.ts): a
 * download needs the session, the permission and the bytes, nothing else (#13).
 */
import { Router, type RequestHandler, type Response } from 'express';
import type { Connection } from 'mongoose';
import { certificateState } from '../certificates/certificate-state';
import { certificateForViewer, type CertificateViewer, type IssueDoc } from '../certificates/certificate.queries';
import { definitionVisibility } from '../certificates/definition.service';
import { cachedViewerAccess, rememberViewerAccess, viewerAccessEpoch } from '../certificates/viewer-access.cache';
import { certificatePdf, documentFor, downloadName } from '../documents';
import { ConflictError } from '../errors';
import { createTranslator, pickLanguage } from '../i18n';
import type { Launch } from '../lti/launch';
import { renderCertificateHtml } from '../render';
import { certificatePageView, hasPdf } from './certificate.view';
import { pdfFailure, sendCertificateHtml, sendPdf } from './certificate-response';
import type { WebContext } from './context';
import { launchOf, loadSession } from './middleware/session';
import { credentialPanelView } from './credential-downloads.routes';

const viewerOf = (launch: Launch): CertificateViewer => ({ courseId: launch.courseId, role: launch.role, userId: launch.user.id });

/** certificateForViewer, remembered for the PDF download that usually follows (viewer-access.cache.ts). */
async function viewableCertificate(conn: Connection, viewer: CertificateViewer, id: string): Promise<IssueDoc> {
  const epoch = viewerAccessEpoch(conn);
  const certificate = await certificateForViewer(conn, viewer, id);
  rememberViewerAccess(conn, viewer, certificate, epoch);
  return certificate;
}

/** The launch, its language, and the certificate it asks for (404 unless it may see it). */
async function requestedCertificate(ctx: WebContext, res: Response, id: string) {
  const launch = launchOf(res);
  const lang = pickLanguage(launch.locale);
  const certificate = await viewableCertificate(ctx.conn, viewerOf(launch), id);
  return { launch, lang, t: createTranslator(lang), certificate, audience: launch.role === 'teacher' ? ('teacher' as const) : ('learner' as const) };
}

/** The stored PDF's path, for app.ts to mount ahead of everything a download does not need. */
export const CERTIFICATE_PDF_PATH = '/app/:session/certificates/:id.pdf';

/**
 * GET `/app/:session/certificates/:id.pdf`: the session (from memory, src/lti/session.service.ts),
 * the viewer's permission (from memory when this viewer saw this certificate in the last minute on
 * this instance, else one database command), then the stored bytes with their length and ETag,
 * or 304 to a browser that has them. Only a first download renders.
 */
export function certificatePdfDownload(ctx: WebContext): RequestHandler[] {
  const download: RequestHandler = async (req, res) => {
    const launch = launchOf(res);
    const viewer = viewerOf(launch);
    const id = String(req.params.id);
    const c = cachedViewerAccess(ctx.conn, viewer, id) ?? (await viewableCertificate(ctx.conn, viewer, id));
    const lang = pickLanguage(launch.locale);
    if (!hasPdf(c, ctx.now())) {
      throw new ConflictError(createTranslator('en')('learner.certificate.noPdf'), { state: certificateState(c, ctx.now()) }, { key: 'learner.certificate.noPdf' });
    }
    const pdf = await certificatePdf({ conn: ctx.conn, renderer: ctx.renderer, publicUrl: ctx.config.publicUrl, now: ctx.now }, c, lang).catch((err: unknown) => {
      throw pdfFailure(err, createTranslator(lang), launch.role === 'teacher' ? 'teacher' : 'learner');
    });
    await sendPdf(res, pdf, downloadName(c));
  };
  return [loadSession(ctx.conn, ctx.now), download];
}

/** How long after the claim the certificate page confirms it. */
const JUST_CLAIMED_MS = 2 * 60_000;

export function certificateRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

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

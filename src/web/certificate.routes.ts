/**
 * One certificate inside a launch: `/app/:session/certificates/:id` (the page),
 * `…/:id.html` (the certificate itself, the same HTML the PDF is printed from) and `…/:id.pdf`
 * (the stored PDF). A learner opens only their own certificates, a teacher any certificate of
 * the launch's course; anything else is "not found", so a certificate's existence never leaks
 * across learners or courses.
 */
import { pipeline } from 'node:stream/promises';
import { Router, type Response } from 'express';
import type { Connection } from 'mongoose';
import { definitionModel } from '../certificates/definition.model';
import type { IssueDoc } from '../certificates/issue.model';
import { certificateState } from '../certificates/certificate-state';
import { getCertificate } from '../certificates/certificate.queries';
import { CertificateUnavailableError, certificatePdf, documentFor, downloadName, type CertificatePdf } from '../documents';
import { AppError, ConflictError, NotFoundError } from '../errors';
import { createTranslator, pickLanguage, type Translator } from '../i18n';
import type { Launch } from '../lti/launch';
import { createLogger } from '../logger';
import { certificateHtmlCsp, renderCertificateHtml } from '../render';
import type { WebContext } from './context';
import { certificateSummary } from './learner.routes';
import { launchOf } from './middleware/session';

const log = createLogger('web:certificate');

/** The certificate, if this launch may see it; NotFoundError otherwise (never "forbidden": that would confirm it exists). */
export async function certificateForLaunch(conn: Connection, launch: Launch, id: string, t: Translator): Promise<IssueDoc> {
  try {
    const c = await getCertificate(conn, launch.courseId, id);
    if (launch.role === 'teacher' || (launch.role === 'learner' && c.userId === launch.user.id)) return c;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  throw new NotFoundError(t('learner.certificate.notFound'), { what: 'certificate' });
}

/**
 * What a failed PDF looks like to whoever asked. A teacher sees the cause (they can fix the
 * template); a learner or a visitor sees that the PDF cannot be made right now — never a blank
 * or half document.
 */
export function pdfFailure(err: unknown, t: Translator, audience: 'teacher' | 'learner' | 'public'): unknown {
  const cause = err instanceof AppError ? err.code : 'internal_error';
  log.warn(`certificate PDF failed (${cause})`, err);
  if (audience === 'teacher' && err instanceof AppError) return err;
  return new CertificateUnavailableError(t('learner.certificate.pdfUnavailable'), { cause });
}

/** Streams a PDF as a download with its length, so a cut-off transfer is never taken for a whole file. */
export async function sendPdf(res: Response, pdf: CertificatePdf, fileName: string, disposition: 'attachment' | 'inline' = 'attachment'): Promise<void> {
  res.status(200);
  res.type('application/pdf');
  res.setHeader('Content-Length', String(pdf.length));
  res.attachment(fileName);
  if (disposition === 'inline') res.setHeader('Content-Disposition', String(res.getHeader('Content-Disposition')).replace(/^attachment/, 'inline'));
  res.setHeader('X-Certificate-Pdf', pdf.rendered ? 'rendered' : 'stored');
  try {
    await pipeline(pdf.open(), res);
  } catch (err) {
    // Headers are gone; breaking the connection is the only honest answer left.
    res.destroy(err instanceof Error ? err : undefined);
  }
}

/** Sends a certificate's standalone HTML with the CSP its fitting script needs. */
export function sendCertificateHtml(res: Response, html: string): void {
  res.setHeader('Content-Security-Policy', certificateHtmlCsp());
  res.type('html').send(html);
}

/** Whether a certificate in this state is handed out as a PDF. */
export function hasPdf(c: Pick<IssueDoc, 'status' | 'expiresAt'>, now: Date): boolean {
  const state = certificateState(c, now);
  return state === 'active' || state === 'expired';
}

export function certificateRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/certificates/:id.pdf', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const lang = pickLanguage(launch.locale);
      const t = createTranslator(lang);
      const c = await certificateForLaunch(ctx.conn, launch, req.params.id, t);
      if (!hasPdf(c, ctx.now())) throw new ConflictError(t('learner.certificate.noPdf'), { state: certificateState(c, ctx.now()) });
      let pdf: CertificatePdf;
      try {
        pdf = await certificatePdf({ conn: ctx.conn, renderer: ctx.renderer, publicUrl: ctx.config.publicUrl, now: ctx.now }, c, lang);
      } catch (err) {
        throw pdfFailure(err, t, launch.role === 'teacher' ? 'teacher' : 'learner');
      }
      await sendPdf(res, pdf, downloadName(c));
    } catch (err) {
      next(err);
    }
  });

  router.get('/certificates/:id.html', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const lang = pickLanguage(launch.locale);
      const t = createTranslator(lang);
      const c = await certificateForLaunch(ctx.conn, launch, req.params.id, t);
      let html: string;
      try {
        const doc = await documentFor(ctx.conn, c, { publicUrl: ctx.config.publicUrl, now: ctx.now(), language: lang, watermark: true });
        html = await renderCertificateHtml(doc);
      } catch (err) {
        throw pdfFailure(err, t, launch.role === 'teacher' ? 'teacher' : 'learner');
      }
      sendCertificateHtml(res, html);
    } catch (err) {
      next(err);
    }
  });

  router.get('/certificates/:id', async (req, res, next) => {
    try {
      const launch = launchOf(res);
      const session = res.locals.session!;
      const lang = pickLanguage(launch.locale);
      const t = createTranslator(lang);
      const c = await certificateForLaunch(ctx.conn, launch, req.params.id, t);
      const now = ctx.now();
      const definition = await definitionModel(ctx.conn).findById(c.definitionId, { public: 1 }).lean();
      const summary = certificateSummary(ctx, session, c, now, definition);
      res.type('html').send(
        ctx.views.render('certificate', {
          title: c.title,
          lang,
          session,
          launch,
          teacher: launch.role === 'teacher',
          backUrl: `/app/${session}/${launch.role === 'teacher' ? 'teacher' : 'learner'}`,
          certificate: {
            ...summary,
            learnerName: c.learnerName,
            courseTitle: c.courseTitle,
            issuerName: c.issuerName,
            revokedReason: launch.role === 'teacher' ? c.revokedReason ?? null : null,
            htmlUrl: `${summary.viewUrl}.html`,
            landscape: c.template.orientation === 'landscape',
          },
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  return router;
}

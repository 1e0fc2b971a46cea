/**
 * Sending a certificate as a PDF or as its standalone HTML, and what a failed PDF looks like to
 * whoever asked. Shared by the in-launch certificate pages, the template preview and the public
 * verification page.
 */
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { CertificateUnavailableError, type CertificatePdf } from '../documents';
import { AppError } from '../errors';
import type { Translator } from '../i18n';
import { createLogger } from '../logger';
import { certificateHtmlCsp } from '../render';

const log = createLogger('web:certificate');

/**
 * What a failed PDF looks like to whoever asked. A teacher sees the cause (they can fix the
 * template); a learner or a visitor sees that the PDF cannot be made right now — never a blank
 * or half document.
 */
export function pdfFailure(err: unknown, t: Translator, audience: 'teacher' | 'learner' | 'public'): unknown {
  const cause = err instanceof AppError ? err.code : 'internal_error';
  log.warn(`certificate PDF failed (${cause})`, err);
  if (audience === 'teacher' && err instanceof AppError) return err;
  return new CertificateUnavailableError(t('learner.certificate.pdfUnavailable'), { cause }, { key: 'learner.certificate.pdfUnavailable' });
}

/**
 * Streams a PDF as a download with its length, so a cut-off transfer is never taken for a whole
 * file. A stored PDF never changes: its file id is its ETag, and a browser that has it gets 304.
 * `private, no-cache`: kept in the browser's own cache only, and revalidated on every use (the
 * 304 still passes the viewer's permission check first).
 */
export async function sendPdf(res: Response, pdf: CertificatePdf, fileName: string, disposition: 'attachment' | 'inline' = 'attachment'): Promise<void> {
  res.setHeader('ETag', `"${pdf.fileId}"`);
  res.setHeader('Cache-Control', 'private, no-cache');
  if (res.req.fresh) {
    res.status(304).end();
    return;
  }
  res.status(200);
  res.type('application/pdf');
  res.setHeader('Content-Length', String(pdf.length));
  res.attachment(fileName);
  if (disposition === 'inline') res.setHeader('Content-Disposition', String(res.getHeader('Content-Disposition')).replace(/^attachment/, 'inline'));
  res.setHeader('X-Certificate-Pdf', pdf.rendered ? 'rendered' : 'stored');
  const bytes = pdf.bytes;
  if (bytes) {
    res.end(bytes);
    return;
  }
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

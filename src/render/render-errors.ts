/**
 * Errors of the certificate renderer. A route turns them into a page or JSON like any AppError;
 * the teacher's preview shows `message` (which names the cause) and `details.field` when known.
 */
import { AppError } from '../errors';

/** The certificate could not be drawn from its data (a broken image, text that does not fit, a template fault). */
export class CertificateTemplateError extends AppError {
  override readonly status = 422;
  override readonly code = 'certificate_template_error';
}

/** Chromium did not finish in time; nothing was produced (no partial PDF is ever returned). */
export class RenderTimeoutError extends AppError {
  override readonly status = 504;
  override readonly code = 'render_timeout';
}

/** The browser could not be started (missing Chromium, bad path), or it crashed during a render. */
export class RendererUnavailableError extends AppError {
  override readonly status = 503;
  override readonly code = 'renderer_unavailable';
}

/** Chromium produced something other than the expected document (e.g. a certificate spilled onto two pages). */
export class RenderFailedError extends AppError {
  override readonly status = 500;
  override readonly code = 'render_failed';
}

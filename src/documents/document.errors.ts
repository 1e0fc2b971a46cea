/**
 * Errors of the document services, beside the shared ones in src/errors.ts. Messages are
 * English defaults; an error with a message key is shown in the viewer's language by the error
 * handler (`userMessage`), and `code` and `details` never change.
 */
import { AppError, PayloadTooLargeError, UnsupportedMediaTypeError, type MessageRef } from '../errors';

/**
 * A learner (or a visitor of the verification page) asked for a PDF that could not be made.
 * Nothing half-made is ever sent: the person gets this page instead, and `details.cause` keeps
 * the renderer's code for the log and the teacher.
 */
export class CertificateUnavailableError extends AppError {
  override readonly status = 503;
  override readonly code = 'certificate_unavailable';
}

/** An uploaded image is larger than the limit (`details.limitBytes`). */
export class ImageTooLargeError extends PayloadTooLargeError {
  constructor(message: string, readonly limitBytes: number, readonly sizeBytes?: number, translated?: MessageRef) {
    super(message, { limitBytes, ...(sizeBytes === undefined ? {} : { sizeBytes }) }, translated);
  }
}

/** An uploaded file is not a PNG, JPEG or WebP image, whatever its name or declared type says. */
export class ImageTypeError extends UnsupportedMediaTypeError {
  constructor(message: string, readonly accepted: readonly string[], translated?: MessageRef) {
    super(message, { accepted: accepted.join(', ') }, translated);
  }
}

/**
 * An uploaded image declares more pixels than IMAGE_LIMITS allow (a small file can decode to
 * gigabytes), or a header from which its size cannot be read. 422: the file is an image, but
 * not one we take.
 */
export class ImageDimensionsError extends AppError {
  override readonly status = 422;
  override readonly code = 'image_too_many_pixels';
}

/** A finished export was kept for a day and has been deleted since. */
export class ExportGoneError extends AppError {
  override readonly status = 410;
  override readonly code = 'export_expired';
}

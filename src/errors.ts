/**
 * Typed errors. Each carries an HTTP status and a stable machine code; the web error handler
 * renders them as a page or JSON. Code branches on `instanceof` or `code`, never on messages.
 * `message` is written for the person who sees it (learner, teacher or administrator).
 */
export class AppError extends Error {
  readonly status: number = 500;
  readonly code: string = 'internal_error';
  /** Optional details shown to the user (e.g. the field that is wrong). */
  readonly details?: Record<string, unknown>;

  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class ValidationError extends AppError {
  override readonly status = 400;
  override readonly code = 'validation_error';
}

export class UnauthorizedError extends AppError {
  override readonly status = 401;
  override readonly code = 'unauthorized';
}

export class ForbiddenError extends AppError {
  override readonly status = 403;
  override readonly code = 'forbidden';
}

export class NotFoundError extends AppError {
  override readonly status = 404;
  override readonly code = 'not_found';
}

export class ConflictError extends AppError {
  override readonly status = 409;
  override readonly code = 'conflict';
}

export class PayloadTooLargeError extends AppError {
  override readonly status = 413;
  override readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends AppError {
  override readonly status = 415;
  override readonly code = 'unsupported_media_type';
}

export class RateLimitedError extends AppError {
  override readonly status = 429;
  override readonly code = 'rate_limited';
}

/** A platform (LMS) service answered badly or refused: the message says what to change there. */
export class PlatformError extends AppError {
  override readonly status = 502;
  override readonly code = 'platform_error';
}

export class ServiceUnavailableError extends AppError {
  override readonly status = 503;
  override readonly code = 'service_unavailable';
}

/**
 * The one error handler: AppError subclasses become a page or JSON with their status and code;
 * anything else is logged and shown as a generic 500 without internals.
 */
import type { ErrorRequestHandler, Request } from 'express';
import { AppError, userMessage } from '../../errors';
import { createTranslator, pickLanguage } from '../../i18n';
import { createLogger } from '../../logger';
import type { Views } from '../views';

const log = createLogger('web:error');

/**
 * Driver errors that mean "MongoDB is unreachable right now": the request is answered 503 with
 * Retry-After (the driver reconnects by itself; see src/db/connect.ts), not a 500 that looks like a bug.
 */
const DATABASE_UNAVAILABLE = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

function isDatabaseUnavailable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && DATABASE_UNAVAILABLE.has((err as { name?: string }).name ?? '');
}

/** JSON for API calls and scripts; a page for people. */
export function wantsJson(req: Request): boolean {
  if (req.path.startsWith('/api/') || req.path.includes('/api/') || req.path.endsWith('.json')) return true;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

export function errorHandler(views: Views): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // The launch's language, else the browser's (an expired session, /admin, a refused launch).
    const lang = pickLanguage(res.locals.launch?.locale, req.get('accept-language'));
    const t = createTranslator(lang);
    let status = 500;
    let code = 'internal_error';
    let message = t('errors.internal_error');
    let details: Record<string, unknown> | undefined;
    if (err instanceof AppError) {
      ({ status, code } = err);
      // An error without a message key carries English for logs; a viewer in another language
      // reads the friendly text of its code in their own language instead of mixed languages.
      message = err.messageKey || lang === 'en' || !t.has(`errors.${code}`) ? userMessage(err, t) : t(`errors.${code}`);
      details = err.details;
    } else if (err && typeof err === 'object' && 'type' in err && (err as { type: string }).type === 'entity.too.large') {
      status = 413;
      code = 'payload_too_large';
      message = t('errors.payload_too_large');
    } else if (err && typeof err === 'object' && 'type' in err && (err as { type: string }).type === 'entity.parse.failed') {
      status = 400;
      code = 'validation_error';
      message = t('errors.invalid_json');
    } else if (isDatabaseUnavailable(err)) {
      status = 503;
      code = 'service_unavailable';
      message = t('errors.service_unavailable');
      log.warn(`${req.method} ${req.path}: database unavailable (${(err as Error).name})`);
      if (!res.headersSent) res.setHeader('Retry-After', '10');
    } else {
      log.error(`${req.method} ${req.path}`, err);
    }
    if (res.headersSent) return;
    if (wantsJson(req)) {
      res.status(status).json({ error: { code, message, ...(details ? { details } : {}) } });
      return;
    }
    res
      .status(status)
      .type('html')
      .send(views.render('error', { title: t.has(`app.errorTitle.${code}`) ? t(`app.errorTitle.${code}`) : t('common.errorTitle'), lang, status, code, message, details }));
  };
}

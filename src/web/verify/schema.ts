/** The public verification page's query (validated by src/web/validate.ts). */
import { z } from 'zod';
import type { ValidationMessages } from '../validate';

/**
 * GET /verify?code=…: the code as typed. Lenient on purpose: anything that is not text is no
 * code (the form shows again), and other parameters (a QR reader's tracking tags) are ignored.
 */
export const VerifyQuery = z.object({ code: z.preprocess((v) => (typeof v === 'string' ? v.trim() : ''), z.string()) });
export const VERIFY_MESSAGES: ValidationMessages = { invalid: 'verify.notFound' };

/** The public verification page's query (validated by src/web/validate.ts). */
import { z } from 'zod';
import type { ValidationMessages } from '../validate';

/**
 * GET /verify?code=…: the code as typed. Lenient on purpose: anything that is not text is no
 * code (the form shows again), and other parameters (a QR reader's tracking tags) are ignored.
 */
export const VerifyQuery = z.object({ code: z.preprocess((v) => (typeof v === 'string' ? v.trim() : ''), z.string()) });
export const VERIFY_MESSAGES: ValidationMessages = { invalid: 'verify.notFound' };

/** POST /verify/:code/name ("check a name"): the name the verifier was given, at most 200 characters. */
export const NameCheckBody = z.object({ name: z.string('is required').trim().min(1, 'is required').max(200, 'must be at most 200 characters') });
export const NAME_CHECK_MESSAGES: ValidationMessages = { invalid: 'verify.nameCheck.invalid' };

/** POST …/certificates/:id/name-choice: the checkbox "show my name" (absent = hide). */
export const NameChoiceBody = z.object({ showName: z.literal('on', 'must be on or absent').optional() });
export const NAME_CHOICE_MESSAGES: ValidationMessages = { invalid: 'verify.holder.invalid' };

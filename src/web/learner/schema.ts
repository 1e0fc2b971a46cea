/** Request bodies of the learner's pages (validated by src/web/validate.ts). */
import { z } from 'zod';
import type { ValidationMessages } from '../validate';

/** "Get your certificate": which certificate. */
export const ClaimBody = z.object({
  definitionId: z.string('must be a certificate id').trim().min(1, 'is required'),
  /** "Show my name to people who verify it" (src/credentials/holder-choice.service.ts); asked = the form had the question. */
  showName: z.literal('on').optional(),
  showNameAsked: z.literal('1').optional(),
});
export const CLAIM_MESSAGES: ValidationMessages = { invalid: 'learner.claim.invalid' };

/**
 * Errors of the certificate services, beside the shared ones in src/errors.ts.
 */
import { AppError } from '../errors';
import type { Reason } from './evaluate';

/** The learner does not (yet) meet the definition; `details.reasons` says why, as codes. */
export class NotEligibleError extends AppError {
  override readonly status = 403;
  override readonly code = 'not_eligible';
  constructor(readonly reasons: Reason[], scorePercent: number) {
    super('You do not meet the requirements for this certificate yet.', { reasons, scorePercent });
  }
}

/** The LMS sent no name for the learner, and a certificate without a name is worthless. */
export class LearnerNameUnknownError extends AppError {
  override readonly status = 409;
  override readonly code = 'learner_name_unknown';
  constructor(userId: string) {
    super(
      'The LMS did not share your name with this tool, so no certificate can be made out to you. Ask your teacher or LMS administrator to share names with the tool.',
      { userId },
      { key: 'learner.claim.nameUnknown' },
    );
  }
}

/** Request bodies and queries of the certification pages (validated by src/web/validate.ts). */
import { z } from 'zod';
import type { ValidationMessages } from '../validate';

export { CertificationForm } from '../../certifications/certification.schema';

export const CERTIFICATION_FORM_MESSAGES: ValidationMessages = { invalid: 'certifications.form.invalid', unknown: 'certifications.form.unknown' };

/** "My certifications": sort by relevance (pending first, then soonest to expire) or publication date. */
export const MyCertificationsQuery = z.object({ sort: z.enum(['relevance', 'published']).default('relevance') }).strict();

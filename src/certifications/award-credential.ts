/**
 * An awarded certification as the source of its Open Badges 3.0 credential (src/credentials):
 * like a course certificate's (certificateSource), everything comes from the award as issued,
 * the criteria in words from what it rests on.
 */
import type { CredentialSource } from '../credentials/credential-source';
import type { AwardDoc } from './award.model';

/** The badge colour of certifications (they have no template colour of their own). */
export const CERTIFICATION_ACCENT = '#1f5f8b';

const day = (d: Date) => d.toISOString().slice(0, 10);

/** How it was earned, in words (English, like the rest of the credential). */
export function awardCriteria(award: Pick<AwardDoc, 'kind' | 'basis' | 'name' | 'completedAt'>): string {
  if (award.kind === 'external') {
    return `Obtained elsewhere and awarded after an approver accepted the holder's proof, completed on ${day(award.completedAt)}.`;
  }
  const courses = award.basis.filter((b) => b.via !== 'proof').map((b) => `“${b.courseTitle}”`);
  const list = courses.length > 0 ? `: ${courses.join(', ')}` : '';
  return `Awarded for completing the required courses of the programme “${award.name}”${list}.`;
}

/** Whose name choice it is (src/credentials/holder-choice): one per (certification, learner), like a course certificate's per definition. */
export const awardHolderKey = (a: Pick<AwardDoc, 'certificationId' | 'userId'>) => ({ kind: 'certification' as const, definitionId: String(a.certificationId), userId: a.userId });

export function awardSource(award: AwardDoc): CredentialSource {
  return {
    kind: 'certification',
    sourceId: String(award._id),
    definitionId: String(award.certificationId),
    code: award.code,
    title: award.name,
    description: award.overview.trim() || `Certification “${award.name}”, issued by ${award.issuerName}.`,
    criteria: awardCriteria(award),
    holderName: award.learnerName,
    issuerName: award.issuerName,
    courseTitle: award.name,
    scorePercent: null,
    issuedAt: award.completedAt,
    expiresAt: award.expiresAt,
    accentColor: CERTIFICATION_ACCENT,
    status: award.status,
  };
}

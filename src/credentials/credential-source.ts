/**
 * The small shape a credential is built from, filled by whoever issues the record: course
 * certificates here (certificateSource), certifications by src/certifications. Everything the
 * credential says comes from it; the record itself is not read again.
 */
import type { IssueDoc } from '../certificates/issue.model';

export interface CredentialSource {
  kind: 'certificate' | 'certification';
  /** The record's id (an issued certificate's or certification's `_id`). */
  sourceId: string;
  /** The definition it was issued from: the achievement is one per definition. */
  definitionId: string;
  /** Its verification code (`XXXX-XXXX-XXXX-XXXX`): the credential's URL and the page's. */
  code: string;
  title: string;
  /** What the achievement is, in a sentence (e.g. the course). */
  description: string;
  /** The rule, in words: how it is earned. */
  criteria: string;
  holderName: string;
  issuerName: string;
  /** The learner's course, or the programme's name. */
  courseTitle: string;
  /** 0–100, or null when the score is not shown. */
  scorePercent: number | null;
  issuedAt: Date;
  expiresAt: Date | null;
  /** `#rrggbb` of the badge image. */
  accentColor: string;
  /** active / superseded / revoked: anything but active sets the status bit. */
  status: 'active' | 'superseded' | 'revoked';
}

function percentText(n: number): string {
  return `${Math.round(n * 100) / 100}%`;
}

/** The rule of an issued course certificate in words (English, like the rest of the credential). */
export function certificateCriteria(issue: Pick<IssueDoc, 'courseTitle' | 'evaluation'>): string {
  const e = issue.evaluation;
  const parts = [`Awarded in the course “${issue.courseTitle}” for a weighted score of at least ${percentText(e.thresholdPercent)} over its counted activities.`];
  if (e.requireAllGraded) parts.push('Every counted activity had to be graded.');
  const minimums = e.items.filter((i) => 'minimumPercent' in i && typeof (i as { minimumPercent?: unknown }).minimumPercent === 'number');
  if (minimums.length > 0) parts.push(`${minimums.length === 1 ? 'One activity has' : `${minimums.length} activities have`} a minimum score of their own.`);
  return parts.join(' ');
}

export function certificateSource(issue: IssueDoc): CredentialSource {
  return {
    kind: 'certificate',
    sourceId: String(issue._id),
    definitionId: String(issue.definitionId),
    code: issue.code,
    title: issue.title,
    description: `Course certificate of “${issue.courseTitle}”, issued by ${issue.issuerName}.`,
    criteria: certificateCriteria(issue),
    holderName: issue.learnerName,
    issuerName: issue.issuerName,
    courseTitle: issue.courseTitle,
    scorePercent: issue.template.showScore ? issue.scorePercent : null,
    issuedAt: issue.issuedAt,
    expiresAt: issue.expiresAt,
    accentColor: issue.template.accentColor,
    status: issue.status,
  };
}

/**
 * What a certificate is at a given moment (active, expired, superseded, revoked), and the pure
 * rules issuing shares with the pages: the learner's printed name, the expiry of a recurring
 * certificate.
 */
import type { LoadedMember } from '../grades/course-grades.service';
import type { IssueDoc } from './issue.model';

/** What the launch (or the roster) tells us about a learner. */
export interface LearnerInfo {
  userId: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
}


/** The name printed on a certificate: the freshest source that has one. */
export function resolveLearnerName(...sources: Array<Partial<LearnerInfo> | LoadedMember | null | undefined>): string | undefined {
  for (const s of sources) {
    if (!s) continue;
    const full = s.name?.trim();
    if (full) return full;
    const parts = [s.givenName, s.familyName].map((p) => p?.trim()).filter(Boolean);
    if (parts.length > 0) return parts.join(' ');
  }
  return undefined;
}

/** The date a recurring certificate expires: issue date plus whole months, clamped to the month's end (31 Jan + 1 = 28/29 Feb). */
export function addMonths(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

/** What a certificate's state is at `now`, for verification and the overview. */
export type CertificateState = 'active' | 'expired' | 'superseded' | 'revoked';

export function certificateState(c: Pick<IssueDoc, 'status' | 'expiresAt'>, now: Date): CertificateState {
  if (c.status === 'revoked') return 'revoked';
  if (c.status === 'superseded') return 'superseded';
  if (c.expiresAt && c.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

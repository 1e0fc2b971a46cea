/**
 * From an award to what the renderer draws (src/render): the certification's name as the
 * heading, its overview, type and completion date in the body, the courses it rests on, the
 * issuer, validity, the badge as the logo, and the code with its verification URL — the same
 * facts as the certification page and /verify/<code>.
 */
import type { Connection } from 'mongoose';
import { loadCourseImage } from '../documents/images.service';
import { verificationUrlOf } from '../documents/certificate-document.service';
import { createTranslator, type Language } from '../i18n';
import { TEXT_LIMITS, type CertificateDocument, type CertificateImage } from '../render';
import type { AwardDoc } from './award.model';
import { badgeScope } from './certification.service';

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** "Recurring: valid 12 months from completion" / "Perpetual". */
export function typeText(t: ReturnType<typeof createTranslator>, validity: AwardDoc['validity']): string {
  return validity.kind === 'recurring' ? t('certifications.type.recurring', { months: validity.validForMonths }) : t('certifications.type.perpetual');
}

export async function badgeOf(conn: Connection, award: Pick<AwardDoc, 'certificationId' | 'badgeFileId'>): Promise<CertificateImage | null> {
  if (!award.badgeFileId) return null;
  return loadCourseImage(conn, badgeScope(award.certificationId), award.badgeFileId, 'badge').catch(() => null);
}

export async function awardDocument(conn: Connection, award: AwardDoc, opts: { publicUrl: string; language: Language }): Promise<CertificateDocument> {
  const t = createTranslator(opts.language);
  const lines = [
    award.overview,
    `${typeText(t, award.validity)} · ${t('certifications.page.completedOn', { date: award.completedAt })}`,
    t('certifications.pdf.forCompleting'),
  ].filter(Boolean);
  const courses = award.basis.map((b) => b.courseTitle).filter(Boolean).join(' · ') || award.name;
  return {
    design: 'classic',
    paper: 'A4',
    orientation: 'landscape',
    language: opts.language,
    title: cut(award.name, TEXT_LIMITS.title),
    bodyText: cut(lines.join('\n'), TEXT_LIMITS.bodyText),
    learnerName: cut(award.learnerName, TEXT_LIMITS.learnerName),
    courseTitle: cut(courses, TEXT_LIMITS.courseTitle),
    scorePercent: null,
    issuedAt: award.issuedAt,
    expiresAt: award.expiresAt,
    issuerName: cut(award.issuerName, TEXT_LIMITS.issuerName),
    accentColor: '#1f4e79',
    logo: await badgeOf(conn, award),
    verificationCode: award.code,
    verificationUrl: verificationUrlOf(opts.publicUrl, award.code),
  };
}

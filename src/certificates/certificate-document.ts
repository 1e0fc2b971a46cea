/**
 * From an issued certificate to what the renderer draws (src/render's CertificateDocument):
 * everything comes from the certificate's own snapshot, never from the current definition, so a
 * certificate looks the same every time it is rendered.
 */
import type { CertificateDocument, CertificateImage, CertificateLanguage } from '../render/certificate-document';
import type { IssueDoc } from './issue.model';
import { floorPercent } from './evaluate';
import { certificateState } from './issue.service';

export interface DocumentOptions {
  /** Public verification URL for this certificate's code (QR code and printed link). */
  verificationUrl: string;
  /** The viewer's language, used when the template says 'auto' (from the launch locale). */
  viewerLanguage: CertificateLanguage;
  /** Decides the watermark of a certificate that is no longer valid. */
  now: Date;
  logo?: CertificateImage | null;
  signature?: CertificateImage | null;
  timeZone?: string;
}

/** The renderer's input for an issued certificate (with a watermark when expired, superseded or revoked). */
export function certificateDocumentOf(issue: IssueDoc, opts: DocumentOptions): CertificateDocument {
  const t = issue.template;
  const state = certificateState(issue, opts.now);
  return {
    design: t.design,
    paper: t.paper,
    orientation: t.orientation,
    language: t.language === 'auto' ? opts.viewerLanguage : t.language,
    title: issue.title,
    bodyText: t.bodyText,
    learnerName: issue.learnerName,
    courseTitle: issue.courseTitle,
    // rounded down: a certificate never prints more than was earned
    scorePercent: t.showScore ? floorPercent(issue.scorePercent) : null,
    issuedAt: issue.issuedAt,
    expiresAt: issue.expiresAt,
    issuerName: issue.issuerName,
    accentColor: t.accentColor,
    logo: opts.logo ?? null,
    signature: opts.signature ?? null,
    signatoryName: t.signatoryName,
    verificationCode: issue.code,
    verificationUrl: opts.verificationUrl,
    watermark: state === 'active' ? null : state,
    timeZone: opts.timeZone,
  };
}

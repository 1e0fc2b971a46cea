/**
 * LinkedIn's "Add to profile" link for a certification (LinkedIn's Add to Profile for
 * Certifications, addtoprofile.linkedin.com): `https://www.linkedin.com/profile/add` with
 * `startTask=CERTIFICATION_NAME`, `name`, `organizationName` (or a LinkedIn `organizationId`,
 * which we do not know), `issueYear`/`issueMonth`, `expirationYear`/`expirationMonth`, `certUrl`
 * and `certId`. The learner lands on LinkedIn's form, filled in, and saves it there.
 */
export interface LinkedInCertification {
  name: string;
  organizationName: string;
  issuedAt: Date;
  expiresAt: Date | null;
  certUrl: string;
  certId: string;
}

export function linkedInAddToProfileUrl(c: LinkedInCertification): string {
  const p = new URLSearchParams({
    startTask: 'CERTIFICATION_NAME',
    name: c.name,
    organizationName: c.organizationName,
    issueYear: String(c.issuedAt.getUTCFullYear()),
    issueMonth: String(c.issuedAt.getUTCMonth() + 1),
  });
  if (c.expiresAt) {
    p.set('expirationYear', String(c.expiresAt.getUTCFullYear()));
    p.set('expirationMonth', String(c.expiresAt.getUTCMonth() + 1));
  }
  p.set('certUrl', c.certUrl);
  p.set('certId', c.certId);
  return `https://www.linkedin.com/profile/add?${p.toString()}`;
}

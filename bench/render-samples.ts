/**
 * Sample certificates for the previews, the benchmark and the render tests: realistic text, a
 * logo and a signature drawn as SVG, so nothing depends on files outside the repository.
 */
import type { CertificateDocument } from '../src/render/certificate-document';

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 360 96">
<path d="M48 6 L84 18 V46 C84 68 68 82 48 90 C28 82 12 68 12 46 V18 Z" fill="#1f3a5f"/>
<path d="M48 16 L74 25 V46 C74 62 63 73 48 79 C33 73 22 62 22 46 V25 Z" fill="none" stroke="#d9b45a" stroke-width="3"/>
<path d="M33 40 H63 M36 40 V62 M44 40 V62 M52 40 V62 M60 40 V62 M31 64 H65 M48 27 L66 38 H30 Z" stroke="#d9b45a" stroke-width="3" fill="none" stroke-linejoin="round"/>
<text x="100" y="46" font-family="Georgia, serif" font-size="30" font-weight="700" fill="#1f3a5f">Rivendell</text>
<text x="101" y="76" font-family="Georgia, serif" font-size="19" letter-spacing="4" fill="#8a6d2b">ACADEMY</text>
</svg>`;

const SIGNATURE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 90">
<path d="M12 62 C 30 20, 44 12, 46 30 C 48 48, 30 74, 26 70 C 22 64, 50 40, 66 42 C 78 44, 70 62, 80 60 C 92 58, 96 36, 104 40 C 110 44, 102 60, 112 60 C 124 60, 128 30, 140 24 C 150 20, 144 56, 152 60 C 160 64, 170 40, 180 42 C 190 44, 184 60, 196 58 C 212 54, 222 34, 236 36 C 250 38, 240 58, 256 56 C 268 54, 278 46, 290 40" fill="none" stroke="#1b2a4a" stroke-width="3.2" stroke-linecap="round" stroke-linejoin="round"/>
<path d="M60 76 C 120 70, 190 68, 262 72" fill="none" stroke="#1b2a4a" stroke-width="2" stroke-linecap="round"/>
</svg>`;

export const SAMPLE_LOGO = { contentType: 'image/svg+xml' as const, data: Buffer.from(LOGO_SVG) };
export const SAMPLE_SIGNATURE = { contentType: 'image/svg+xml' as const, data: Buffer.from(SIGNATURE_SVG) };

/** A complete certificate; override any field. */
export function sampleCertificate(overrides: Partial<CertificateDocument> = {}): CertificateDocument {
  return {
    design: 'classic',
    paper: 'A4',
    orientation: 'landscape',
    language: 'en',
    title: 'Certificate of Completion',
    learnerName: 'Bilbo Baggins',
    courseTitle: 'Digital Literacy for the Modern Hobbit',
    scorePercent: 92.5,
    issuedAt: new Date('2026-11-23T10:00:00Z'),
    expiresAt: new Date('2028-11-23T10:00:00Z'),
    issuerName: 'Rivendell Academy',
    accentColor: '#1f3a5f',
    logo: SAMPLE_LOGO,
    signature: SAMPLE_SIGNATURE,
    signatoryName: 'Elrond Half-elven, Head of School',
    verificationCode: '7KQ2-M9XD-4HNC-PW3T',
    verificationUrl: 'https://certificates.rivendell.example/verify/7KQ2-M9XD-4HNC-PW3T',
    ...overrides,
  };
}

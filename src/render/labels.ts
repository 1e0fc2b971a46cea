/**
 * The fixed words printed on a certificate, in each certificate language. The teacher's own
 * words (title, body text) come from the document; these are the labels around them.
 */
import type { CertificateLanguage, Watermark } from './certificate-document';

export interface CertificateLabels {
  certificateOfAchievement: string;
  presentedTo: string;
  defaultBody: string;
  issuedOn: string;
  validUntil: string;
  score: string;
  verificationCode: string;
  verifyAt: string;
  certified: string;
  logo: string;
  signature: string;
  certificates: string;
  watermark: Record<Watermark, string>;
}

export const LABELS: Record<CertificateLanguage, CertificateLabels> = {
  en: {
    certificateOfAchievement: 'Certificate of achievement',
    presentedTo: 'This certificate is presented to',
    defaultBody: 'for successfully completing',
    issuedOn: 'Issued on',
    validUntil: 'Valid until',
    score: 'Score',
    verificationCode: 'Verification code',
    verifyAt: 'Verify at',
    certified: 'Certified',
    logo: 'Logo',
    signature: 'Signature',
    certificates: 'Certificates',
    watermark: { superseded: 'Superseded', revoked: 'Revoked', expired: 'Expired' },
  },
  nl: {
    certificateOfAchievement: 'Certificaat van verdienste',
    presentedTo: 'Dit certificaat wordt uitgereikt aan',
    defaultBody: 'voor het met succes afronden van',
    issuedOn: 'Uitgereikt op',
    validUntil: 'Geldig tot',
    score: 'Score',
    verificationCode: 'Verificatiecode',
    verifyAt: 'Controleer op',
    certified: 'Gecertificeerd',
    logo: 'Logo',
    signature: 'Handtekening',
    certificates: 'Certificaten',
    watermark: { superseded: 'Vervangen', revoked: 'Ingetrokken', expired: 'Verlopen' },
  },
  fr: {
    certificateOfAchievement: 'Certificat de réussite',
    presentedTo: 'Ce certificat est décerné à',
    defaultBody: 'pour avoir suivi avec succès',
    issuedOn: 'Délivré le',
    validUntil: "Valable jusqu'au",
    score: 'Note',
    verificationCode: 'Code de vérification',
    verifyAt: 'Vérifier sur',
    certified: 'Certifié',
    logo: 'Logo',
    signature: 'Signature',
    certificates: 'Certificats',
    watermark: { superseded: 'Remplacé', revoked: 'Révoqué', expired: 'Expiré' },
  },
  de: {
    certificateOfAchievement: 'Leistungszertifikat',
    presentedTo: 'Dieses Zertifikat wird verliehen an',
    defaultBody: 'für den erfolgreichen Abschluss von',
    issuedOn: 'Ausgestellt am',
    validUntil: 'Gültig bis',
    score: 'Ergebnis',
    verificationCode: 'Prüfcode',
    verifyAt: 'Prüfen unter',
    certified: 'Zertifiziert',
    logo: 'Logo',
    signature: 'Unterschrift',
    certificates: 'Zertifikate',
    watermark: { superseded: 'Ersetzt', revoked: 'Widerrufen', expired: 'Abgelaufen' },
  },
  es: {
    certificateOfAchievement: 'Certificado de aprovechamiento',
    presentedTo: 'Este certificado se otorga a',
    defaultBody: 'por haber completado con éxito',
    issuedOn: 'Expedido el',
    validUntil: 'Válido hasta',
    score: 'Calificación',
    verificationCode: 'Código de verificación',
    verifyAt: 'Verificar en',
    certified: 'Certificado',
    logo: 'Logotipo',
    signature: 'Firma',
    certificates: 'Certificados',
    watermark: { superseded: 'Sustituido', revoked: 'Revocado', expired: 'Caducado' },
  },
};

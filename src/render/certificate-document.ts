/**
 * What a certificate shows: the data the renderer turns into HTML and PDF, and its validation.
 * Everything here is plain data; the renderer never reads the database.
 */
import { z } from 'zod';
import { ValidationError } from '../errors';

export type DesignId = 'classic' | 'modern';
export type Paper = 'A4' | 'Letter';
export type Orientation = 'landscape' | 'portrait';
export type CertificateLanguage = 'en' | 'nl' | 'fr' | 'de' | 'es';
export type Watermark = 'superseded' | 'revoked' | 'expired';

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/svg+xml', 'image/webp'] as const;
export type ImageContentType = (typeof IMAGE_TYPES)[number];

/** Largest logo or signature accepted (bytes). Upload routes should refuse larger files before this. */
export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

/** Text limits; the layouts are tested to fit every field at its limit on one page. */
export const TEXT_LIMITS = {
  title: 80,
  bodyText: 400,
  learnerName: 120,
  courseTitle: 160,
  issuerName: 120,
  signatoryName: 80,
} as const;

export interface CertificateImage {
  contentType: ImageContentType;
  data: Buffer;
}

export interface CertificateDocument {
  design: DesignId;
  paper: Paper;
  orientation: Orientation;
  language: CertificateLanguage;
  /** Heading of the certificate; empty means the language's "Certificate of achievement". */
  title: string;
  /** Replaces the default line before the course title ("for successfully completing"). Line breaks are kept. */
  bodyText?: string;
  learnerName: string;
  courseTitle: string;
  /** Shown when a number (already a percentage: 85.5 means 85.5%). */
  scorePercent?: number | null;
  issuedAt: Date;
  expiresAt?: Date | null;
  issuerName: string;
  /** `#rrggbb`. */
  accentColor: string;
  logo?: CertificateImage | null;
  signature?: CertificateImage | null;
  signatoryName?: string;
  verificationCode: string;
  /** http(s) URL that the QR code and the printed link open. */
  verificationUrl: string;
  /** For the on-screen view of a certificate that is no longer valid. */
  watermark?: Watermark | null;
  /** IANA zone in which issue and expiry dates are taken as calendar days (default UTC). */
  timeZone?: string;
}

/** The designs a teacher can pick, with their names in each language. */
export const DESIGNS: readonly { id: DesignId; name: { en: string; nl: string } }[] = Object.freeze([
  { id: 'classic', name: { en: 'Classic', nl: 'Klassiek' } },
  { id: 'modern', name: { en: 'Modern', nl: 'Modern' } },
]);

/** True when the bytes really are an image of the declared type (the upload's word is not enough). */
export function isImageOfType(data: Buffer, contentType: ImageContentType): boolean {
  switch (contentType) {
    case 'image/png':
      return data.length > 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    case 'image/jpeg':
      return data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff;
    case 'image/webp':
      return data.length > 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP';
    case 'image/svg+xml': {
      const head = data.subarray(0, 4096).toString('utf8');
      return /<svg[\s>]/i.test(head);
    }
  }
}

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') })
    .trim()
    .max(max, `must be at most ${max} characters`);
const required = (max: number) => text(max).min(1, 'is required');

const ImageSchema = z
  .object({
    contentType: z.enum(IMAGE_TYPES, `must be one of ${IMAGE_TYPES.join(', ')}`),
    data: z.instanceof(Buffer, { error: 'must be the image bytes (a Buffer)' }),
  })
  .superRefine((img, ctx) => {
    if (img.data.length === 0) ctx.addIssue({ code: 'custom', message: 'is empty', path: ['data'] });
    else if (img.data.length > MAX_IMAGE_BYTES)
      ctx.addIssue({ code: 'custom', message: `is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`, path: ['data'] });
    else if (!isImageOfType(img.data, img.contentType))
      ctx.addIssue({ code: 'custom', message: `is not a ${img.contentType} image`, path: ['data'] });
  });

/** Zones found valid (IANA has a few hundred): an export validates thousands of documents. */
const knownTimeZones = new Set<string>();
const validTimeZone = (tz: string) => {
  if (knownTimeZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    knownTimeZones.add(tz);
    return true;
  } catch {
    return false;
  }
};

const DocumentSchema = z.object({
  design: z.enum(['classic', 'modern'], 'must be classic or modern'),
  paper: z.enum(['A4', 'Letter'], 'must be A4 or Letter'),
  orientation: z.enum(['landscape', 'portrait'], 'must be landscape or portrait'),
  language: z.enum(['en', 'nl', 'fr', 'de', 'es'], 'must be en, nl, fr, de or es'),
  title: text(TEXT_LIMITS.title),
  bodyText: text(TEXT_LIMITS.bodyText).optional(),
  learnerName: required(TEXT_LIMITS.learnerName),
  courseTitle: required(TEXT_LIMITS.courseTitle),
  scorePercent: z.number().finite().min(0).max(1000).nullable().optional(),
  issuedAt: z.date('must be a valid date'),
  expiresAt: z.date('must be a valid date').nullable().optional(),
  issuerName: required(TEXT_LIMITS.issuerName),
  accentColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1a5fb4'),
  logo: ImageSchema.nullable().optional(),
  signature: ImageSchema.nullable().optional(),
  signatoryName: text(TEXT_LIMITS.signatoryName).optional(),
  verificationCode: z.string().regex(/^[A-Za-z0-9-]{4,64}$/, 'must be 4 to 64 letters, digits or dashes'),
  verificationUrl: z
    .string()
    .max(512, 'must be at most 512 characters (it has to fit in a QR code)')
    .regex(/^https?:\/\/[^\s]+$/i, 'must be an http(s) URL')
    .refine((u) => URL.canParse(u), 'must be an http(s) URL'),
  watermark: z.enum(['superseded', 'revoked', 'expired']).nullable().optional(),
  timeZone: z.string().refine(validTimeZone, 'must be an IANA time zone like Europe/Amsterdam').optional(),
});

/**
 * Checks a certificate before rendering and returns it cleaned (text trimmed).
 * Throws ValidationError naming the first bad field (`details.field`, e.g. "logo.data").
 */
export function validateDocument(doc: unknown): CertificateDocument {
  const parsed = DocumentSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || 'document';
    // the English names zod's reason too, for the log
    throw new ValidationError(`Certificate field ${field} ${issue.message}`, { field }, { key: 'certificates.render.fieldInvalid', params: { field } });
  }
  return parsed.data as CertificateDocument;
}

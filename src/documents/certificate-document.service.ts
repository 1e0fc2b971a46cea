/**
 * From an issued certificate (or a definition, for the teacher's preview) to the
 * CertificateDocument the renderer draws. Everything printed comes from the issue record, which
 * froze name, course, score and template at issue time; only the images are read here, from
 * GridFS, because a record holds their ids, not their bytes.
 */
import type { Connection, Types } from 'mongoose';
import { addMonths, certificateState } from '../certificates/certificate-state';
import type { DefinitionDoc } from '../certificates/definition.model';
import type { TemplateSettings } from '../certificates/definition.schema';
import type { IssueDoc } from '../certificates/issue.model';
import { AppError } from '../errors';
import { inEnglish } from '../i18n/english';
import { LANGUAGES, createTranslator, type Language } from '../i18n';
import { CertificateTemplateError, type CertificateDocument, type CertificateImage, type Watermark } from '../render';
import { imageLoader } from './images.service';

export type ImageLoad = (fileId: string, field: string) => Promise<CertificateImage>;

export interface DocumentOptions {
  /** Config.publicUrl: the verification URL printed and in the QR code is `${publicUrl}/verify/<code>`. */
  publicUrl: string;
  now: Date;
  /** The language for templates set to 'auto' (the viewer's, from the launch). Default English. */
  language?: Language;
  /**
   * On-screen views mark a certificate that is no longer valid (superseded, revoked, expired).
   * PDFs are the certificate as issued and never carry one.
   */
  watermark?: boolean;
  /** Loads template images; pass one `imageLoader` to share images across many documents. */
  loadImage?: ImageLoad;
}

/** The verification page of a code. */
export function verificationUrlOf(publicUrl: string, code: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/verify/${encodeURIComponent(code)}`;
}

/** The language a certificate is printed in: the template's, or the viewer's when 'auto'. */
export function documentLanguage(template: Pick<TemplateSettings, 'language'>, viewer: Language | undefined): Language {
  return template.language && template.language !== 'auto' ? template.language : (viewer ?? 'en');
}

/** The form's default title in every language ("Certificate of achievement", "Certificaat", …). */
let defaultTitles: Set<string> | undefined;

/**
 * The title as printed: the form's default title, left as the teacher found it, is printed in the
 * certificate's own language, so a Dutch learner's certificate never reads "CERTIFICATE OF
 * ACHIEVEMENT" above Dutch text. A title the teacher wrote is printed as written.
 */
export function printedTitle(title: string, language: Language): string {
  defaultTitles ??= new Set(LANGUAGES.map((l) => createTranslator(l)('teacher.form.defaultTitle').trim().toLowerCase()));
  return defaultTitles.has(title.trim().toLowerCase()) ? createTranslator(language)('teacher.form.defaultTitle') : title;
}

/** The watermark of an on-screen view at `now`, if any. */
export function watermarkOf(issue: Pick<IssueDoc, 'status' | 'expiresAt'>, now: Date): Watermark | null {
  const state = certificateState(issue, now);
  return state === 'active' ? null : state;
}

async function templateImages(
  template: TemplateSettings,
  load: ImageLoad,
): Promise<{ logo: CertificateImage | null; signature: CertificateImage | null }> {
  const one = async (fileId: string | undefined, field: 'logo' | 'signature') => {
    if (!fileId) return null;
    try {
      return await load(fileId, field);
    } catch (err) {
      // A template whose image has gone cannot be drawn as designed: say which image.
      if (err instanceof AppError && err.status === 404) {
        const ref = { key: 'certificates.render.imageMissing', params: { field } };
        throw new CertificateTemplateError(inEnglish(ref), { field }, ref);
      }
      throw err;
    }
  };
  const [logo, signature] = await Promise.all([one(template.logoFileId, 'logo'), one(template.signatureFileId, 'signature')]);
  return { logo, signature };
}

function fromTemplate(template: TemplateSettings, language: Language) {
  return {
    design: template.design,
    paper: template.paper,
    orientation: template.orientation,
    language,
    accentColor: template.accentColor,
    ...(template.bodyText ? { bodyText: template.bodyText } : {}),
    ...(template.signatoryName ? { signatoryName: template.signatoryName } : {}),
  };
}

/** The document of an issued certificate, exactly as it was issued. */
export async function documentFor(conn: Connection, issue: IssueDoc, opts: DocumentOptions): Promise<CertificateDocument> {
  const template = issue.template;
  const load = opts.loadImage ?? imageLoader(conn, issue.courseId);
  const images = await templateImages(template, load);
  return {
    ...fromTemplate(template, documentLanguage(template, opts.language)),
    title: printedTitle(issue.title, documentLanguage(template, opts.language)),
    learnerName: issue.learnerName,
    courseTitle: issue.courseTitle,
    scorePercent: template.showScore ? issue.scorePercent : null,
    issuedAt: issue.issuedAt,
    expiresAt: issue.expiresAt,
    issuerName: issue.issuerName,
    ...images,
    verificationCode: issue.code,
    verificationUrl: verificationUrlOf(opts.publicUrl, issue.code),
    watermark: opts.watermark ? watermarkOf(issue, opts.now) : null,
  };
}

/** The code printed on previews: clearly not a real one. */
export const SAMPLE_CODE = 'SAMP-LE00-0000-0000';

export interface SampleOptions {
  publicUrl: string;
  now: Date;
  language?: Language;
  courseId: string | Types.ObjectId;
  courseTitle: string;
  /** A real learner's name and current score, or the sample's. */
  learnerName: string;
  scorePercent: number;
  loadImage?: ImageLoad;
}

/**
 * The teacher's preview of a definition's template (saved or not yet saved): sample data, or a
 * chosen learner's name and current score, with the definition's current settings.
 */
export async function previewDocumentFor(
  conn: Connection,
  definition: Pick<DefinitionDoc, 'title' | 'issuerName' | 'template' | 'validity'>,
  opts: SampleOptions,
): Promise<CertificateDocument> {
  const template = definition.template;
  const images = await templateImages(template, opts.loadImage ?? imageLoader(conn, opts.courseId));
  const expiresAt =
    definition.validity.kind === 'recurring' ? addMonths(opts.now, definition.validity.validForMonths) : null;
  return {
    ...fromTemplate(template, documentLanguage(template, opts.language)),
    title: printedTitle(definition.title, documentLanguage(template, opts.language)),
    learnerName: opts.learnerName,
    courseTitle: opts.courseTitle,
    scorePercent: template.showScore ? opts.scorePercent : null,
    issuedAt: opts.now,
    expiresAt,
    issuerName: definition.issuerName,
    ...images,
    verificationCode: SAMPLE_CODE,
    verificationUrl: verificationUrlOf(opts.publicUrl, SAMPLE_CODE),
    watermark: null,
  };
}

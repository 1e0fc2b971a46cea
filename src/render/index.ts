/**
 * The certificate renderer: certificate data in, HTML and PDF out. No database, no HTTP; the
 * routes and jobs that store and serve certificates call these.
 */
export {
  DESIGNS,
  IMAGE_TYPES,
  MAX_IMAGE_BYTES,
  TEXT_LIMITS,
  isImageOfType,
  validateDocument,
  type CertificateDocument,
  type CertificateImage,
  type CertificateLanguage,
  type DesignId,
  type ImageContentType,
  type Orientation,
  type Paper,
  type Watermark,
} from './certificate-document';
export { certificateHtmlCsp, renderBatchHtml, renderCertificateHtml } from './certificate-html';
export { CHROMIUM_ARGS, SETUP_BROWSER_COMMAND, browserStatus, chromiumEnv, createPdfRenderer, findChromium, prepareBatch, type BrowserStatus, type PdfRenderer, type PdfRendererOptions, type PreparedBatch } from './pdf-renderer';
export { certificateFileName, exportPdf, exportZip, uniqueFileName, type ExportOptions, type ZipExportOptions } from './pdf-export';
export { PdfSource, PdfWriter, countPdfPages, splitPdf } from './pdf-assembler';
export { CertificateTemplateError, RenderFailedError, RenderTimeoutError, RendererUnavailableError } from './render-errors';
export { GLYPH_FIELDS, describeMissing, glyphProblems, type GlyphField, type GlyphProblem, type GlyphTexts } from './glyph-check';
export { missingGlyphs, type MissingGlyph } from './fonts';

/**
 * Certificate documents: from issued certificates to what people hold — the on-screen view, the
 * stored single PDF, "export all" files — plus the template images they show. Routes and jobs
 * call these; the drawing itself is src/render's.
 */
export {
  documentFor,
  previewDocumentFor,
  documentLanguage,
  printedTitle,
  verificationUrlOf,
  watermarkOf,
  SAMPLE_CODE,
  type DocumentOptions,
  type ImageLoad,
  type SampleOptions,
} from './certificate-document.service';
export { certificatePdf, downloadName, pdfKey, type CertificatePdf, type PdfDeps, type PdfMetadata } from './certificate-pdf.service';
export {
  ACCEPTED_IMAGE_TYPES,
  detectImageType,
  formatBytes,
  imageLimitBytes,
  imageLoader,
  loadCourseImage,
  storeImage,
  tooLargeError,
  wrongTypeError,
  type AcceptedImageType,
  type ImageKind,
} from './images.service';
export {
  EXPORT_JOB_KINDS,
  EXPORT_PDF_JOB,
  EXPORT_TTL_MS,
  EXPORT_ZIP_JOB,
  findExport,
  parseExportRequest,
  registerExportJobs,
  sweepExpiredExports,
  type ExportJobDeps,
  type ExportJobKind,
  type ExportJobs,
  type ExportMetadata,
  type ExportRequest,
  type ExportResult,
} from './export.job';
export { CertificateUnavailableError, ExportGoneError, ImageTooLargeError, ImageTypeError } from './document.errors';
export { openFile } from './gridfs';

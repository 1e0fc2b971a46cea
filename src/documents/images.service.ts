/**
 * Logos and signature images for certificate templates: checked, stored in GridFS (bucket
 * `images`) with the course they belong to, and read back only for that course.
 *
 * The type is decided by the file's first bytes, never by its name or the browser's word:
 * a "logo.png" that is really HTML or a script is refused. SVG is refused too: it can carry
 * scripts and external references, and we have no sanitiser we trust; PNG, JPEG and WebP cover
 * every logo a school has. The pixel size declared in the header is capped too (IMAGE_LIMITS in
 * image-dimensions.ts: 4000 × 4000 and 16 megapixels): a small file can decode to gigabytes.
 */
import type { Connection, Types } from 'mongoose';
import { NotFoundError, type MessageRef } from '../errors';
import { inEnglish } from '../i18n/english';
import { MAX_IMAGE_BYTES, type CertificateImage } from '../render';
import { ImageDimensionsError, ImageTooLargeError, ImageTypeError } from './document.errors';
import { IMAGE_LIMITS, dimensionProblem, readImageDimensions } from './image-dimensions';
import { fileObjectId, findFile, readFileBuffer, uploadBuffer } from './gridfs';

export type AcceptedImageType = 'image/png' | 'image/jpeg' | 'image/webp';
export const ACCEPTED_IMAGE_TYPES: readonly AcceptedImageType[] = ['image/png', 'image/jpeg', 'image/webp'];
export type ImageKind = 'logo' | 'signature';

export interface ImageMetadata {
  courseId: string;
  kind: ImageKind;
  contentType: AcceptedImageType;
  uploadedBy: { userId: string; name?: string };
  uploadedAt: Date;
}

/** The image type the bytes really are, or null for anything else (SVG included, see the file comment). */
export function detectImageType(data: Buffer): AcceptedImageType | null {
  if (data.length > 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.length > 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length > 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/**
 * The largest image we take: the administrator's upload limit, but never more than the renderer
 * accepts (a larger logo would only fail later, at the first certificate).
 */
export function imageLimitBytes(uploadMaxBytes: number): number {
  return Math.min(uploadMaxBytes, MAX_IMAGE_BYTES);
}

/** "2 MB", "500 KB", "1.5 MB": a size as people read it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

export function tooLargeError(limitBytes: number, sizeBytes?: number): ImageTooLargeError {
  const size = sizeBytes === undefined ? 'too large' : formatBytes(sizeBytes);
  const limit = formatBytes(limitBytes);
  // The teacher reads the message in their language, with the limit (and the file's size) named.
  const translated: MessageRef = sizeBytes === undefined
    ? { key: 'documents.upload.tooLarge', params: { limit } }
    : { key: 'documents.upload.tooLargeSize', params: { size, limit } };
  return new ImageTooLargeError(`The image is ${size}; the limit is ${limit}.`, limitBytes, sizeBytes, translated);
}

export function wrongTypeError(): ImageTypeError {
  return new ImageTypeError('This file is not a PNG, JPEG or WebP image. SVG and other files are not accepted.', ['PNG', 'JPEG', 'WebP'], { key: 'documents.upload.wrongType' });
}

export interface StoreImageOptions {
  courseId: string | Types.ObjectId;
  kind: ImageKind;
  data: Buffer;
  uploadedBy: { userId: string; name?: string };
  now: Date;
  /** Config.uploadMaxBytes. */
  uploadMaxBytes: number;
}

/** Checks and stores an image; returns its id (what `template.logoFileId` / `signatureFileId` hold). */
export async function storeImage(conn: Connection, opts: StoreImageOptions): Promise<{ fileId: string; contentType: AcceptedImageType; bytes: number }> {
  const limit = imageLimitBytes(opts.uploadMaxBytes);
  if (opts.data.length > limit) throw tooLargeError(limit, opts.data.length);
  const contentType = detectImageType(opts.data);
  if (!contentType) throw wrongTypeError();
  // the declared size, before anything decodes it (image-dimensions.ts)
  const dims = readImageDimensions(opts.data, contentType);
  if (!dims) {
    const ref = { key: 'certificates.image.unreadable' };
    throw new ImageDimensionsError(inEnglish(ref), { limits: IMAGE_LIMITS }, ref);
  }
  const problem = dimensionProblem(dims);
  if (problem) throw new ImageDimensionsError(inEnglish(problem), { width: dims.width, height: dims.height, limits: IMAGE_LIMITS }, problem);
  const metadata: ImageMetadata = {
    courseId: String(opts.courseId),
    kind: opts.kind,
    contentType,
    uploadedBy: opts.uploadedBy.name ? { userId: opts.uploadedBy.userId, name: opts.uploadedBy.name } : { userId: opts.uploadedBy.userId },
    uploadedAt: opts.now,
  };
  const id = await uploadBuffer(conn, 'images', `${opts.kind}${extensionOf(contentType)}`, opts.data, { ...metadata });
  return { fileId: id.toHexString(), contentType, bytes: opts.data.length };
}

function extensionOf(type: AcceptedImageType): string {
  return type === 'image/png' ? '.png' : type === 'image/jpeg' ? '.jpg' : '.webp';
}

/**
 * An image of this course. An id of another course's image, or one that does not exist, is a
 * NotFoundError (`details.field` names the template field when given), never a leak.
 */
export async function loadCourseImage(conn: Connection, courseId: string | Types.ObjectId, fileId: string, field?: string): Promise<CertificateImage> {
  const id = fileObjectId(fileId);
  const file = id ? await findFile<ImageMetadata>(conn, 'images', { _id: id, 'metadata.courseId': String(courseId) }) : null;
  if (!file || !file.metadata) {
    const ref = { key: 'certificates.image.missing', params: { field: field ?? 'image' } };
    throw new NotFoundError(inEnglish(ref), { what: 'image', ...(field ? { field } : {}) }, ref);
  }
  return { contentType: file.metadata.contentType, data: await readFileBuffer(conn, 'images', file._id) };
}

/** Loads images of one course, each once (an export of 1,000 certificates shares one logo). */
export function imageLoader(conn: Connection, courseId: string | Types.ObjectId): (fileId: string, field: string) => Promise<CertificateImage> {
  const cache = new Map<string, Promise<CertificateImage>>();
  return (fileId, field) => {
    let hit = cache.get(fileId);
    if (!hit) {
      hit = loadCourseImage(conn, courseId, fileId, field);
      hit.catch(() => cache.delete(fileId));
      cache.set(fileId, hit);
    }
    return hit;
  };
}

/**
 * Width and height of a PNG, JPEG or WebP image, read from its header alone (no decoding).
 *
 * A small file can declare an enormous picture: a 1.5 MB PNG of 20000 × 20000 pixels decodes to
 * 1.6 GB of pixels, and its preview stalled the shared Chromium for 30 s. Uploads are therefore
 * checked against IMAGE_LIMITS before they are stored.
 */
import type { MessageRef } from '../errors';

/** The largest logo or signature accepted (a certificate page is ~3500 px wide at 300 dpi). */
export const IMAGE_LIMITS = { maxWidth: 4000, maxHeight: 4000, maxPixels: 16_000_000 } as const;

export interface ImageDimensions {
  width: number;
  height: number;
}

/** The dimensions the header declares, or null when the header cannot be read (damaged file). */
export function readImageDimensions(data: Buffer, type: 'image/png' | 'image/jpeg' | 'image/webp'): ImageDimensions | null {
  if (type === 'image/png') return pngDimensions(data);
  if (type === 'image/jpeg') return jpegDimensions(data);
  return webpDimensions(data);
}

/** PNG: the first chunk is IHDR (width and height as big-endian 32-bit at bytes 16 and 20). */
function pngDimensions(d: Buffer): ImageDimensions | null {
  if (d.length < 24 || d.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: d.readUInt32BE(16), height: d.readUInt32BE(20) };
}

/**
 * JPEG: walk the markers to the first start-of-frame (SOF0–SOF15 except DHT C4, JPG C8, DAC CC),
 * whose payload holds precision, height, width.
 */
function jpegDimensions(d: Buffer): ImageDimensions | null {
  let i = 2;
  while (i + 9 < d.length) {
    if (d[i] !== 0xff) return null;
    const marker = d[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    const length = d.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: d.readUInt16BE(i + 5), width: d.readUInt16BE(i + 7) };
    }
    if (marker === 0xda || length < 2) return null; // image data before any frame header
    i += 2 + length;
  }
  return null;
}

/** WebP: a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk right after the RIFF header. */
function webpDimensions(d: Buffer): ImageDimensions | null {
  if (d.length < 30) return null;
  const chunk = d.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') {
    if (d[23] !== 0x9d || d[24] !== 0x01 || d[25] !== 0x2a) return null;
    return { width: d.readUInt16LE(26) & 0x3fff, height: d.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    if (d[20] !== 0x2f) return null;
    const bits = d.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    return { width: d.readUIntLE(24, 3) + 1, height: d.readUIntLE(27, 3) + 1 };
  }
  return null;
}

/** Why an image is refused, naming the cap; null when it is within IMAGE_LIMITS. */
export function dimensionProblem(dims: ImageDimensions): MessageRef | null {
  const { maxWidth, maxHeight, maxPixels } = IMAGE_LIMITS;
  const within = dims.width > 0 && dims.height > 0 && dims.width <= maxWidth && dims.height <= maxHeight && dims.width * dims.height <= maxPixels;
  if (within) return null;
  // sizes as text: a pixel count reads 20000 in every language, not 20,000 or 20.000
  const params = { width: String(dims.width), height: String(dims.height), maxWidth: String(maxWidth), maxHeight: String(maxHeight), megapixels: maxPixels / 1_000_000 };
  return { key: 'certificates.image.tooManyPixels', params };
}

/**
 * What an uploaded proof really is, from its bytes: never the file name, never the declared type.
 * The magic bytes say what it claims to be; a real parse says whether it is one:
 * - PDF: the header, then pdf-lib loads the document (cross-reference table, trailer, pages);
 * - PNG: the signature, the declared size within bounds, then pngjs decodes it (every chunk's CRC,
 *   the compressed image data);
 * - JPEG: the SOI marker, then every segment is walked to the scan, whose data must end in EOI,
 *   with a frame header of non-zero size.
 * A file that claims one of these and is not one is "damaged" (400); anything else is of another
 * type (415); an empty one is refused before (400).
 */
import { PNG } from 'pngjs';
import { PDFDocument } from 'pdf-lib';
import { readImageDimensions } from '../../documents/image-dimensions';

export type ProofType = 'application/pdf' | 'image/png' | 'image/jpeg';

export const PROOF_EXTENSIONS: Record<ProofType, string> = { 'application/pdf': 'pdf', 'image/png': 'png', 'image/jpeg': 'jpg' };

/** A proof picture may be a phone photo or a scan; beyond this a PNG is not decoded at all. */
const MAX_PROOF_PIXELS = 40_000_000;

export type SniffResult = { ok: true; type: ProofType } | { ok: false; reason: 'empty' } | { ok: false; reason: 'other_type' } | { ok: false; reason: 'damaged'; claimed: ProofType };

function claimedType(d: Buffer): ProofType | null {
  if (d.length >= 5 && d.toString('latin1', 0, 5) === '%PDF-') return 'application/pdf';
  if (d.length >= 8 && d.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (d.length >= 3 && d[0] === 0xff && d[1] === 0xd8 && d[2] === 0xff) return 'image/jpeg';
  return null;
}

async function isPdf(d: Buffer): Promise<boolean> {
  try {
    // throwOnInvalidObject: a document whose objects do not parse is not accepted as "repaired"
    const doc = await PDFDocument.load(d, { ignoreEncryption: true, updateMetadata: false, throwOnInvalidObject: true });
    return doc.getPageCount() > 0;
  } catch {
    return false;
  }
}

function isPng(d: Buffer): boolean {
  const dims = readImageDimensions(d, 'image/png');
  if (!dims || dims.width === 0 || dims.height === 0 || dims.width * dims.height > MAX_PROOF_PIXELS) return false;
  try {
    PNG.sync.read(d);
    return true;
  } catch {
    return false;
  }
}

/** Walks the JPEG segments: SOI, marker segments with lengths, a frame header, a scan, EOI at the end. */
function isJpeg(d: Buffer): boolean {
  let i = 2;
  let frame = false;
  while (i + 4 <= d.length) {
    if (d[i] !== 0xff) return false;
    const marker = d[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd9) return false; // EOI before any scan
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = d.readUInt16BE(i + 2);
    if (length < 2 || i + 2 + length > d.length) return false;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (length < 8 || d.readUInt16BE(i + 5) === 0 || d.readUInt16BE(i + 7) === 0) return false;
      frame = true;
    }
    if (marker === 0xda) {
      // the scan: entropy-coded data up to the end, which must be EOI (trailing padding allowed)
      if (!frame) return false;
      const tail = d.subarray(Math.max(i + 2 + length, d.length - 64));
      return tail.includes(Buffer.from([0xff, 0xd9]));
    }
    i += 2 + length;
  }
  return false;
}

/** What `data` is. The caller has already refused a file above UPLOAD_MAX_BYTES (413). */
export async function sniffProof(data: Buffer): Promise<SniffResult> {
  if (data.length === 0) return { ok: false, reason: 'empty' };
  const claimed = claimedType(data);
  if (!claimed) return { ok: false, reason: 'other_type' };
  const real = claimed === 'application/pdf' ? await isPdf(data) : claimed === 'image/png' ? isPng(data) : isJpeg(data);
  return real ? { ok: true, type: claimed } : { ok: false, reason: 'damaged', claimed };
}

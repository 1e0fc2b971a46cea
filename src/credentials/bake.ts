/**
 * Open Badges 3.0 baking: the signed credential inside the badge PNG, as an iTXt chunk with the
 * keyword `openbadgecredential` (uncompressed, no language tag), placed before IEND
 * (OB 3.0 §5.3.1 "PNG"). A PNG that already carries one is refused rather than baked twice.
 */
import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const BAKE_KEYWORD = 'openbadgecredential';

interface Chunk {
  type: string;
  data: Buffer;
}

function chunks(png: Buffer): Chunk[] {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  const out: Chunk[] = [];
  let at = 8;
  while (at + 12 <= png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    out.push({ type, data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  return out;
}

function encode(c: Chunk): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(c.data.length, 0);
  head.write(c.type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), c.data])) >>> 0, 0);
  return Buffer.concat([head, c.data, crc]);
}

function itxt(keyword: string, text: string): Buffer {
  // keyword NUL, compression flag 0, method 0, language tag "" NUL, translated keyword "" NUL, text
  return Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]);
}

/** The text of the `openbadgecredential` iTXt chunk, or null when the PNG has none. */
export function unbake(png: Buffer): string | null {
  for (const c of chunks(png)) {
    if (c.type !== 'iTXt') continue;
    const nul = c.data.indexOf(0);
    if (c.data.toString('latin1', 0, nul) !== BAKE_KEYWORD) continue;
    // skip: NUL, compression flag, method, language tag NUL, translated keyword NUL
    let at = nul + 3;
    at = c.data.indexOf(0, at) + 1;
    at = c.data.indexOf(0, at) + 1;
    return c.data.subarray(at).toString('utf8');
  }
  return null;
}

export function bake(png: Buffer, credentialJson: string): Buffer {
  const list = chunks(png);
  const parts: Buffer[] = [SIGNATURE];
  if (unbake(png) !== null) throw new Error('this PNG already carries a credential');

  for (const c of list) {
    if (c.type === 'IEND') parts.push(encode({ type: 'iTXt', data: itxt(BAKE_KEYWORD, credentialJson) }));
    parts.push(encode(c));
  }
  return Buffer.concat(parts);
}

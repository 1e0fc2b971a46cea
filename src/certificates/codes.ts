/**
 * Verification codes printed on certificates and typed in by whoever checks one.
 *
 * 80 random bits in Crockford base32 (16 characters, four groups of four: `7KQ2-M9XD-4HNC-PW3T`).
 * 80 bits make guessing hopeless even with a public verification page (2^80 codes, a few
 * million certificates), and Crockford's alphabet leaves out I, L, O and U so that what a
 * person reads off paper can be mapped back without ambiguity.
 */
import type { RandomBytes } from '../runtime';

/** Crockford's base32 alphabet (no I, L, O, U). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_BYTES = 10; // 80 bits = 16 base32 characters exactly
const CODE_CHARS = 16;
const GROUP = 4;

/**
 * A new verification code in its canonical printed form (`XXXX-XXXX-XXXX-XXXX`, upper case).
 * Uniqueness is enforced by the database's unique index, not here.
 */
export function generateCode(randomBytes: RandomBytes): string {
  const bytes = randomBytes(CODE_BYTES);
  if (bytes.length < CODE_BYTES) throw new Error(`randomBytes returned ${bytes.length} bytes, ${CODE_BYTES} needed`);
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < CODE_BYTES; i++) {
    buffer = (buffer << 8) | bytes[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return formatCode(out);
}

function formatCode(chars: string): string {
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += GROUP) groups.push(chars.slice(i, i + GROUP));
  return groups.join('-');
}

/**
 * The canonical form of a code a person typed or a URL carried, or `null` when it cannot be a
 * code. Case does not matter; spaces and hyphens are ignored; I and L read as 1, O as 0
 * (Crockford's decoding rules). Any other character (U included) or a wrong length is refused.
 */
export function normalizeCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const compact = input
    .toUpperCase()
    .replace(/[\s-]+/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  if (compact.length !== CODE_CHARS) return null;
  for (const c of compact) if (!ALPHABET.includes(c)) return null;
  return formatCode(compact);
}

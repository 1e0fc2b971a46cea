/**
 * Just enough PDF syntax to copy Chromium's pages: skipping whitespace, strings and values,
 * reading a dictionary's entries and the object references inside it (see pdf-assembler.ts).
 */
import { RenderFailedError } from './render-errors';

export type Range = [start: number, end: number];

const WS = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const DELIM = new Set('()<>[]{}/%'.split('').map((c) => c.charCodeAt(0)));

/** Character classes by byte, for the scanners below (a table lookup instead of two Set lookups per character). */
const IS_WS = 1;
const IS_DELIM = 2;
const IS_DIGIT = 4;
const CLASS = Uint8Array.from({ length: 256 }, (_, c) => (WS.has(c) ? IS_WS : 0) | (DELIM.has(c) ? IS_DELIM : 0) | (c >= 0x30 && c <= 0x39 ? IS_DIGIT : 0));
/** The class of the character at `i` (past the end that of byte 0, whitespace: callers check the length). */
const classAt = (s: string, i: number): number => CLASS[s.charCodeAt(i) & 0xff]!;

export function unsupported(why: string): RenderFailedError {
  return new RenderFailedError(`Cannot combine the PDF: ${why}`, undefined, { key: 'certificates.render.combineFailed' });
}

/** A parsed PDF held as one latin1 string (one char per byte, so string offsets are byte offsets). */
export interface SourceObject {
  num: number;
  dict: Range; // the object's value (usually a dictionary)
  stream?: Range; // raw stream bytes
}

export const INHERITABLE = ['Resources', 'MediaBox', 'CropBox', 'Rotate'] as const;

export interface SourcePage {
  num: number;
  inherited: string; // inheritable entries taken from ancestors, as PDF text
}

export function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < 256 && CLASS[c]! & IS_WS) i++;
    else if (c === 0x25 /* % */) {
      while (i < s.length && s[i] !== '\n' && s[i] !== '\r') i++;
    } else return i;
  }
}

export function skipLiteralString(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') i++;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i + 1;
  }
  throw unsupported('unterminated string');
}

export function skipRegular(s: string, i: number): number {
  while (i < s.length && !(classAt(s, i) & (IS_WS | IS_DELIM))) i++;
  return i;
}

/** Whether s[from, to) is all digits (and not empty). */
function allDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let k = from; k < to; k++) if (!(classAt(s, k) & IS_DIGIT)) return false;
  return true;
}

/**
 * After an integer ending at `end`: the end of ` <generation> R` if a reference follows (one
 * value, `5 0 R`), else -1. Whitespace, digits, whitespace, `R`, then a delimiter, whitespace or the end.
 */
function refAhead(s: string, end: number): number {
  let k = end;
  if (!(classAt(s, k) & IS_WS) || k >= s.length) return -1;
  while (k < s.length && classAt(s, k) & IS_WS) k++;
  const digits = k;
  while (k < s.length && classAt(s, k) & IS_DIGIT) k++;
  if (k === digits || k >= s.length || !(classAt(s, k) & IS_WS)) return -1;
  while (k < s.length && classAt(s, k) & IS_WS) k++;
  if (s[k] !== 'R') return -1;
  k++;
  return k >= s.length || classAt(s, k) & (IS_WS | IS_DELIM) ? k : -1;
}

/** Index just past the PDF value starting at `i` (a reference `5 0 R` counts as one value). */
export function skipValue(s: string, i: number): number {
  i = skipWs(s, i);
  const ch = s[i];
  if (ch === '<' && s[i + 1] === '<') {
    i += 2;
    for (;;) {
      i = skipWs(s, i);
      if (s[i] === '>' && s[i + 1] === '>') return i + 2;
      if (i >= s.length) throw unsupported('unterminated dictionary');
      i = skipValue(s, i); // key
      i = skipValue(s, i); // value
    }
  }
  if (ch === '<') {
    const end = s.indexOf('>', i);
    if (end < 0) throw unsupported('unterminated hex string');
    return end + 1;
  }
  if (ch === '[') {
    i++;
    for (;;) {
      i = skipWs(s, i);
      if (s[i] === ']') return i + 1;
      if (i >= s.length) throw unsupported('unterminated array');
      i = skipValue(s, i);
    }
  }
  if (ch === '(') return skipLiteralString(s, i);
  if (ch === '/') return skipRegular(s, i + 1);
  const end = skipRegular(s, i);
  if (end === i) throw unsupported(`unexpected character ${JSON.stringify(ch)}`);
  if (allDigits(s, i, end)) {
    const ref = refAhead(s, end);
    if (ref >= 0) return ref;
  }
  return end;
}

/** Top-level entries of the dictionary at `i`: key (without slash) → value range. */
export function dictEntries(s: string, i: number): Map<string, Range> {
  i = skipWs(s, i);
  if (!s.startsWith('<<', i)) throw unsupported('expected a dictionary');
  i += 2;
  const out = new Map<string, Range>();
  for (;;) {
    i = skipWs(s, i);
    if (s.startsWith('>>', i)) return out;
    if (s[i] !== '/') throw unsupported('expected a name as dictionary key');
    const keyEnd = skipRegular(s, i + 1);
    const key = s.slice(i + 1, keyEnd);
    const vStart = skipWs(s, keyEnd);
    const vEnd = skipValue(s, vStart);
    out.set(key, [vStart, vEnd]);
    i = vEnd;
  }
}

const REF = /^(\d+)\s+(\d+)\s+R$/;
export function refOf(text: string | undefined): number | undefined {
  const m = text === undefined ? null : REF.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** Calls `fn` on each run of the text that is outside a string literal. */
export function mapOutsideStrings(text: string, fn: (part: string) => string): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '(' || (ch === '<' && text[i + 1] !== '<')) {
      const end = ch === '(' ? skipLiteralString(text, i) : text.indexOf('>', i) + 1;
      out += fn(text.slice(from, i)) + text.slice(i, end);
      from = i = end;
    } else if (ch === '<') i += 2;
    else i++;
  }
  return out + fn(text.slice(from));
}

export const REFS = /(?<![^\s()<>[\]{}/%])(\d+)\s+(\d+)\s+R(?![^\s()<>[\]{}/%])/g;

export function refsIn(text: string): number[] {
  const nums: number[] = [];
  mapOutsideStrings(text, (part) => {
    for (const m of part.matchAll(REFS)) nums.push(Number(m[1]));
    return part;
  });
  return nums;
}

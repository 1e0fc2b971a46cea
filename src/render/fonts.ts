/**
 * The fonts of the certificates, shipped as npm packages (@fontsource), never the system's: the
 * preview, the PDF and a PDF opened on another computer use the same letters, and a machine
 * with no font installed at all prints every script below.
 *
 * Each design has a stack of families: its own (EB Garamond, Inter: Latin, Greek, Cyrillic,
 * Vietnamese), then Noto families for Arabic, Hebrew, Devanagari, Thai and the Han, kana and
 * hangul of Chinese (simplified, traditional), Japanese and Korean — serif ones for the classic
 * design where Noto has them. The packages split each font into unicode-range subsets (a CJK
 * font into ~100); a document embeds, as data URIs, only the subsets that a character of its
 * text is actually drawn from, found in the fonts' own cmaps (fontkit). An English certificate
 * carries its Latin subset and nothing else; 王小明 adds three small Chinese subsets.
 *
 * The same cmaps answer `missingGlyphs`: which characters of a text no font of the design has,
 * for the preview and the issue path to say so instead of printing empty boxes silently.
 *
 * Pages (learner page, teacher pages) use `pageFontCss`: the same Inter + Noto Sans stack as
 * files served under /static/fonts/, so a browser downloads only the subsets the page uses.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as fontkit from 'fontkit';
import type { DesignId } from './certificate-document';

interface FaceSpec {
  weight: number;
  style: 'normal' | 'italic';
}

interface FamilySpec {
  family: string;
  pkg: string;
}

/** Each design's own family and the faces its CSS uses (keep in step with the designs' CSS). */
const PRIMARY: Record<DesignId, FamilySpec & { faces: FaceSpec[] }> = {
  classic: {
    family: 'EB Garamond',
    pkg: '@fontsource/eb-garamond',
    faces: [
      { weight: 400, style: 'normal' },
      { weight: 600, style: 'normal' },
      { weight: 400, style: 'italic' },
      { weight: 500, style: 'italic' },
    ],
  },
  modern: {
    family: 'Inter',
    pkg: '@fontsource/inter',
    faces: [
      { weight: 400, style: 'normal' },
      { weight: 500, style: 'normal' },
      { weight: 600, style: 'normal' },
      { weight: 700, style: 'normal' },
      { weight: 800, style: 'normal' },
    ],
  },
};

const noto = (family: string): FamilySpec => ({
  family,
  pkg: `@fontsource/${family.toLowerCase().replace(/ /g, '-')}`,
});

/** Scripts the design's own family lacks, in stack order (Han fonts come after, see hanOrder). */
const SCRIPTS: Record<DesignId, FamilySpec[]> = {
  // Noto has no serif Hebrew or Devanagari as a package: the sans ones sit well with Garamond.
  classic: [noto('Noto Naskh Arabic'), noto('Noto Sans Hebrew'), noto('Noto Sans Devanagari'), noto('Noto Serif Thai')],
  modern: [noto('Noto Sans Arabic'), noto('Noto Sans Hebrew'), noto('Noto Sans Devanagari'), noto('Noto Sans Thai')],
};

/** Han variants; which comes first depends on the text (a Japanese name's kanji in Japanese shapes). */
export type HanPreference = 'sc' | 'tc' | 'jp' | 'kr';
const HAN_ORDER: Record<HanPreference, HanPreference[]> = {
  sc: ['sc', 'tc', 'jp', 'kr'],
  tc: ['tc', 'sc', 'jp', 'kr'],
  jp: ['jp', 'sc', 'tc', 'kr'],
  kr: ['kr', 'sc', 'tc', 'jp'],
};
const HAN: Record<DesignId, Record<HanPreference, FamilySpec>> = {
  classic: { sc: noto('Noto Serif SC'), tc: noto('Noto Serif TC'), jp: noto('Noto Serif JP'), kr: noto('Noto Serif KR') },
  modern: { sc: noto('Noto Sans SC'), tc: noto('Noto Sans TC'), jp: noto('Noto Sans JP'), kr: noto('Noto Sans KR') },
};
const GENERIC: Record<DesignId, string> = { classic: 'serif', modern: 'sans-serif' };

const KANA = /[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]/u;
const HANGUL = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]/u;

/**
 * Kana → Japanese shapes first, hangul → Korean; otherwise simplified Chinese (whose fonts also
 * cover traditional characters; a text that needs the traditional font for one of its characters
 * gets traditional shapes throughout, see fontStack).
 */
export function hanPreference(text: string): HanPreference {
  if (KANA.test(text)) return 'jp';
  if (HANGUL.test(text)) return 'kr';
  return 'sc';
}

/** The families a design draws `text` with, in order, and which Han variant leads. */
export function fontStack(design: DesignId, text: string): { pref: HanPreference; stack: FamilySpec[] } {
  let pref = hanPreference(text);
  if (pref === 'sc') {
    // A character Noto SC lacks but TC has (e.g. 𡘙 in some Hong Kong names) means traditional text.
    const sc = HAN[design].sc;
    const tc = HAN[design].tc;
    for (const cp of codePoints(text)) {
      if (cp >= 0x2e80 && !hasGlyph(sc, cp) && hasGlyph(tc, cp)) {
        pref = 'tc';
        break;
      }
    }
  }
  return { pref, stack: fontStackFor(design, pref) };
}

// ---------------------------------------------------------------------------------------------
// Reading the packages: each subset's file and unicode-range from the package's own CSS.

interface Subset {
  name: string;
  unicodeRange: string;
  ranges: Array<[number, number]>;
  /** file of each weight/style, "400-normal" → path */
  files: Map<string, string>;
}

interface PackageFonts {
  dir: string;
  subsets: Subset[];
  weights: number[];
}

const packages = new Map<string, PackageFonts>();

function parseRanges(unicodeRange: string): Array<[number, number]> {
  return unicodeRange.split(',').map((part) => {
    const [from, to] = part.trim().replace(/^U\+/i, '').split('-');
    return [parseInt(from!, 16), parseInt(to ?? from!, 16)];
  });
}

function readPackage(pkg: string): PackageFonts {
  const cached = packages.get(pkg);
  if (cached) return cached;
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
  if (meta.name !== pkg) throw new Error(`${pkg}: unexpected package ${meta.name}`);
  const bySubset = new Map<string, Subset>();
  const weights: number[] = [];
  const short = pkg.replace('@fontsource/', '');
  for (const weight of [100, 200, 300, 400, 500, 600, 700, 800, 900]) {
    for (const style of ['normal', 'italic'] as const) {
      let css: string;
      try {
        css = readFileSync(join(dir, `${weight}${style === 'italic' ? '-italic' : ''}.css`), 'utf8');
      } catch {
        continue;
      }
      if (style === 'normal') weights.push(weight);
      for (const block of css.matchAll(/@font-face\s*{([^}]*)}/g)) {
        const body = block[1]!;
        const file = /url\(\.\/files\/([^)]+\.woff2)\)/.exec(body)?.[1];
        const unicodeRange = /unicode-range:\s*([^;]+);/.exec(body)?.[1]?.trim();
        if (!file || !unicodeRange) continue;
        const name = file.slice(short.length + 1).replace(/-\d+-(normal|italic)\.woff2$/, '');
        let subset = bySubset.get(name);
        if (!subset) {
          subset = { name, unicodeRange, ranges: parseRanges(unicodeRange), files: new Map() };
          bySubset.set(name, subset);
        }
        subset.files.set(`${weight}-${style}`, join(dir, 'files', file));
      }
    }
  }
  if (bySubset.size === 0) throw new Error(`${pkg}: no font files found; is the package installed?`);
  const out = { dir, subsets: [...bySubset.values()], weights };
  packages.set(pkg, out);
  return out;
}

function inRanges(cp: number, ranges: Array<[number, number]>): boolean {
  for (const [from, to] of ranges) if (cp >= from && cp <= to) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Glyphs, from the fonts' cmaps

const cmaps = new Map<string, fontkit.Font>();
const glyphCache = new Map<string, string | null>();

function font(file: string): fontkit.Font {
  let f = cmaps.get(file);
  if (!f) {
    f = fontkit.create(readFileSync(file)) as fontkit.Font;
    cmaps.set(file, f);
  }
  return f;
}

/** The subset of `family` whose font has a glyph for `cp` (its regular face's cmap), or null. */
function subsetFor(family: FamilySpec, cp: number): Subset | null {
  const key = `${family.pkg}:${cp}`;
  const hit = glyphCache.get(key);
  if (hit !== undefined) return hit === null ? null : readPackage(family.pkg).subsets.find((s) => s.name === hit)!;
  const pkg = readPackage(family.pkg);
  for (const subset of pkg.subsets) {
    if (!inRanges(cp, subset.ranges)) continue;
    const file = subset.files.get('400-normal') ?? subset.files.values().next().value!;
    if (font(file).hasGlyphForCodePoint(cp)) {
      glyphCache.set(key, subset.name);
      return subset;
    }
  }
  glyphCache.set(key, null);
  return null;
}

function hasGlyph(family: FamilySpec, cp: number): boolean {
  return subsetFor(family, cp) !== null;
}

/** Characters that draw nothing by themselves: spaces, controls, joiners, bidi marks, variation selectors. */
const IGNORABLE = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]$/u;

/** The 128 ASCII characters: 1 for those that draw something (not a space or a control). */
const ASCII_DRAWN = Uint8Array.from({ length: 128 }, (_, c) => (IGNORABLE.test(String.fromCharCode(c)) ? 0 : 1));

/**
 * The distinct code points of `text` that draw something, in order of first appearance, less
 * those in `skip` (each added to it). A loop over UTF-16 units with a table for ASCII: an export
 * scans every certificate's text, and most of it is ASCII.
 */
function codePoints(text: string, skip: Set<number> = new Set()): number[] {
  const out: number[] = [];
  const asciiSeen = new Uint8Array(128);
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 128) {
      if (asciiSeen[cp]) continue;
      asciiSeen[cp] = 1;
      if (ASCII_DRAWN[cp] && !skip.has(cp)) {
        skip.add(cp);
        out.push(cp);
      }
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
        i++;
      }
    }
    if (skip.has(cp)) continue;
    skip.add(cp);
    if (!IGNORABLE.test(String.fromCodePoint(cp))) out.push(cp);
  }
  return out;
}

export interface MissingGlyph {
  /** The character itself. */
  char: string;
  /** "U+10FFFD" */
  codePoint: string;
}

/** The characters of `text` that no font of the design has a glyph for (each once, in order). */
export function missingGlyphs(design: DesignId, text: string): MissingGlyph[] {
  const { stack } = fontStack(design, text);
  const out: MissingGlyph[] = [];
  for (const cp of codePoints(text)) {
    if (!stack.some((family) => hasGlyph(family, cp))) {
      out.push({ char: String.fromCodePoint(cp), codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CSS

const dataUriCache = new Map<string, string>();

function fontDataUri(file: string): string {
  let uri = dataUriCache.get(file);
  if (!uri) {
    uri = `data:font/woff2;base64,${readFileSync(file).toString('base64')}`;
    dataUriCache.set(file, uri);
  }
  return uri;
}

/** The package's weight nearest to `want` (CSS matching would pick the same; we embed only that one). */
function nearestWeight(available: number[], want: number): number {
  return available.reduce((best, w) => (Math.abs(w - want) < Math.abs(best - want) ? w : best), available[0]!);
}

const cssName = (family: string) => `'${family}'`;

/** One sheet to render: its design and every text on it (labels included). */
export interface FontRequest {
  design: DesignId;
  text: string;
}

export interface CertificateFonts {
  /** `@font-face` rules (data URIs) and the stack classes. */
  css: string;
  /** The class that gives each request's sheet its font stack (`font-stack-<design>-<han>`). */
  classes: string[];
}

/**
 * `@font-face` rules with exactly the subsets that the requests' texts are drawn from, and a
 * class per request that sets `--font-text` (the designs' CSS uses it as font-family).
 */
export function certificateFonts(requests: FontRequest[]): CertificateFonts {
  const rules: string[] = [];
  const stacks = new Map<string, string>();
  const needed = new Map<string, { family: FamilySpec; faces: FaceSpec[]; subsets: Set<string> }>();
  const need = (family: FamilySpec, faces: FaceSpec[], subset: string) => {
    let entry = needed.get(family.family);
    if (!entry) {
      entry = { family, faces: [], subsets: new Set() };
      needed.set(family.family, entry);
    }
    for (const face of faces) {
      if (!entry.faces.some((f) => f.weight === face.weight && f.style === face.style)) entry.faces.push(face);
    }
    entry.subsets.add(subset);
  };
  // Code points already placed, per design and Han preference: a batch's sheets share most of their text.
  const placed = new Map<string, Set<number>>();
  const classes = requests.map(({ design, text }) => {
    const { pref, stack } = fontStack(design, text);
    const primary = PRIMARY[design];
    need(primary, primary.faces, 'latin');
    const group = `${design}:${pref}`;
    let skip = placed.get(group);
    if (!skip) placed.set(group, (skip = new Set()));
    for (const cp of codePoints(text, skip)) {
      for (const family of stack) {
        const subset = subsetFor(family, cp);
        if (!subset) continue;
        if (family === primary) need(family, primary.faces, subset.name);
        else {
          // Noto fonts here have no italics; font-synthesis-style:none (base.css) keeps them upright.
          const weights = readPackage(family.pkg).weights;
          need(family, primary.faces.map((f) => ({ weight: nearestWeight(weights, f.weight), style: 'normal' as const })), subset.name);
        }
        break;
      }
    }
    const cls = `font-stack-${design}-${pref}`;
    if (!stacks.has(cls)) {
      stacks.set(cls, `.${cls}{--font-text:${[...stack.map((f) => cssName(f.family)), GENERIC[design]].join(',')}}`);
    }
    return cls;
  });
  for (const { family, faces, subsets } of needed.values()) {
    const pkg = readPackage(family.pkg);
    for (const subset of pkg.subsets) {
      if (!subsets.has(subset.name)) continue;
      for (const face of faces) {
        const file = subset.files.get(`${face.weight}-${face.style}`);
        if (!file) continue;
        rules.push(
          `@font-face{font-family:${cssName(family.family)};font-style:${face.style};font-weight:${face.weight};` +
            `font-display:block;src:url(${fontDataUri(file)}) format('woff2');unicode-range:${subset.unicodeRange}}`,
        );
      }
    }
  }
  return { css: [...rules, ...stacks.values()].join('\n'), classes };
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * The families of the app's pages: Inter, the Noto Sans of each script, then Noto Sans SC (its
 * fonts also have kana and traditional characters) and, for hangul only, Noto Sans KR. Fewer than
 * the certificates' stack, and one weight for the Noto fonts (bold is synthesised): the stylesheet
 * lists every subset's unicode-range, and CJK fonts have a hundred subsets each.
 */
const PAGE_STACK: FamilySpec[] = [PRIMARY.modern, ...SCRIPTS.modern, HAN.modern.sc, HAN.modern.kr];
const PAGE_FACES: FaceSpec[] = [
  { weight: 400, style: 'normal' },
  { weight: 600, style: 'normal' },
  { weight: 700, style: 'normal' },
];
const HANGUL_RANGES: Array<[number, number]> = [
  [0x1100, 0x11ff],
  [0x3130, 0x318f],
  [0xa960, 0xa97f],
  [0xac00, 0xd7af],
  [0xd7b0, 0xd7ff],
];

function fontStackFor(design: DesignId, pref: HanPreference): FamilySpec[] {
  return [PRIMARY[design], ...SCRIPTS[design], ...HAN_ORDER[pref].map((p) => HAN[design][p])];
}

/** URL path (under /static/fonts/) → font file, filled by pageFontCss. */
const pageFiles = new Map<string, string>();
let pageCss: string | undefined;

/**
 * The stylesheet the app's pages link (`/static/fonts.css`): `@font-face` rules with
 * unicode-range for every subset of the page stack, served as files under `urlBase`, so a
 * browser fetches only those its page's text uses; and `--font-ui`, the stack to use as
 * font-family (app.css does).
 */
export function pageFontCss(urlBase = '/static/fonts/'): string {
  if (pageCss) return pageCss;
  const rules: string[] = [];
  for (const family of PAGE_STACK) {
    const pkg = readPackage(family.pkg);
    const weights = family === PRIMARY.modern ? PAGE_FACES.map((f) => f.weight) : [nearestWeight(pkg.weights, 400)];
    for (const subset of pkg.subsets) {
      // The Noto families' Latin, Cyrillic and Vietnamese come from Inter already.
      if (family !== PRIMARY.modern && /^(latin|latin-ext|cyrillic|cyrillic-ext|greek|greek-ext|vietnamese)$/.test(subset.name)) continue;
      if (family === HAN.modern.kr && !subset.ranges.some(([from, to]) => HANGUL_RANGES.some(([a, b]) => from <= b && to >= a))) continue;
      for (const weight of weights) {
        const file = subset.files.get(`${weight}-normal`);
        if (!file) continue;
        pageFiles.set(basename(file), file);
        rules.push(
          `@font-face{font-family:${cssName(family.family)};font-style:normal;font-weight:${weight};font-display:swap;` +
            `src:url(${urlBase}${basename(file)}) format('woff2');unicode-range:${subset.unicodeRange}}`,
        );
      }
    }
  }
  rules.push(`:root{--font-ui:${PAGE_STACK.map((f) => cssName(f.family)).join(',')},system-ui,sans-serif}`);
  pageCss = rules.join('\n');
  return pageCss;
}

/** The font file served at /static/fonts/<name>, or undefined (only files of pageFontCss). */
export function pageFontFile(name: string): string | undefined {
  if (!pageCss) pageFontCss();
  return pageFiles.get(name);
}

// ---------------------------------------------------------------------------------------------
// Chromium's own font configuration

/** WOFF 1.0 → the TrueType/OpenType file it wraps (each table zlib-inflated; W3C WOFF §5). */
function woffToSfnt(woff: Buffer): Buffer {
  if (woff.readUInt32BE(0) !== 0x774f4646) throw new Error('not a WOFF file');
  const flavor = woff.readUInt32BE(4);
  const count = woff.readUInt16BE(12);
  let searchRange = 1;
  let entrySelector = 0;
  while (searchRange * 2 <= count) {
    searchRange *= 2;
    entrySelector++;
  }
  const head = Buffer.alloc(12 + 16 * count);
  head.writeUInt32BE(flavor, 0);
  head.writeUInt16BE(count, 4);
  head.writeUInt16BE(searchRange * 16, 6);
  head.writeUInt16BE(entrySelector, 8);
  head.writeUInt16BE(count * 16 - searchRange * 16, 10);
  const bodies: Buffer[] = [];
  let offset = head.length;
  for (let i = 0; i < count; i++) {
    const at = 44 + i * 20;
    const [tag, off, compLength, origLength, checksum] = [0, 4, 8, 12, 16].map((d) => woff.readUInt32BE(at + d)) as [number, number, number, number, number];
    let data = woff.subarray(off, off + compLength);
    if (compLength < origLength) data = inflateSync(data);
    head.writeUInt32BE(tag, 12 + i * 16);
    head.writeUInt32BE(checksum, 12 + i * 16 + 4);
    head.writeUInt32BE(offset, 12 + i * 16 + 8);
    head.writeUInt32BE(origLength, 12 + i * 16 + 12);
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    bodies.push(data, pad);
    offset += data.length + pad.length;
  }
  return Buffer.concat([head, ...bodies]);
}

let fontconfigFile: string | undefined;

/**
 * A fontconfig file for Chromium that knows one font, Inter (from its package), and no system
 * font. Set as FONTCONFIG_FILE when the browser starts, it makes every PDF the same on every
 * machine, and it makes a machine with no font installed work at all: Chromium with an empty
 * fontconfig fails every web font ("Fonts failed to load"), and fontconfig reads no WOFF2, hence
 * the TrueType file unpacked from the package's WOFF.
 */
export function chromiumFontconfig(): string {
  if (fontconfigFile && existsSync(fontconfigFile)) return fontconfigFile;
  const woff = readPackage(PRIMARY.modern.pkg).subsets.find((s) => s.name === 'latin')!.files.get('400-normal')!.replace(/\.woff2$/, '.woff');
  const ttf = woffToSfnt(readFileSync(woff));
  const dir = join(tmpdir(), `lti-certificates-fonts-${createHash('sha256').update(ttf).digest('hex').slice(0, 12)}-${process.getuid?.() ?? 0}`);
  mkdirSync(join(dir, 'fonts'), { recursive: true });
  // Written aside and renamed: another process starting Chromium at once never reads half a file.
  const put = (file: string, data: Buffer | string) => {
    if (existsSync(file)) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  };
  put(join(dir, 'fonts', 'Inter-Regular.ttf'), ttf);
  const conf = join(dir, 'fonts.conf');
  put(
    conf,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n` +
      `  <dir>${join(dir, 'fonts')}</dir>\n  <cachedir>${join(dir, 'cache')}</cachedir>\n</fontconfig>\n`,
  );
  fontconfigFile = conf;
  return conf;
}

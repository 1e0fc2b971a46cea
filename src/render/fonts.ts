/**
 * Web fonts embedded in the certificate HTML as data URIs, so the preview, the PDF and a PDF
 * opened on another computer all use the same letters (no system fonts, no network).
 *
 * The @fontsource packages split each font into subsets by script (latin, latin-ext, cyrillic,
 * greek, vietnamese). A document gets the latin subset always and another subset only when its
 * text uses a character of it: a Polish or Vietnamese name works, and an English certificate
 * does not carry 300 KB of fonts it never uses.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type FontFamily = 'EB Garamond' | 'Inter';

interface FaceSpec {
  weight: number;
  style: 'normal' | 'italic';
}

/** The faces each design uses; keep in step with the CSS of the designs. */
const FAMILIES: Record<FontFamily, { pkg: string; faces: FaceSpec[] }> = {
  'EB Garamond': {
    pkg: '@fontsource/eb-garamond',
    faces: [
      { weight: 400, style: 'normal' },
      { weight: 600, style: 'normal' },
      { weight: 400, style: 'italic' },
      { weight: 500, style: 'italic' },
    ],
  },
  Inter: {
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

interface SubsetFace {
  family: FontFamily;
  weight: number;
  style: 'normal' | 'italic';
  subset: string;
  unicodeRange: string;
  ranges: Array<[number, number]>;
  file: string;
}

const faceCache = new Map<FontFamily, SubsetFace[]>();
const dataUriCache = new Map<string, string>();

function parseRanges(unicodeRange: string): Array<[number, number]> {
  return unicodeRange.split(',').map((part) => {
    const [from, to] = part.trim().replace(/^U\+/i, '').split('-');
    return [parseInt(from!, 16), parseInt(to ?? from!, 16)];
  });
}

/** Reads the package's own CSS to learn each subset's file and unicode-range (once per family). */
function subsetFaces(family: FontFamily): SubsetFace[] {
  const cached = faceCache.get(family);
  if (cached) return cached;
  const { pkg, faces } = FAMILIES[family];
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const out: SubsetFace[] = [];
  for (const face of faces) {
    const css = readFileSync(join(dir, `${face.weight}${face.style === 'italic' ? '-italic' : ''}.css`), 'utf8');
    for (const block of css.matchAll(/@font-face\s*{([^}]*)}/g)) {
      const body = block[1]!;
      const file = /url\(\.\/files\/([^)]+\.woff2)\)/.exec(body)?.[1];
      const unicodeRange = /unicode-range:\s*([^;]+);/.exec(body)?.[1]?.trim();
      if (!file || !unicodeRange) continue;
      const subset = file.slice(pkg.replace('@fontsource/', '').length + 1).replace(/-\d+-(normal|italic)\.woff2$/, '');
      out.push({ family, ...face, subset, unicodeRange, ranges: parseRanges(unicodeRange), file: join(dir, 'files', file) });
    }
  }
  if (!out.some((f) => f.subset === 'latin')) throw new Error(`${pkg}: no latin subset found; is the package installed?`);
  faceCache.set(family, out);
  return out;
}

function fontDataUri(file: string): string {
  let uri = dataUriCache.get(file);
  if (!uri) {
    uri = `data:font/woff2;base64,${readFileSync(file).toString('base64')}`;
    dataUriCache.set(file, uri);
  }
  return uri;
}

function usesRange(codePoints: Set<number>, ranges: Array<[number, number]>): boolean {
  for (const cp of codePoints) {
    if (cp < 0x80) continue; // ASCII is in latin, which is always included
    for (const [from, to] of ranges) if (cp >= from && cp <= to) return true;
  }
  return false;
}

/**
 * `@font-face` rules (fonts as base64 data URIs) for the families, with the subsets that `text`
 * needs. Files are read once per process and cached.
 */
export function fontFaceCss(families: Iterable<FontFamily>, text: string): string {
  const codePoints = new Set<number>();
  for (const ch of text) codePoints.add(ch.codePointAt(0)!);
  const rules: string[] = [];
  for (const family of new Set(families)) {
    for (const face of subsetFaces(family)) {
      if (face.subset !== 'latin' && !usesRange(codePoints, face.ranges)) continue;
      rules.push(
        `@font-face{font-family:'${face.family}';font-style:${face.style};font-weight:${face.weight};` +
          `font-display:block;src:url(${fontDataUri(face.file)}) format('woff2');unicode-range:${face.unicodeRange}}`,
      );
    }
  }
  return rules.join('\n');
}

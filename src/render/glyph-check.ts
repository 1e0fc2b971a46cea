/**
 * Which characters of a certificate's texts no font of its design can draw (they would print as
 * empty boxes): read from the cmaps of the font files we ship (fonts.ts), per field, so that the
 * preview and the issue path can name them instead of saying "prints correctly".
 */
import type { DesignId } from './certificate-document';
import { missingGlyphs, type MissingGlyph } from './fonts';

/** The texts a teacher or a learner wrote, in the order they appear on the certificate. */
export const GLYPH_FIELDS = ['title', 'learnerName', 'bodyText', 'courseTitle', 'issuerName', 'signatoryName'] as const;
export type GlyphField = (typeof GLYPH_FIELDS)[number];

export interface GlyphProblem {
  field: GlyphField;
  missing: MissingGlyph[];
}

export type GlyphTexts = { design: DesignId } & { [F in GlyphField]?: string | null };

/** Fields with characters no shipped font of the design has; [] when everything prints. */
export function glyphProblems(doc: GlyphTexts): GlyphProblem[] {
  const out: GlyphProblem[] = [];
  for (const field of GLYPH_FIELDS) {
    const text = doc[field];
    if (!text) continue;
    const missing = missingGlyphs(doc.design, text);
    if (missing.length > 0) out.push({ field, missing });
  }
  return out;
}

/** "🦩 (U+1F9A9), 􏿽 (U+10FFFD)": how the characters are named to a person. */
export function describeMissing(missing: MissingGlyph[]): string {
  return missing.map((m) => `${m.char} (${m.codePoint})`).join(', ');
}

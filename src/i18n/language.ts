/** The languages the learner, teacher and admin pages are written in. English is the fallback. */
export const LANGUAGES = ['en', 'nl', 'fr', 'de', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/** The primary subtag of one locale ("nl-BE", "nl_BE", "NL" → "nl"). */
function primaryOf(locale: string): string {
  return locale.trim().split(/[-_;]/)[0]!.toLowerCase();
}

/**
 * The languages a locale or an Accept-Language list asks for, best first. Platforms spell
 * locales differently (Moodle "nl", Canvas "nl-NL" or "nl-BE", Chamilo "nl_BE", some upper
 * case), so only the primary language subtag counts; an Accept-Language list
 * ("de-CH,de;q=0.9,en;q=0.8") is ordered by its q values (RFC 9110 §12.5.4), q=0 entries dropped.
 */
function wanted(locale: string): string[] {
  const entries = locale
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const weight = q === undefined ? 1 : Number(q.slice(2));
      return { lang: primaryOf(tag), weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((e) => e.lang && e.weight > 0);
  entries.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return entries.map((e) => e.lang);
}

/**
 * Picks the page language: from the first candidate that names a language we speak — callers
 * pass the LTI launch's `launch_presentation.locale` first, then the browser's Accept-Language.
 * A candidate we do not speak at all (e.g. "ja") passes on to the next; nothing usable gives English.
 */
export function pickLanguage(...candidates: (string | null | undefined)[]): Language {
  for (const candidate of candidates) {
    if (!candidate) continue;
    const found = wanted(candidate).find(isLanguage);
    if (found) return found;
  }
  return DEFAULT_LANGUAGE;
}

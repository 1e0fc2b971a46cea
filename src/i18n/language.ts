/** The languages the learner and teacher pages are written in. English is the fallback. */
export const LANGUAGES = ['en', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

/**
 * Picks the page language from an LTI launch's `launch_presentation.locale`. Platforms spell
 * locales differently (Moodle "nl", Canvas "nl-NL" or "nl-BE", Chamilo "nl_BE", some upper
 * case), so only the primary language subtag counts; an Accept-Language style list uses its
 * first entry. Anything we do not speak, or no locale at all, gives English.
 */
export function pickLanguage(locale?: string | null): Language {
  const primary = (locale ?? '').split(',')[0]!.trim().split(/[-_;]/)[0]!.toLowerCase();
  return (LANGUAGES as readonly string[]).includes(primary) ? (primary as Language) : DEFAULT_LANGUAGE;
}

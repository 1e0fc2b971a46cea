/**
 * Numbers, percentages and dates written the way each language writes them
 * ("1,234" / "1.234", "85.5%" / "85,5%", "23 November 2026" / "23 november 2026").
 */
import type { Language } from './language';

export type { Language } from './language';

/** British English: day-month-year dates, as schools outside the US expect on a certificate. */
const INTL_LOCALE: Record<Language, string> = { en: 'en-GB', nl: 'nl-NL', fr: 'fr-FR', de: 'de-DE', es: 'es-ES' };

const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(lang: Language, digits: number): Intl.NumberFormat {
  const key = `${lang}:${digits}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(INTL_LOCALE[lang], { maximumFractionDigits: digits });
    numberFormats.set(key, f);
  }
  return f;
}

/** A number for people: grouping and decimal separator of the language, at most `digits` decimals (rounded). */
export function formatNumber(value: number, lang: Language, digits = 2): string {
  return numberFormat(lang, digits).format(value);
}

/**
 * A value that is already a percentage (85.5 means 85.5%), with at most `digits` decimals.
 * Decimals are cut off, not rounded: 79.995% shows as "79.9%", never as "80%", so that a score
 * just below a threshold never looks as if it met it. (A tiny epsilon keeps binary noise such
 * as 70.3 stored as 70.29999999 from showing as 70.2.)
 */
export function formatPercent(value: number, lang: Language, digits = 1): string {
  if (!Number.isFinite(value)) return '';
  const scale = 10 ** digits;
  const cut = (Math.sign(value) * Math.floor(Math.abs(value) * scale + 1e-7)) / scale;
  return percentFormat(lang, digits).format(cut / 100);
}

/** The language's own percent sign and spacing: "85.5%", "85,5%", "85,5 %" (fr, de, es). */
const percentFormats = new Map<string, Intl.NumberFormat>();
function percentFormat(lang: Language, digits: number): Intl.NumberFormat {
  const key = `${lang}:${digits}`;
  let f = percentFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(INTL_LOCALE[lang], { style: 'percent', maximumFractionDigits: digits });
    percentFormats.set(key, f);
  }
  return f;
}

export interface DateFormatOptions {
  /**
   * IANA time zone in which the calendar day is taken (default UTC, so that every server and
   * test prints the same day); pass the school's zone, e.g. "Europe/Amsterdam", where known.
   */
  timeZone?: string;
}

// Building an Intl.DateTimeFormat costs ~0.1 ms, formatting with one a few µs: one per language and zone.
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(lang: Language, timeZone: string): Intl.DateTimeFormat {
  const key = `${lang} ${timeZone}`;
  let f = dateFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(INTL_LOCALE[lang], { day: 'numeric', month: 'long', year: 'numeric', timeZone });
    if (dateFormats.size >= 500) dateFormats.clear();
    dateFormats.set(key, f);
  }
  return f;
}

/** A calendar date in words: "23 November 2026" / "23 november 2026". Invalid dates give "". */
export function formatDate(date: Date | string | number, lang: Language, opts: DateFormatOptions = {}): string {
  const d = date instanceof Date ? date : new Date(date);
  if (Number.isNaN(d.getTime())) return '';
  return dateFormat(lang, opts.timeZone ?? 'UTC').format(d);
}

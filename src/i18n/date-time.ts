/**
 * A moment (not only a day) as a person reads it: "23 November 2026, 14:05 UTC" in the page's
 * language, inside `<time datetime="…" data-local-time>` so that src/web/public/app.js shows it
 * in the reader's own time zone (the UTC text stays as its title). The audit log's way
 * (src/web/teacher/audit.view.ts), for every page that shows a time.
 */
import { formatDate } from './format';
import type { Language } from './language';
import { createTranslator } from './translator';

function asDate(value: Date | string | number): Date | null {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "23 November 2026, 14:05 UTC" / "23 november 2026, 14:05 UTC"; "" for an invalid date. */
export function formatDateTime(value: Date | string | number, lang: Language): string {
  const at = asDate(value);
  if (!at) return '';
  const hh = String(at.getUTCHours()).padStart(2, '0');
  const mm = String(at.getUTCMinutes()).padStart(2, '0');
  return createTranslator(lang)('common.dateTime', { date: formatDate(at, lang), time: `${hh}:${mm}` });
}

/** The `<time>` element of a moment, its text escaped by `escape`; "" for an invalid date. */
export function timeElement(value: Date | string | number, lang: Language, escape: (s: string) => string): string {
  const at = asDate(value);
  if (!at) return '';
  return `<time datetime="${at.toISOString()}" data-local-time>${escape(formatDateTime(at, lang))}</time>`;
}

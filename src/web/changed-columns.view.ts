/**
 * The columns whose grades changed since a certificate was issued, as one phrase for the teacher's
 * and the learner's stale notes: “Quiz 1”, “Quiz 2”, “Quiz 3” and 2 others.
 */
import type { ItemChange } from '../certificates/evaluate';
import { columnLabel } from '../grades/label-ref';
import type { Translator } from '../i18n';

/** Columns named in the phrase; the rest are counted. */
const NAMED = 3;

/**
 * Up to three columns named, each in the viewer's language when the tool wrote its label
 * ("Huidige score (Canvas)"), then how many others, joined as the language joins a list.
 */
export function changedColumnsList(changes: readonly ItemChange[], t: Translator): string {
  const named = changes.slice(0, NAMED).map((c) => t('common.changedColumns.column', { label: columnLabel(c, t) }));
  if (changes.length > named.length) named.push(t('common.changedColumns.more', { n: changes.length - named.length }));
  return new Intl.ListFormat(t.lang, { type: 'conjunction' }).format(named);
}

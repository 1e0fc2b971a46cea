/**
 * The English text of a message, for an error's `message` (logs, scripts, the sync history of a
 * run stored before its key): built from the same catalog entry a page translates, so the log and
 * the English page never say different things.
 */
import type { MessageRef } from '../errors';
import { createTranslator } from './translator';

const en = createTranslator('en');

/** `ref` in English. */
export function inEnglish(ref: MessageRef): string {
  return en(ref.key, ref.params);
}

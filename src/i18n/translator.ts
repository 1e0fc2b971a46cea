/**
 * Message files and the translator. Texts live in `messages/<lang>/<area>.json`; every JSON
 * file in a language folder is an area, so whoever adds a page adds a file (or keys to one)
 * and never touches this code. A key is `<area>.<key>`; objects inside a file nest with dots
 * (`{"job": {"queued": "…"}}` in common.json is `common.job.queued`).
 *
 * Messages use ICU-lite (see message-format.ts): `{name}`, `{score, percent}`, `{d, date}` and
 * `{count, plural, one {# activity} other {# activities}}`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../logger';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from './language';
import { formatMessage, type MessageParams } from './message-format';

/** Where the message files are. */
export const MESSAGES_DIR = path.join(__dirname, 'messages');

/** Flat `area.key` → message, per language. */
export type MessageCatalogs = Record<Language, Map<string, string>>;

const log = createLogger('i18n');

function flatten(prefix: string, value: unknown, into: Map<string, string>, file: string): void {
  if (typeof value === 'string') {
    into.set(prefix, value);
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(`${prefix}.${k}`, v, into, file);
  } else {
    throw new Error(`${file}: "${prefix}" must be a text or an object of texts`);
  }
}

/**
 * Reads every `<lang>/<area>.json` under `dir`. Throws, naming the file, on invalid JSON or a
 * value that is not text, so that a broken file stops the server at start, not a learner's page.
 */
export function loadMessageCatalogs(dir: string = MESSAGES_DIR): MessageCatalogs {
  const catalogs = {} as MessageCatalogs;
  for (const lang of LANGUAGES) {
    const map = new Map<string, string>();
    const folder = path.join(dir, lang);
    for (const name of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
      const file = path.join(folder, name);
      let data: unknown;
      try {
        data = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
      }
      flatten(path.basename(name, '.json'), data, map, file);
    }
    catalogs[lang] = map;
  }
  return catalogs;
}

let loaded: MessageCatalogs | undefined;
function catalogs(): MessageCatalogs {
  loaded ??= loadMessageCatalogs();
  return loaded;
}

/** Translates a key into the translator's language. */
export interface Translator {
  (key: string, params?: MessageParams): string;
  readonly lang: Language;
  /** Whether the key exists in this language or in the English fallback. */
  has(key: string): boolean;
}

const translators = new Map<Language, Translator>();
const reportedMissing = new Set<string>();

/**
 * The translator for a language. A key missing in that language falls back to the English text
 * (formatted the English way, so a sentence and its numbers agree); a key missing everywhere
 * returns the key itself, which is visible in review and logged once.
 */
export function createTranslator(lang: Language): Translator {
  const cached = translators.get(lang);
  if (cached) return cached;
  const t = ((key: string, params?: MessageParams): string => {
    const all = catalogs();
    const own = all[lang].get(key);
    if (own !== undefined) return formatMessage(own, params, lang);
    const fallback = all[DEFAULT_LANGUAGE].get(key);
    if (fallback !== undefined) return formatMessage(fallback, params, DEFAULT_LANGUAGE);
    if (!reportedMissing.has(key)) {
      reportedMissing.add(key);
      log.warn(`no message for key "${key}"`);
    }
    return key;
  }) as Translator;
  Object.defineProperty(t, 'lang', { value: lang, enumerable: true });
  t.has = (key: string) => catalogs()[lang].has(key) || catalogs()[DEFAULT_LANGUAGE].has(key);
  translators.set(lang, t);
  return t;
}

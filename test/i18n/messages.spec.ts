import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NoticeCode, ReasonCode } from '../../src/certificates/evaluate';
import * as errors from '../../src/errors';
import { TemplateSettingsSchema } from '../../src/certificates/definition.schema';
import { LANGUAGES, MESSAGES_DIR, formatMessage, listPlaceholders, loadMessageCatalogs, validateMessage } from '../../src/i18n';
import { LABELS } from '../../src/render/labels';

describe('message files', () => {
  const catalogs = loadMessageCatalogs();
  const en = catalogs.en;

  it('are all valid JSON', () => {
    for (const lang of LANGUAGES) {
      const folder = path.join(MESSAGES_DIR, lang);
      const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
      expect(files, `${lang} has message files`).to.not.be.empty;
      for (const f of files) {
        expect(() => JSON.parse(readFileSync(path.join(folder, f), 'utf8')), `${lang}/${f}`).to.not.throw();
      }
    }
  });

  it('have the same areas in every language', () => {
    const areas = (lang: string) => readdirSync(path.join(MESSAGES_DIR, lang)).filter((f) => f.endsWith('.json')).sort();
    for (const lang of LANGUAGES) expect(areas(lang), lang).to.deep.equal(areas('en'));
    expect(areas('en')).to.include.members(['common.json', 'learner.json', 'teacher.json', 'verify.json', 'rules.json', 'admin.json', 'errors.json']);
  });

  it('have every key in every language (en, nl, fr, de, es)', () => {
    for (const lang of LANGUAGES) {
      const missing = [...en.keys()].filter((k) => !catalogs[lang].has(k));
      const extra = [...catalogs[lang].keys()].filter((k) => !en.has(k));
      expect(missing, `keys missing in ${lang}`).to.deep.equal([]);
      expect(extra, `keys in ${lang} that English lacks`).to.deep.equal([]);
    }
  });

  it('use the same placeholders in every language', () => {
    for (const lang of LANGUAGES) {
      for (const [key, text] of en) {
        const other = catalogs[lang].get(key);
        if (other === undefined) continue;
        expect([...listPlaceholders(other)].sort(), `${lang} ${key}`).to.deep.equal([...listPlaceholders(text)].sort());
      }
    }
  });

  it('speak the five languages of the product', () => {
    expect([...LANGUAGES]).to.deep.equal(['en', 'nl', 'fr', 'de', 'es']);
    for (const lang of LANGUAGES) expect(catalogs[lang].size, lang).to.equal(en.size);
  });

  it('format in every language with any value, for every plural category of the language', () => {
    for (const lang of LANGUAGES) {
      for (const [key, text] of catalogs[lang]) {
        for (const n of [0, 1, 2, 5, 1_000_000]) {
          const params = Object.fromEntries([...listPlaceholders(text)].map((p) => [p, n]));
          const out = formatMessage(text, params, lang);
          expect(out, `${lang} ${key} with ${n}`).to.be.a('string').and.not.match(/[{}]/);
        }
      }
    }
  });

  it('print certificates and offer the certificate language in every language', () => {
    expect(Object.keys(LABELS).sort()).to.deep.equal([...LANGUAGES].sort());
    for (const lang of LANGUAGES) {
      expect(catalogs[lang].has(`common.language.${lang}`), `common.language.${lang}`).to.equal(true);
      expect(en.has(`teacher.form.template.language.option.${lang}`), `option ${lang}`).to.equal(true);
      expect(TemplateSettingsSchema.parse({ language: lang }).language).to.equal(lang);
    }
  });

  it('follow the message syntax and are not empty', () => {
    for (const lang of LANGUAGES) {
      for (const [key, text] of catalogs[lang]) {
        expect(() => validateMessage(text), `${lang} ${key}`).to.not.throw();
        expect(text.trim(), `${lang} ${key}`).to.not.equal('');
      }
    }
  });

  it('have a friendly text for every error code in src/errors.ts', () => {
    const codes = Object.values(errors)
      .filter((e): e is typeof errors.AppError => typeof e === 'function' && (e === errors.AppError || e.prototype instanceof errors.AppError))
      .map((E) => new E('x').code);
    expect(codes).to.include.members(['validation_error', 'internal_error', 'rate_limited', 'platform_error']);
    for (const lang of LANGUAGES) {
      for (const code of codes) expect(catalogs[lang].has(`errors.${code}`), `${lang} errors.${code}`).to.equal(true);
    }
  });

  it('explain every reason and notice the rule evaluation gives, with the parameters it passes', () => {
    // `satisfies` makes the type checker fail when src/certificates/evaluate.ts adds a code.
    const params = {
      eligible: [],
      no_items: [],
      not_all_graded: ['missing', 'total'],
      below_threshold: ['score', 'threshold'],
      item_below_minimum: ['label', 'percent', 'minimum', 'lineItemId'],
      mandatory_not_met: ['met', 'required', 'total'],
      ungraded_counted_as_zero: ['missing', 'total'],
      item_missing: ['lineItemId'],
      zero_maximum: ['label', 'lineItemId'],
    } satisfies Record<ReasonCode | NoticeCode | 'eligible', string[]>;
    for (const [code, given] of Object.entries(params) as [string, string[]][]) {
      const text = en.get(`rules.${code}`);
      expect(text, code).to.be.a('string');
      const unknown = [...listPlaceholders(text!)].filter((p) => !given.includes(p));
      expect(unknown, `rules.${code} uses parameters the evaluation does not pass`).to.deep.equal([]);
    }
  });
});

describe('loadMessageCatalogs', () => {
  it('names the file that is not valid JSON', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'i18n-'));
    for (const lang of LANGUAGES) mkdirSync(path.join(dir, lang));
    writeFileSync(path.join(dir, 'en', 'common.json'), '{"a": "b",}');
    writeFileSync(path.join(dir, 'nl', 'common.json'), '{"a": "b"}');
    expect(() => loadMessageCatalogs(dir)).to.throw(/en[\\/]common\.json is not valid JSON/);
  });

  it('loads every JSON file of a language as an area, nesting keys with dots', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'i18n-'));
    for (const lang of LANGUAGES) {
      mkdirSync(path.join(dir, lang));
      writeFileSync(path.join(dir, lang, 'newarea.json'), JSON.stringify({ title: lang, nested: { deep: 'x' } }));
    }
    const loaded = loadMessageCatalogs(dir);
    expect(loaded.nl.get('newarea.title')).to.equal('nl');
    expect(loaded.en.get('newarea.nested.deep')).to.equal('x');
  });
});

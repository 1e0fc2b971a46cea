import { expect } from 'chai';
import Handlebars from 'handlebars';
import {
  createTranslator,
  formatDate,
  formatMessage,
  formatPercent,
  pickLanguage,
  registerHandlebarsHelpers,
  validateMessage,
} from '../../src/i18n';

describe('pickLanguage', () => {
  it('recognises Dutch however the platform spells it', () => {
    for (const locale of ['nl', 'nl-NL', 'nl_BE', 'NL', 'nl-be', ' nl-NL,en;q=0.5']) expect(pickLanguage(locale), locale).to.equal('nl');
  });

  it('recognises French, German and Spanish the same way', () => {
    for (const [locale, lang] of [['fr', 'fr'], ['fr_BE', 'fr'], ['fr-CA', 'fr'], ['de', 'de'], ['de-AT', 'de'], ['DE_ch', 'de'], ['es', 'es'], ['es-419', 'es'], ['es_MX', 'es']] as const) {
      expect(pickLanguage(locale), locale).to.equal(lang);
    }
  });

  it('understands what a real Moodle 4.5.6 and Chamilo 1.11.28 send (test/real-lms/drive-languages.sh)', () => {
    // Moodle: language pack codes (current_language()); Chamilo: its language table's ISO codes.
    const sent = [['nl', 'nl'], ['de', 'de'], ['es_mx', 'es'], ['zh_cn', 'en'], ['en', 'en'], ['fr', 'fr'], ['es', 'es'], ['el', 'en'], ['pt-BR', 'en']] as const;
    for (const [locale, lang] of sent) expect(pickLanguage(locale), locale).to.equal(lang);
  });

  it('falls back to English for other or missing locales', () => {
    for (const locale of [undefined, '', 'en-US', 'ja', 'pt_BR', 'nld', 'n']) expect(pickLanguage(locale), String(locale)).to.equal('en');
  });

  it('takes the launch locale first, then the browser, reading Accept-Language by its q values', () => {
    expect(pickLanguage('de-DE', 'fr-FR,fr;q=0.9')).to.equal('de');
    expect(pickLanguage(undefined, 'fr-FR,fr;q=0.9,en;q=0.8')).to.equal('fr');
    expect(pickLanguage('', 'ja,es;q=0.7,en;q=0.3')).to.equal('es');
    expect(pickLanguage('ja-JP', 'nl;q=0.2,de;q=0.9')).to.equal('de');
    expect(pickLanguage(undefined, 'fr;q=0,es')).to.equal('es');
    expect(pickLanguage(undefined, 'ja')).to.equal('en');
  });
});

describe('createTranslator', () => {
  it('translates a key with parameters into each language', () => {
    expect(createTranslator('en')('rules.below_threshold', { score: 85.5, threshold: 90 })).to.equal('Your score is 85.5%; you need 90%.');
    expect(createTranslator('nl')('rules.below_threshold', { score: 85.5, threshold: 90 })).to.equal('Je hebt 85,5% behaald; je hebt 90% nodig.');
  });

  it('chooses plural forms by count', () => {
    const nl = createTranslator('nl');
    expect(nl('rules.not_all_graded', { missing: 2, total: 10 })).to.equal('Nog 2 van de 10 activiteiten niet beoordeeld');
    expect(nl('rules.not_all_graded', { missing: 1, total: 10 })).to.equal('Nog 1 van de 10 activiteiten niet beoordeeld');
    const en = createTranslator('en');
    expect(en('rules.not_all_graded', { missing: 1, total: 1 })).to.equal('The activity has not been graded yet');
    expect(en('rules.not_all_graded', { missing: 1, total: 10 })).to.equal('1 of 10 activities has not been graded yet');
    expect(en('rules.not_all_graded', { missing: 2, total: 10 })).to.equal('2 of 10 activities have not been graded yet');
  });

  it('returns the key for an unknown key', () => {
    expect(createTranslator('nl')('nowhere.to.be.found')).to.equal('nowhere.to.be.found');
  });

  it('knows which keys exist', () => {
    expect(createTranslator('nl').has('errors.not_found')).to.equal(true);
    expect(createTranslator('nl').has('errors.nope')).to.equal(false);
  });
});

describe('formatMessage (ICU-lite)', () => {
  it('interpolates names and leaves a missing parameter visible', () => {
    expect(formatMessage('Hello {name}, {other}', { name: 'Bilbo' }, 'en')).to.equal('Hello Bilbo, {other}');
  });

  it('formats numbers, percentages and dates for the language', () => {
    const msg = '{n} · {p, percent} · {d, date}';
    const params = { n: 1234.5, p: 85.5, d: new Date('2026-11-23T12:00:00Z') };
    expect(formatMessage(msg, params, 'en')).to.equal('1,234.5 · 85.5% · 23 November 2026');
    expect(formatMessage(msg, params, 'nl')).to.equal('1.234,5 · 85,5% · 23 november 2026');
  });

  it('prefers an exact plural branch and formats # as a number', () => {
    const msg = '{count, plural, =0 {no activities} one {# activity} other {# activities}}';
    expect(formatMessage(msg, { count: 0 }, 'en')).to.equal('no activities');
    expect(formatMessage(msg, { count: 1 }, 'en')).to.equal('1 activity');
    expect(formatMessage(msg, { count: 1200 }, 'nl')).to.equal('1.200 activities');
  });

  it('selects a branch by value, with a null branch for missing values', () => {
    const en = createTranslator('en');
    expect(en('rules.item_below_minimum', { label: 'Essay', percent: null, minimum: 50 })).to.equal('“Essay” needs at least 50% and has not been graded yet.');
    expect(formatMessage('{role, select, teacher {Teacher} other {Learner}}', { role: 'teacher' }, 'en')).to.equal('Teacher');
    expect(formatMessage('{role, select, teacher {Teacher} other {Learner}}', { role: 'x' }, 'en')).to.equal('Learner');
  });

  it('picks the null branch for a parameter left out (a stored error whose optional detail was absent)', () => {
    const msg = 'Moodle refused f{said, select, null {.} other { (Moodle said: "{said}").}}';
    expect(formatMessage(msg, {}, 'en')).to.equal('Moodle refused f.');
    expect(formatMessage(msg, undefined, 'en')).to.equal('Moodle refused f.');
    expect(formatMessage(msg, { said: 'No' }, 'en')).to.equal('Moodle refused f (Moodle said: "No").');
    expect(formatMessage('{role, select, teacher {Teacher} other {Learner}}', {}, 'en'), 'without a null branch it stays visible').to.equal('{role}');
  });

  it('rejects broken syntax with the position', () => {
    expect(() => validateMessage('{count, plural, one {x}}')).to.throw(/needs an "other" branch/);
    expect(() => validateMessage('Hello {name')).to.throw(/at position 11/);
    expect(() => validateMessage('Hello }')).to.throw(/unexpected "}"/);
    expect(() => validateMessage('{x, currency}')).to.throw(/unknown placeholder type/);
  });
});

describe('formatPercent and formatDate', () => {
  it('write percentages the way each language does', () => {
    expect(formatPercent(85.5, 'en')).to.equal('85.5%');
    expect(formatPercent(85.5, 'nl')).to.equal('85,5%');
    expect(formatPercent(85, 'nl')).to.equal('85%');
  });

  it('never round a score up to a threshold it missed', () => {
    expect(formatPercent(79.995, 'en')).to.equal('79.9%');
    expect(formatPercent(79.99, 'en', 2)).to.equal('79.99%');
    expect(formatPercent(70.3, 'en')).to.equal('70.3%');
  });

  it('write dates in words', () => {
    const d = new Date('2026-11-23T09:00:00Z');
    expect(formatDate(d, 'en')).to.equal('23 November 2026');
    expect(formatDate(d, 'nl')).to.equal('23 november 2026');
  });

  it('take the calendar day in the given time zone', () => {
    const lateEvening = new Date('2026-11-23T23:30:00Z');
    expect(formatDate(lateEvening, 'en')).to.equal('23 November 2026');
    expect(formatDate(lateEvening, 'en', { timeZone: 'Europe/Amsterdam' })).to.equal('24 November 2026');
  });
});

describe('registerHandlebarsHelpers', () => {
  const hbs = Handlebars.create();
  registerHandlebarsHelpers(hbs);

  it('translates with the language of the root data, also inside blocks', () => {
    const template = hbs.compile('{{#each items}}{{t "rules.item_below_minimum" label=label percent=percent minimum=50}}|{{/each}}');
    const items = [{ label: 'Quiz <1>', percent: 40 }];
    expect(template({ lang: 'nl', items })).to.equal('Voor ‘Quiz &lt;1&gt;’ heb je 40%; het minimum is 50%.|');
    expect(template({ lang: 'en', items })).to.equal('For “Quiz &lt;1&gt;” you have 40%; the minimum is 50%.|');
  });

  it('formats percentages, numbers and dates', () => {
    const template = hbs.compile('{{percent s}} {{number n}} {{date d}}');
    const data = { s: 85.5, n: 5000, d: new Date('2026-11-23T10:00:00Z') };
    expect(template({ ...data, lang: 'nl' })).to.equal('85,5% 5.000 23 november 2026');
    expect(template({ ...data })).to.equal('85.5% 5,000 23 November 2026');
  });

  it('writes a moment as a <time> the page script puts in the reader\'s zone, alone or inside a sentence', () => {
    const at = '2026-11-23T14:05:09.000Z';
    expect(hbs.compile('{{dateTime at}}')({ lang: 'nl', at })).to.equal(`<time datetime="${at}" data-local-time>23 november 2026, 14:05 UTC</time>`);
    expect(hbs.compile('{{dateTime at}}')({ lang: 'fr', at: new Date(at) })).to.equal(`<time datetime="${at}" data-local-time>23 novembre 2026 à 14:05 UTC</time>`);
    expect(hbs.compile('{{ttime "admin.enteredAt" at=at}}')({ lang: 'de', at })).to.equal(`(eingegeben am <time datetime="${at}" data-local-time>23. November 2026, 14:05 UTC</time>)`);
    expect(hbs.compile('{{dateTime at}}|{{ttime "admin.enteredAt" at=at}}')({ lang: 'en', at: 'not a date' })).to.equal('|(entered )');
  });

  it('writes the translated attributes the progress script reads', () => {
    const html = hbs.compile('<div {{jobProgressTexts unit="learners" parts="items,learners"}}></div>')({ lang: 'nl' });
    expect(html).to.contain('data-text-progress="{done} van {total} cursisten"');
    expect(html).to.contain('data-text-part-items="{done} van {total} activiteiten"');
    expect(html).to.contain('data-text-failed="Dit is niet gelukt: {message}"');
  });
});

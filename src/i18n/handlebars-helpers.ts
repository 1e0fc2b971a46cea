/**
 * Handlebars helpers for translated pages. The language comes from the template's root data
 * (`@root.lang`, set by whoever renders the page from the launch), so partials and nested
 * blocks translate correctly without passing the language around.
 *
 *   {{t "learner.title" name=user.name}}     a message, hash arguments are its parameters
 *   {{percent score}}                        85.5 → "85.5%" / "85,5%" (see formatPercent)
 *   {{number count}}                         1234 → "1,234" / "1.234"
 *   {{date issuedAt}}                        "23 November 2026" / "23 november 2026"
 *                                            (time zone: hash timeZone=, else @root.timeZone, else UTC)
 *   {{dateTime setAt}}                       <time datetime="ISO" data-local-time>23 November 2026,
 *                                            14:05 UTC</time>: the reader's own zone once app.js runs
 *   {{ttime "admin.enteredAt" at=setAt}}     a message whose parameters are moments: each one such
 *                                            a <time>, the rest of the sentence escaped as usual
 *   {{tref key params fallback=message}}     a message named by data (a stored error's key and
 *                                            parameters); the fallback when it has none or it is unknown
 *   {{tcode "admin.moodle.steps" file="platform-config/x.md"}}
 *                                            a message whose parameters are names to copy
 *                                            (files, settings, functions): each is shown in
 *                                            <code>, the rest of the sentence escaped as usual
 *   {{jobProgressTexts unit="learners" parts="items,learners"}}
 *                                            the translated data-text-* attributes that
 *                                            job-progress.js reads (see src/web/public/job-progress.js)
 *
 * Output of t, percent, number and date is escaped by Handlebars like any `{{ }}` value.
 */
import type HandlebarsNS from 'handlebars';
import { timeElement } from './date-time';
import { formatDate, formatNumber, formatPercent } from './format';
import { pickLanguage, type Language } from './language';
import type { MessageParams } from './message-format';
import { createTranslator } from './translator';

type HelperOptions = HandlebarsNS.HelperOptions & { data?: { root?: { lang?: string; timeZone?: string } } };

function languageOf(options: HelperOptions): Language {
  return pickLanguage(options.data?.root?.lang);
}

/** Registers t, tref, tcode, ttime, percent, number, date, dateTime and jobProgressTexts on a Handlebars environment. */
export function registerHandlebarsHelpers(handlebars: typeof HandlebarsNS): void {
  handlebars.registerHelper('t', function (key: unknown, options: HelperOptions) {
    return createTranslator(languageOf(options))(String(key), options.hash as MessageParams);
  });

  handlebars.registerHelper('tcode', function (key: unknown, options: HelperOptions) {
    // Each parameter becomes a marker that cannot occur in a message, the sentence is escaped,
    // then each marker becomes its escaped value inside <code>: no parameter can inject markup.
    const names = Object.keys(options.hash ?? {});
    const markers = Object.fromEntries(names.map((name, i) => [name, `\u0000${i}\u0000`]));
    const text = handlebars.escapeExpression(createTranslator(languageOf(options))(String(key), markers));
    const html = text.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => `<code>${handlebars.escapeExpression(String(options.hash[names[Number(i)]!]))}</code>`);
    return new handlebars.SafeString(html);
  });

  handlebars.registerHelper('tref', function (key: unknown, params: unknown, options: HelperOptions) {
    const t = createTranslator(languageOf(options));
    const fallback = options.hash?.fallback;
    if (typeof key !== 'string' || !key || !t.has(key)) return fallback === undefined || fallback === null ? '' : String(fallback);
    return t(key, params && typeof params === 'object' ? (params as MessageParams) : undefined);
  });

  handlebars.registerHelper('ttime', function (key: unknown, options: HelperOptions) {
    // as tcode, each parameter a <time> instead of <code>
    const lang = languageOf(options);
    const names = Object.keys(options.hash ?? {});
    const markers = Object.fromEntries(names.map((name, i) => [name, `\u0000${i}\u0000`]));
    const text = handlebars.escapeExpression(createTranslator(lang)(String(key), markers));
    const html = text.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => {
      const value = options.hash[names[Number(i)]!] as Date | string | number | null | undefined;
      return value === undefined || value === null || value === '' ? '' : timeElement(value, lang, handlebars.escapeExpression);
    });
    return new handlebars.SafeString(html);
  });

  handlebars.registerHelper('dateTime', function (value: unknown, options: HelperOptions) {
    if (value === undefined || value === null || value === '') return '';
    return new handlebars.SafeString(timeElement(value as Date | string | number, languageOf(options), handlebars.escapeExpression));
  });

  handlebars.registerHelper('percent', function (value: unknown, options: HelperOptions) {
    if (value === undefined || value === null || value === '') return '';
    const digits = options.hash?.digits;
    return formatPercent(Number(value), languageOf(options), digits === undefined ? undefined : Number(digits));
  });

  handlebars.registerHelper('number', function (value: unknown, options: HelperOptions) {
    if (value === undefined || value === null || value === '') return '';
    const digits = options.hash?.digits;
    return formatNumber(Number(value), languageOf(options), digits === undefined ? undefined : Number(digits));
  });

  handlebars.registerHelper('date', function (value: unknown, options: HelperOptions) {
    if (value === undefined || value === null || value === '') return '';
    const timeZone = (options.hash?.timeZone as string | undefined) ?? options.data?.root?.timeZone;
    return formatDate(value as Date | string | number, languageOf(options), { timeZone });
  });

  handlebars.registerHelper('jobProgressTexts', function (options: HelperOptions) {
    const t = createTranslator(languageOf(options));
    const unit = String(options.hash?.unit ?? 'steps');
    const attrs: Record<string, string> = {
      'data-text-progress': t(`common.job.count.${unit}`),
      'data-text-queued': t('common.job.queued'),
      'data-text-running': t('common.job.running'),
      'data-text-succeeded': t('common.job.succeeded'),
      'data-text-failed': t('common.job.failed'),
      'data-text-cancelled': t('common.job.cancelled'),
      'data-text-unreachable': t('common.job.unreachable'),
      'data-text-label': t('common.job.label'),
    };
    const parts = String(options.hash?.parts ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => /^[a-z][a-z0-9_-]*$/i.test(p));
    for (const part of parts) attrs[`data-text-part-${part.toLowerCase()}`] = t(`common.job.count.${part}`);
    const html = Object.entries(attrs)
      .map(([name, text]) => `${name}="${handlebars.escapeExpression(text)}"`)
      .join(' ');
    return new handlebars.SafeString(html);
  });
}

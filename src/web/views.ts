/**
 * Server-rendered pages: Handlebars templates from `templates/pages/` (partials in
 * `templates/pages/partials/`), compiled once at start, wrapped in `layout.hbs`. Every value is
 * escaped by Handlebars (`{{ }}`); templates never use `{{{ }}}` for user data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import Handlebars from 'handlebars';
import { registerHandlebarsHelpers, pickLanguage } from '../i18n';

export const PAGES_DIR = join(__dirname, '..', '..', 'templates', 'pages');

export interface PageData {
  /** Page title (already translated). */
  title: string;
  /** Launch locale or language code; decides the page language. */
  lang?: string;
  /** The session token, when the page belongs to a launch: scripts send it as a Bearer token. */
  session?: string;
  [key: string]: unknown;
}

export interface Views {
  render(page: string, data: PageData): string;
}

/** Compiles every page and partial. Throws at start when a template does not compile. */
export function createViews(dir: string = PAGES_DIR): Views {
  const hbs = Handlebars.create();
  registerHandlebarsHelpers(hbs);
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('json', (v: unknown) => JSON.stringify(v));
  const partialsDir = join(dir, 'partials');
  for (const f of readdirSync(partialsDir).filter((n) => n.endsWith('.hbs'))) {
    hbs.registerPartial(basename(f, '.hbs'), readFileSync(join(partialsDir, f), 'utf8'));
  }
  const pages = new Map<string, Handlebars.TemplateDelegate>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.hbs'))) {
    const template = hbs.compile(readFileSync(join(dir, f), 'utf8'), { strict: false });
    pages.set(basename(f, '.hbs'), template);
  }
  const layout = pages.get('layout');
  if (!layout) throw new Error(`templates: ${dir}/layout.hbs is missing`);
  return {
    render(page, data) {
      const template = pages.get(page);
      if (!template) throw new Error(`templates: no page named ${page}`);
      const root = { ...data, lang: pickLanguage(data.lang) };
      const body = template(root);
      return layout({ ...root, body: new hbs.SafeString(body) });
    },
  };
}

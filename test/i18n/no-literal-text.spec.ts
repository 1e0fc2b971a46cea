/**
 * Every word a person reads on a page comes from the message files: a template holds markup,
 * values and `{{t "…"}}` calls, never English text of its own. This reads every page template
 * and partial and fails on text between tags (or in a title, placeholder, aria-label or alt)
 * that is not a Handlebars expression, naming the file and the text.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadMessageCatalogs } from '../../src/i18n';
import { PAGES_DIR } from '../../src/web/views';

/** Text that reads the same in every language: codes, example values, product and protocol names. */
const SAME_IN_EVERY_LANGUAGE = new Set(['https://school.instructure.com', 'XXXX-XXXX-XXXX-XXXX']);

const PAGE_TEXT_ATTRIBUTES = ['title', 'placeholder', 'aria-label', 'alt', 'aria-description'];

function templates(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? templates(path.join(dir, e.name)) : e.name.endsWith('.hbs') ? [path.join(dir, e.name)] : [],
  );
}

/** The literal texts of a template a reader would see, outside any Handlebars expression. */
export function literalTexts(source: string): string[] {
  const html = source
    .replace(/\{\{!--[\s\S]*?--\}\}/g, ' ')
    .replace(/\{\{![\s\S]*?\}\}/g, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    // Code is shown as written (file names, settings, URLs): the same in every language.
    .replace(/<code\b[^>]*>[\s\S]*?<\/code>/gi, ' ');
  const found: string[] = [];
  const attr = new RegExp(`\\s(${PAGE_TEXT_ATTRIBUTES.join('|')})="([^"]*)"`, 'g');
  for (const m of html.matchAll(attr)) found.push(m[2]!.replace(/\{\{[\s\S]*?\}\}/g, ' ').trim());
  const text = html.replace(/<[^>]*>/g, '\n').replace(/\{\{\{?[\s\S]*?\}?\}\}/g, '\n');
  found.push(...text.split('\n').map((line) => line.replace(/&[a-z]+;|&#\d+;/g, ' ').trim()));
  // Words only: punctuation and separators between two values (" · ", "(", ",") are not text.
  return found.filter((t) => /\p{L}{2,}/u.test(t) && !SAME_IN_EVERY_LANGUAGE.has(t));
}

describe('page templates', () => {
  const files = templates(PAGES_DIR);

  it('are found (pages and partials)', () => {
    expect(files.length).to.be.greaterThan(30);
    expect(files.some((f) => f.includes(`${path.sep}partials${path.sep}`))).to.equal(true);
  });

  it('contain no text outside the message files', () => {
    const offenders = files.flatMap((f) => literalTexts(readFileSync(f, 'utf8')).map((t) => `${path.relative(PAGES_DIR, f)}: ${t}`));
    expect(offenders).to.deep.equal([]);
  });

  it('name only message keys that exist', () => {
    const en = loadMessageCatalogs().en;
    const missing = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/\{\{\s*(?:t|tcode|ttime)\s+"([^"]+)"/g)].map((m) => m[1]!).filter((key) => !en.has(key)).map((key) => `${path.relative(PAGES_DIR, f)}: ${key}`),
    );
    expect(missing).to.deep.equal([]);
  });

  it('the check itself finds literal text, in a tag, an attribute or beside a value', () => {
    expect(literalTexts('<p>Back to the page</p>')).to.deep.equal(['Back to the page']);
    expect(literalTexts('<input placeholder="Search learners">')).to.deep.equal(['Search learners']);
    expect(literalTexts('<p>{{count}} learners</p>')).to.deep.equal(['learners']);
    expect(literalTexts('<p>{{t "a.b"}} <code>SMTP_URL</code> · {{x}}</p>{{!-- a comment --}}<script>let a = "b c";</script>')).to.deep.equal([]);
  });
});

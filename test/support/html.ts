/**
 * Reading the tool's HTML pages the way a user sees them: parsed into a DOM (node-html-parser)
 * and queried with CSS selectors, instead of regular expressions over the markup. A missing
 * element fails with the selector and a glimpse of the page, not with "expected null".
 *
 *   const doc = parseHtml(page.html);
 *   expect(text(doc, 'h1')).to.equal('Your certificates');
 *   expect(all(doc, 'table.learners tbody tr').map((tr) => cells(tr))).to.deep.equal([...]);
 *   const { action, fields } = form(doc, 'form.claim');
 */
import { parse, type HTMLElement } from 'node-html-parser';

export type { HTMLElement } from 'node-html-parser';

/** Parses a page (or a fragment) into a DOM whose text is already decoded (`&amp;` → `&`). */
export function parseHtml(html: string): HTMLElement {
  return parse(html, { comment: false, blockTextElements: { script: true, style: true, pre: true, textarea: true } });
}

type Scope = HTMLElement | string;
const scope = (s: Scope): HTMLElement => (typeof s === 'string' ? parseHtml(s) : s);

/** The first element matching `selector`; throws, naming the selector, when there is none. */
export function one(root: Scope, selector: string): HTMLElement {
  const el = scope(root).querySelector(selector);
  if (!el) throw new Error(`no element matches "${selector}" in: ${glimpse(scope(root))}`);
  return el;
}

/** The first element matching `selector`, or null (to assert that something is absent). */
export function maybe(root: Scope, selector: string): HTMLElement | null {
  return scope(root).querySelector(selector);
}

/** Every element matching `selector`, in document order. */
export function all(root: Scope, selector: string): HTMLElement[] {
  return scope(root).querySelectorAll(selector);
}

/** The text a reader sees in the element (or in the first match of `selector` within it), whitespace collapsed. */
export function text(root: Scope, selector?: string): string {
  const el = selector === undefined ? scope(root) : one(root, selector);
  return collapse(el.textContent);
}

/** The texts of every match of `selector`, whitespace collapsed. */
export function texts(root: Scope, selector: string): string[] {
  return all(root, selector).map((el) => collapse(el.textContent));
}

/** The text of each cell (`th`, `td`) of a table row. */
export function cells(row: HTMLElement): string[] {
  return row.querySelectorAll('th, td').map((c) => collapse(c.textContent));
}

/** A definition list (`<dl>`) as term → description, in the words the page shows. */
export function facts(root: Scope, selector = 'dl'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dl of all(root, selector)) {
    let term: string | null = null;
    for (const el of dl.childNodes) {
      const tag = (el as HTMLElement).tagName?.toLowerCase();
      if (tag === 'dt') term = collapse((el as HTMLElement).textContent);
      else if (tag === 'dd' && term !== null) out[term] = collapse((el as HTMLElement).textContent);
    }
  }
  return out;
}

/** The attribute's value on the first match of `selector` (throws when the element is missing). */
export function attr(root: Scope, selector: string, name: string): string | undefined {
  return one(root, selector).getAttribute(name);
}

export interface FormView {
  action: string;
  method: string;
  /** What the browser would submit: named inputs (checked boxes only), selects and textareas. */
  fields: Record<string, string>;
  /** The labels of its submit buttons. */
  buttons: string[];
}

/** The form matching `selector` as a browser would submit it. */
export function form(root: Scope, selector = 'form'): FormView {
  const f = one(root, selector);
  const fields: Record<string, string> = {};
  for (const el of f.querySelectorAll('input, select, textarea')) {
    const name = el.getAttribute('name');
    if (!name || el.hasAttribute('disabled')) continue;
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute('type') ?? 'text').toLowerCase();
    if (tag === 'input' && ['submit', 'button', 'image', 'reset', 'file'].includes(type)) continue;
    if (tag === 'input' && (type === 'checkbox' || type === 'radio') && !el.hasAttribute('checked')) continue;
    if (tag === 'select') {
      const selected = el.querySelector('option[selected]') ?? el.querySelector('option');
      fields[name] = selected ? (selected.getAttribute('value') ?? collapse(selected.textContent)) : '';
    } else if (tag === 'textarea') {
      fields[name] = el.textContent;
    } else {
      fields[name] = el.getAttribute('value') ?? (type === 'checkbox' || type === 'radio' ? 'on' : '');
    }
  }
  const buttons = f.querySelectorAll('button, input[type=submit]').map((b) => collapse(b.textContent) || b.getAttribute('value') || '');
  return { action: f.getAttribute('action') ?? '', method: (f.getAttribute('method') ?? 'get').toLowerCase(), fields, buttons };
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function glimpse(el: HTMLElement): string {
  const t = collapse(el.querySelector('main')?.textContent ?? el.textContent);
  return t.length > 300 ? `${t.slice(0, 300)}…` : t || '(empty page)';
}

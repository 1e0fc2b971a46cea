/**
 * ICU-lite: the small part of ICU MessageFormat our texts need, so that translators write
 * whole sentences (word order and plurals differ between English and Dutch) instead of code
 * gluing fragments together.
 *
 * Syntax
 * - `{name}`                 the parameter; numbers are formatted for the language (1,234 / 1.234),
 *                            Dates with {@link formatDate}, anything else as text.
 * - `{score, percent}`       a number that is already a percentage (85.5 → "85.5%" / "85,5%").
 * - `{amount, number}`       a number formatted for the language.
 * - `{when, date}`           a Date (or ISO string) as "23 November 2026" / "23 november 2026".
 * - `{count, plural, =0 {no activities} one {# activity} other {# activities}}`
 *                            branch chosen by exact value (`=N`) first, then by the language's
 *                            plural category (Intl.PluralRules: zero, one, two, few, many, other);
 *                            `other` is required; `#` is the number, formatted. Branches may
 *                            contain further placeholders, including nested plurals.
 * - `{percent, select, null {not graded yet} other {{percent, percent}}}`
 *                            branch chosen by the value as text; a null or undefined value, or a
 *                            parameter left out, picks the `null` branch; `other` is required.
 * Braces are reserved: a message cannot contain a literal `{` or `}` (no apostrophe quoting).
 */
import { formatDate, formatNumber, formatPercent, type Language } from './format';

type Node =
  | string
  | { kind: 'arg'; name: string; style: 'plain' | 'number' | 'percent' | 'date' }
  | { kind: 'plural' | 'select'; name: string; branches: Record<string, Node[]> }
  | { kind: 'hash' };

/** Values a message may interpolate. */
export type MessageParams = Record<string, string | number | Date | undefined | null>;

const PLURAL_KEYWORDS = new Set(['zero', 'one', 'two', 'few', 'many', 'other']);

/** Thrown for a message that does not follow the syntax above; names the position. */
export class MessageSyntaxError extends Error {}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseAll(): Node[] {
    const nodes = this.parseNodes(false, 0);
    if (this.pos < this.src.length) this.fail('unexpected "}"');
    return nodes;
  }

  /** Reads text and placeholders until the end, or until the `}` closing a plural branch. */
  private parseNodes(inBranch: boolean, pluralDepth: number): Node[] {
    const nodes: Node[] = [];
    let text = '';
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (ch === '}') {
        if (!inBranch) this.fail('unexpected "}"');
        break;
      }
      if (ch === '{' || (ch === '#' && pluralDepth > 0)) {
        if (text) nodes.push(text);
        text = '';
        if (ch === '#') {
          nodes.push({ kind: 'hash' });
          this.pos++;
        } else {
          nodes.push(this.parsePlaceholder(pluralDepth));
        }
        continue;
      }
      text += ch;
      this.pos++;
    }
    if (text) nodes.push(text);
    return nodes;
  }

  private parsePlaceholder(pluralDepth: number): Node {
    this.expect('{');
    const name = this.readWord();
    if (!name) this.fail('a placeholder needs a name');
    this.skipSpaces();
    if (this.peek() === '}') {
      this.pos++;
      return { kind: 'arg', name, style: 'plain' };
    }
    this.expect(',');
    const type = this.readWord();
    this.skipSpaces();
    if (type === 'number' || type === 'percent' || type === 'date') {
      this.expect('}');
      return { kind: 'arg', name, style: type };
    }
    if (type !== 'plural' && type !== 'select') this.fail(`unknown placeholder type "${type}"`);
    this.expect(',');
    const branches: Record<string, Node[]> = {};
    for (;;) {
      this.skipSpaces();
      if (this.peek() === '}') {
        this.pos++;
        break;
      }
      const selector = this.readSelector();
      if (type === 'plural' && !/^=\d+$/.test(selector) && !PLURAL_KEYWORDS.has(selector)) this.fail(`unknown plural selector "${selector}"`);
      if (selector in branches) this.fail(`${type} selector "${selector}" appears twice`);
      this.skipSpaces();
      this.expect('{');
      // `#` means the number only inside plural branches, as in ICU.
      branches[selector] = this.parseNodes(true, type === 'plural' ? pluralDepth + 1 : pluralDepth);
      this.expect('}');
    }
    if (!branches.other) this.fail(`${type} "${name}" needs an "other" branch`);
    return { kind: type, name, branches };
  }

  private readWord(): string {
    this.skipSpaces();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  private readSelector(): string {
    const m = /^(=\d+|[A-Za-z0-9_-]+)/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected a selector');
    this.pos += m[0].length;
    return m[0];
  }

  private skipSpaces(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private peek(): string | undefined {
    return this.src[this.pos];
  }

  private expect(ch: string): void {
    this.skipSpaces();
    if (this.src[this.pos] !== ch) this.fail(`expected "${ch}"`);
    this.pos++;
  }

  private fail(why: string): never {
    throw new MessageSyntaxError(`${why} at position ${this.pos} in "${this.src}"`);
  }
}

const cache = new Map<string, Node[]>();

function parse(message: string): Node[] {
  let nodes = cache.get(message);
  if (!nodes) {
    nodes = new Parser(message).parseAll();
    cache.set(message, nodes);
  }
  return nodes;
}

/** Checks a message's syntax; throws {@link MessageSyntaxError} naming the fault. */
export function validateMessage(message: string): void {
  parse(message);
}

/** The parameter names a message uses, plural selectors included (for consistency checks). */
export function listPlaceholders(message: string): Set<string> {
  const names = new Set<string>();
  const walk = (nodes: Node[]): void => {
    for (const n of nodes) {
      if (typeof n === 'string' || n.kind === 'hash') continue;
      names.add(n.name);
      if (n.kind === 'plural' || n.kind === 'select') Object.values(n.branches).forEach(walk);
    }
  };
  walk(parse(message));
  return names;
}

function formatValue(value: MessageParams[string], style: 'plain' | 'number' | 'percent' | 'date', lang: Language): string {
  if (value === undefined || value === null) return '';
  if (style === 'percent') return formatPercent(Number(value), lang);
  if (style === 'number') return formatNumber(Number(value), lang);
  if (style === 'date' || value instanceof Date) return formatDate(value instanceof Date ? value : new Date(String(value)), lang);
  if (typeof value === 'number') return formatNumber(value, lang);
  return value;
}

/** One Intl.PluralRules per language (building one per message cost more than the message). */
const pluralRules = new Map<Language, Intl.PluralRules>();

/**
 * Fills a message with parameters for a language. A parameter the caller did not pass is left
 * visible as `{name}`, so that a forgotten parameter shows up in review instead of vanishing.
 */
export function formatMessage(message: string, params: MessageParams | undefined, lang: Language): string {
  let rules = pluralRules.get(lang);
  if (!rules) pluralRules.set(lang, (rules = new Intl.PluralRules(lang)));
  const render = (nodes: Node[], hash: number | undefined): string => {
    let out = '';
    for (const n of nodes) {
      if (typeof n === 'string') out += n;
      else if (n.kind === 'hash') out += hash === undefined ? '#' : formatNumber(hash, lang);
      // a select's `null` branch is for a value that is not there, so a parameter left out picks it too
      else if (n.kind === 'select' && n.branches.null && (!params || params[n.name] === undefined)) out += render(n.branches.null, hash);
      else if (!params || !(n.name in params)) out += `{${n.name}}`;
      else if (n.kind === 'arg') out += formatValue(params[n.name], n.style, lang);
      else if (n.kind === 'select') {
        const value = params[n.name];
        const key = value === null || value === undefined ? 'null' : value instanceof Date ? value.toISOString() : String(value);
        out += render(n.branches[key] ?? n.branches.other!, hash);
      } else {
        const count = Number(params[n.name]);
        const branch = n.branches[`=${count}`] ?? n.branches[rules.select(count)] ?? n.branches.other!;
        out += render(branch, count);
      }
    }
    return out;
  };
  return render(parse(message), undefined);
}

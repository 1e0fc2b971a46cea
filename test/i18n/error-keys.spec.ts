/**
 * Every error a person can read carries a message key, so a Dutch, French, German or Spanish
 * reader gets its specific text (what is wrong, what to do) in their language. An error without
 * a key shows only the generic text of its code outside English (src/web/middleware/error-handler.ts).
 *
 * This reads src/ with the TypeScript parser and lists each `new X(...)` of an AppError subclass
 * that gets no key: fewer than three arguments, and no constructor on the way up to AppError that
 * passes one of its own, and no message translated at the call (`t('…')`). The ones left on
 * purpose are in ALLOWED, each with why; the test also fails when an entry there no longer
 * matches anything, so the list only shrinks.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

/**
 * `<file>: new <Class>(<start of its first argument>` (then ` #2` for the second of the same in a file)
 * → why no key is needed there.
 * Remove an entry when you give that error a key.
 */
const ALLOWED: Record<string, string> = {
  "src/app.ts: new NotFoundError(`Nothing here: ${req.method} ${req.path}`":
    "the 404 of an address the tool does not have: the generic not_found text is all a reader needs (the English names the path, for logs)",
  "src/certificates/issue.service.ts: new NotEligibleError(result.evaluation.reasons":
    "shown by class: learner.routes.ts and teacher/revoke.routes.ts turn it into the reasons a page lists (learner.claim.notEligible)",
  "src/certificates/reissue.service.ts: new NotEligibleError(evaluation.reasons":
    "shown by class: learner.routes.ts and teacher/revoke.routes.ts turn it into the reasons a page lists (learner.claim.notEligible)",
  "src/grades/csv/decode.ts: new GradebookFileError(message":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/decode.ts: new GradebookFileError(`This does not look like a text file (unreadable c":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-cells.ts: new GradebookFileError(`Row ${row}, column \"${column}\": ${message}`":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError(`Rows ${before} and ${r.row} are the same student ":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError(`The file is ${(buffer.length / 1048576).toFixed(1":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError(`Row ${line ?? '?'}: the file is not valid CSV (${":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError('Row 1: the file has no header row.'":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError(`Row 1: this is not a gradebook export from Moodle":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/grades/csv/gradebook-csv.ts: new GradebookFileError('Row 1: the gradebook has no grade column the tool":
    "shown by reason: src/web/grades/upload.view.ts reads grades.import.error.<reason> with its row and column",
  "src/web/middleware/session.ts: new UnauthorizedError('No launch'":
    "a route behind loadSession reached without a session (a bug, never a page state): the generic unauthorized text is right",
};

interface ClassInfo {
  base?: string;
  /** true: its constructor passes a key of its own to super; false: it has a constructor that does not; undefined: none. */
  ownKey?: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'sandbox' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Reads every class of src/: its base class and whether its constructor passes a message key. */
function readClasses(files: ts.SourceFile[]): Map<string, ClassInfo> {
  const classes = new Map<string, ClassInfo>([['AppError', {}]]);
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      if (ts.isClassDeclaration(n) && n.name) {
        const heritage = n.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression;
        const info: ClassInfo = { base: heritage && ts.isIdentifier(heritage) ? heritage.text : undefined };
        const ctor = n.members.find(ts.isConstructorDeclaration);
        if (ctor?.body) {
          const params = new Set(ctor.parameters.map((p) => p.name.getText(sf)));
          let superCall: ts.CallExpression | undefined;
          const find = (m: ts.Node): void => {
            if (ts.isCallExpression(m) && m.expression.kind === ts.SyntaxKind.SuperKeyword) superCall = m;
            else ts.forEachChild(m, find);
          };
          find(ctor.body);
          const third = superCall?.arguments[2];
          // A key of its own: an object or a variable of its making, not a parameter handed through.
          info.ownKey = third !== undefined && !(ts.isIdentifier(third) && params.has(third.text)) && third.kind !== ts.SyntaxKind.UndefinedKeyword;
        }
        if (n.name.text !== 'AppError') classes.set(n.name.text, info);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return classes;
}

function isAppError(name: string, classes: Map<string, ClassInfo>): boolean {
  for (let c: string | undefined = name, hops = 0; c && hops < 20; c = classes.get(c)?.base, hops++) if (c === 'AppError') return true;
  return false;
}

/** Whether the nearest constructor up the chain (below AppError) passes a key of its own. */
function keyedByClass(name: string, classes: Map<string, ClassInfo>): boolean {
  for (let c: string | undefined = name, hops = 0; c && c !== 'AppError' && hops < 20; c = classes.get(c)?.base, hops++) {
    const own = classes.get(c)?.ownKey;
    if (own !== undefined) return own;
  }
  return false;
}

/** A message translated where the error is made: `t('…')`, `p.t('…')`, `createTranslator(…)('…')`. */
function translatedAtCall(arg: ts.Expression | undefined): boolean {
  if (!arg) return false;
  let found = false;
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if ((ts.isIdentifier(callee) && callee.text === 't') || (ts.isPropertyAccessExpression(callee) && callee.name.text === 't') || ts.isCallExpression(callee)) found = true;
    }
    ts.forEachChild(n, visit);
  };
  visit(arg);
  return found;
}

export function errorsWithoutKey(srcDir = SRC): string[] {
  const files = sourceFiles(srcDir).map((f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true));
  const classes = readClasses(files);
  const found: string[] = [];
  /** The same text made twice in one file is told apart by its order there: "… #2". */
  const repeats = new Map<string, number>();
  for (const sf of files) {
    const file = path.relative(path.join(srcDir, '..'), sf.fileName).split(path.sep).join('/');
    const visit = (n: ts.Node): void => {
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && isAppError(n.expression.text, classes)) {
        const args = n.arguments ?? [];
        if (args.length < 3 && !keyedByClass(n.expression.text, classes) && !translatedAtCall(args[0])) {
          const first = args[0] ? args[0].getText(sf).replace(/\s+/g, ' ').slice(0, 50) : '';
          const id = `${file}: new ${n.expression.text}(${first}`;
          const seen = (repeats.get(id) ?? 0) + 1;
          repeats.set(id, seen);
          found.push(seen === 1 ? id : `${id} #${seen}`);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

describe('error messages', () => {
  const found = errorsWithoutKey();

  it('the scan finds an error without a key, and passes one keyed at the call, by its class or by t()', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'error-keys-'));
    const src = path.join(dir, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'errors.ts'), [
      'export class AppError extends Error { constructor(m: string, d?: object, r?: object) { super(m); } }',
      'export class ValidationError extends AppError {}',
      "export class Keyed extends ValidationError { constructor(n: number) { super('x', { n }, { key: 'a.b' }); } }",
      'export class Forwarding extends ValidationError { constructor(m: string, d: object, r?: object) { super(m, d, r); } }',
    ].join('\n'));
    writeFileSync(path.join(src, 'use.ts'), [
      "const t = (k: string) => k; const ref = { key: 'a.b' };",
      "throw new ValidationError('no key');",
      "throw new ValidationError('no key');",
      "throw new ValidationError('keyed', undefined, ref);",
      'throw new Keyed(1);',
      "throw new Forwarding('forwarded, no key', {});",
      "throw new ValidationError(t('a.b'));",
      "throw new Error('not an AppError');",
    ].join('\n'));
    try {
      expect(errorsWithoutKey(src)).to.deep.equal([
        "src/use.ts: new ValidationError('no key'",
        "src/use.ts: new ValidationError('no key' #2",
        "src/use.ts: new Forwarding('forwarded, no key'",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carry a message key wherever a person can read them', () => {
    const unexplained = found.filter((f) => !(f in ALLOWED));
    expect(unexplained, 'errors without a message key: give each a key (see src/errors.ts), or say in ALLOWED why none is needed').to.deep.equal([]);
  });

  it('keep no allowance that no longer matches an error', () => {
    const left = new Set(found);
    expect(Object.keys(ALLOWED).filter((k) => !left.has(k))).to.deep.equal([]);
  });
});

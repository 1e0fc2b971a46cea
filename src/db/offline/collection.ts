/**
 * One collection of the offline engine: documents in a Map keyed by their canonical `_id`
 * key (insertion order = natural order), and hash maps for every secondary index so that
 * unique checks and equality lookups cost O(1) instead of a scan.
 */
import type { Document } from 'bson';
import { Query } from 'mingo';
import { CommandError, badValue } from './errors';
import { isIndexableScalar, keyOf, valuesAtPath } from './keys';

/** An index as `listIndexes` reports it. */
export interface IndexSpec extends Document {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

interface IndexEntry {
  key: string;
  values: unknown[];
}

const MAX_ENTRIES_PER_DOC = 1000;

export class Index {
  readonly fields: string[];
  private readonly parts: string[][];
  /** index key -> ids (canonical `_id` keys) of the documents holding it */
  readonly map = new Map<string, string | Set<string>>();
  private readonly partial?: Query;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.parts = this.fields.map((f) => f.split('.'));
    for (const f of this.fields) {
      const dir = spec.key[f];
      if (dir !== 1 && dir !== -1 && dir !== 'hashed') {
        throw new CommandError(67, 'CannotCreateIndex', `index type ${JSON.stringify(dir)} on '${f}' is not supported by the offline database engine`);
      }
    }
    if (spec.partialFilterExpression) this.partial = new Query(spec.partialFilterExpression);
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /** Whether a lookup through this index can miss documents (then it must not be used to plan). */
  get incomplete(): boolean {
    return this.spec.sparse === true || this.partial !== undefined;
  }

  entries(doc: Document): IndexEntry[] {
    if (this.partial && !this.partial.test(doc)) return [];
    const perField = this.parts.map((p) => dedupe(valuesAtPath(doc, p)));
    if (this.spec.sparse && perField.every((vs) => vs.every((v) => v === undefined))) return [];
    if (perField.length === 1) return perField[0]!.map((v) => ({ key: keyOf(v), values: [v] }));
    if (perField.every((vs) => vs.length === 1)) {
      const values = perField.map((vs) => vs[0]);
      return [{ key: values.map(keyOf).join('\u0000'), values }];
    }
    let combos: unknown[][] = [[]];
    for (const vs of perField) {
      const next: unknown[][] = [];
      for (const c of combos) for (const v of vs) next.push([...c, v]);
      combos = next;
      if (combos.length > MAX_ENTRIES_PER_DOC) throw badValue(`index ${this.spec.name}: too many multikey entries for one document`);
    }
    return combos.map((values) => ({ key: values.map(keyOf).join('\u0000'), values }));
  }

  /** The index keys of `doc` (what `entries` gives, without the values, for the common case cheaply). */
  keys(doc: Document): string[] {
    if (!this.partial && !this.spec.sparse) {
      let key = '';
      for (let i = 0; i < this.parts.length; i++) {
        const vs = valuesAtPath(doc, this.parts[i]!);
        if (vs.length !== 1) return this.entries(doc).map((e) => e.key);
        key += i === 0 ? keyOf(vs[0]) : '\u0000' + keyOf(vs[0]);
      }
      return [key];
    }
    return this.entries(doc).map((e) => e.key);
  }

  /** Key for an equality lookup given one scalar per field. */
  static lookupKey(values: unknown[]): string {
    return values.length === 1 ? keyOf(values[0]) : values.map(keyOf).join('\u0000');
  }

  /** The ids holding `key` (most keys have one holder, kept as a plain string to spare memory). */
  holders(key: string): readonly string[] {
    const h = this.map.get(key);
    if (h === undefined) return [];
    return typeof h === 'string' ? [h] : [...h];
  }

  /** Whether a document other than `id` holds `key`. */
  heldByOther(key: string, id: string): boolean {
    const h = this.map.get(key);
    if (h === undefined) return false;
    return typeof h === 'string' ? h !== id : h.size > 1 || !h.has(id);
  }

  add(id: string, doc: Document): void {
    this.addKeys(id, this.keys(doc));
  }

  remove(id: string, doc: Document): void {
    this.removeKeys(id, this.keys(doc));
  }

  addKeys(id: string, keys: string[]): void {
    for (const key of keys) {
      const h = this.map.get(key);
      if (h === undefined) this.map.set(key, id);
      else if (typeof h === 'string') {
        if (h !== id) this.map.set(key, new Set([h, id]));
      } else h.add(id);
    }
  }

  removeKeys(id: string, keys: string[]): void {
    for (const key of keys) {
      const h = this.map.get(key);
      if (h === undefined) continue;
      if (typeof h === 'string') {
        if (h === id) this.map.delete(key);
      } else {
        h.delete(id);
        if (h.size === 1) this.map.set(key, h.values().next().value as string);
      }
    }
  }
}

function dedupe(values: unknown[]): unknown[] {
  if (values.length < 2) return values;
  const seen = new Map<string, unknown>();
  for (const v of values) if (!seen.has(keyOf(v))) seen.set(keyOf(v), v);
  return [...seen.values()];
}

function formatValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  const bt = (v as { _bsontype?: string })._bsontype;
  if (bt === 'ObjectId') return `ObjectId('${String(v)}')`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

export class Collection {
  readonly docs = new Map<string, Document>();
  readonly indexes = new Map<string, Index>();

  constructor(
    readonly db: string,
    readonly name: string,
    readonly options: Document = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  duplicateKeyError(index: IndexSpec, values: unknown[]): CommandError {
    const fields = Object.keys(index.key);
    const keyValue: Document = {};
    fields.forEach((f, i) => (keyValue[f] = values[i] ?? null));
    const shown = fields.map((f, i) => `${f}: ${formatValue(values[i])}`).join(', ');
    return new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${this.ns} index: ${index.name} dup key: { ${shown} }`, {
      keyPattern: { ...index.key },
      keyValue,
    });
  }

  /** Throws E11000 if `doc` (stored, or to be stored, under `id`) would break a unique index. */
  private checkUnique(id: string, doc: Document): void {
    for (const index of this.indexes.values()) {
      if (!index.unique) continue;
      for (const key of index.keys(doc)) {
        if (!index.heldByOther(key, id)) continue;
        const entry = index.entries(doc).find((e) => e.key === key);
        throw this.duplicateKeyError(index.spec, entry?.values ?? []);
      }
    }
  }

  insert(doc: Document): void {
    const id = keyOf(doc._id);
    if (this.docs.has(id)) throw this.duplicateKeyError(ID_INDEX, [doc._id]);
    this.checkUnique(id, doc);
    for (const index of this.indexes.values()) index.add(id, doc);
    this.docs.set(id, doc);
  }

  /** Replaces the stored document with the same `_id` (the caller keeps `_id` unchanged). */
  replace(id: string, doc: Document): void {
    const old = this.docs.get(id);
    if (!old) throw new Error(`BUG: replace of a missing document ${id}`);
    this.checkUnique(id, doc);
    for (const index of this.indexes.values()) {
      const before = index.keys(old);
      const after = index.keys(doc);
      // most updates leave indexed fields alone: skip the map churn then
      if (before.length === after.length && before.every((k, i) => k === after[i])) continue;
      index.removeKeys(id, before);
      index.addKeys(id, after);
    }
    this.docs.set(id, doc);
  }

  remove(id: string): Document | undefined {
    const old = this.docs.get(id);
    if (!old) return undefined;
    for (const index of this.indexes.values()) index.remove(id, old);
    this.docs.delete(id);
    return old;
  }

  /** Builds an index over the existing documents; fails with E11000 without side effects. */
  addIndex(spec: IndexSpec): void {
    const index = new Index(spec);
    for (const [id, doc] of this.docs) {
      if (index.unique) {
        for (const e of index.entries(doc)) {
          if (index.heldByOther(e.key, id)) throw this.duplicateKeyError(spec, e.values);
        }
      }
      index.add(id, doc);
    }
    this.indexes.set(spec.name, index);
  }

  /**
   * The documents that can match `filter`: one by `_id`, a few through an index whose every
   * field is compared for equality with a scalar, or all of them. The caller still tests
   * each candidate against the full filter.
   */
  candidates(filter: Document): Iterable<Document> {
    const eq = equalityConditions(filter);
    if (eq.size === 0) return this.docs.values();
    if (eq.has('_id')) {
      const id = eq.get('_id')!;
      const ids = Array.isArray(id) ? id : [id];
      const out: Document[] = [];
      for (const v of ids) {
        const d = this.docs.get(keyOf(v));
        if (d) out.push(d);
      }
      return out;
    }
    let best: readonly string[] | undefined;
    for (const index of this.indexes.values()) {
      if (index.incomplete || !index.fields.every((f) => eq.has(f) && !Array.isArray(eq.get(f)))) continue;
      const holders = index.holders(Index.lookupKey(index.fields.map((f) => eq.get(f))));
      if (holders.length === 0) return [];
      if (!best || holders.length < best.length) best = holders;
    }
    if (!best) return this.docs.values();
    const out: Document[] = [];
    for (const id of best) {
      const d = this.docs.get(id);
      if (d) out.push(d);
    }
    return out;
  }
}

/**
 * Top-level equality conditions of a filter (`{a: 1}`, `{a: {$eq: 1}}`, inside `$and`),
 * restricted to scalars an index lookup is exact for. `$in` on `_id` yields an array.
 */
function equalityConditions(filter: Document, out = new Map<string, unknown>()): Map<string, unknown> {
  for (const k of Object.keys(filter)) {
    const v = filter[k];
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (sub && typeof sub === 'object') equalityConditions(sub as Document, out);
      continue;
    }
    if (k.startsWith('$') || /(^|\.)\d+(\.|$)/.test(k)) continue;
    if (isIndexableScalar(v)) {
      out.set(k, v);
    } else if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const ops = v as Document;
      const opKeys = Object.keys(ops);
      if (opKeys.length === 1 && opKeys[0] === '$eq' && isIndexableScalar(ops.$eq)) out.set(k, ops.$eq);
      else if (k === '_id' && opKeys.length === 1 && opKeys[0] === '$in' && Array.isArray(ops.$in) && ops.$in.every(isIndexableScalar)) {
        out.set(k, ops.$in);
      }
    }
  }
  return out;
}

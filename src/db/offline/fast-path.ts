/**
 * Fast paths for the shapes that bulk imports send by the hundred thousand: filters made of
 * plain equalities and updates with simple operators on plain paths. mingo handles
 * everything else, but building a mingo Query or update copies its whole operator table
 * (about 100 µs), which would make a 100,000-upsert import take minutes.
 * Each function returns undefined when the input is not a shape it handles exactly.
 */
import type { Document } from 'bson';
import { compare } from 'mingo/util';
import { isIndexableScalar, keyOf, valuesAtPath } from './keys';

/** A predicate for a filter of plain equalities (`{a: 1, 'b.c': 'x'}`, `$eq`, `$and`), else undefined. */
export function compileEqualityFilter(filter: Document): ((doc: Document) => boolean) | undefined {
  const conditions: [string[], string][] = [];
  if (!collect(filter, conditions)) return undefined;
  return (doc) => {
    for (const [parts, key] of conditions) {
      const values = valuesAtPath(doc, parts);
      let hit = false;
      for (const v of values) {
        if (keyOf(v) === key) {
          hit = true;
          break;
        }
      }
      if (!hit) return false;
    }
    return true;
  };
}

function collect(filter: Document, out: [string[], string][]): boolean {
  for (const k of Object.keys(filter)) {
    const v = filter[k];
    if (k === '$and' && Array.isArray(v) && v.length > 0) {
      for (const sub of v) if (!sub || typeof sub !== 'object' || Array.isArray(sub) || !collect(sub as Document, out)) return false;
      continue;
    }
    if (k.startsWith('$') || k === '' || /(^|\.)(\d+)?(\.|$)/.test(k)) return false;
    let value: unknown = v;
    if (v && typeof v === 'object' && !(v instanceof Date) && (v as { _bsontype?: string })._bsontype === undefined) {
      const keys = Object.keys(v as Document);
      if (keys.length !== 1 || keys[0] !== '$eq') return false;
      value = (v as Document).$eq;
    }
    if (!isIndexableScalar(value)) return false;
    out.push([k.split('.'), keyOf(value)]);
  }
  return true;
}

const FAST_OPS = new Set(['$set', '$unset', '$inc', '$min', '$max', '$push', '$addToSet']);

/**
 * Applies `mod` to `doc` in place when every operator and path is simple. Returns false
 * (and possibly a half-changed `doc`, which the caller discards) when mingo must do it.
 */
export function applySimpleUpdate(doc: Document, mod: Document): boolean {
  const paths: string[] = [];
  for (const op of Object.keys(mod)) {
    if (!FAST_OPS.has(op)) return false;
    for (const p of Object.keys(mod[op] as Document)) {
      if (p === '' || p.includes('$') || /(^|\.)(\d+)?(\.|$)/.test(p)) return false;
      paths.push(p);
    }
  }
  // paths that overlap ('a' and 'a.b', or the same path twice) are a conflict MongoDB reports
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1] || sorted[i]!.startsWith(sorted[i - 1]! + '.')) return false;

  for (const op of Object.keys(mod)) {
    const spec = mod[op] as Document;
    for (const path of Object.keys(spec)) {
      const arg = spec[path];
      const parts = path.split('.');
      const parent = walk(doc, parts, op !== '$unset');
      if (parent === false) return false;
      if (parent === undefined) continue; // $unset of a path that does not exist
      const field = parts[parts.length - 1]!;
      const current = parent[field];
      switch (op) {
        case '$set':
          parent[field] = clone(arg);
          break;
        case '$unset':
          delete parent[field];
          break;
        case '$inc':
          if (typeof arg !== 'number' || (current !== undefined && typeof current !== 'number')) return false;
          parent[field] = (current ?? 0) + arg;
          break;
        case '$min':
        case '$max': {
          if (current === undefined) parent[field] = clone(arg);
          else {
            const c = compare(arg, current);
            if ((op === '$min' && c < 0) || (op === '$max' && c > 0)) parent[field] = clone(arg);
          }
          break;
        }
        case '$push':
        case '$addToSet': {
          const items = eachOf(arg);
          if (!items || (current !== undefined && !Array.isArray(current))) return false;
          const list = current === undefined ? [] : (current as unknown[]).slice();
          if (op === '$push') list.push(...items.map(clone));
          else {
            const present = new Set(list.map(keyOf));
            for (const item of items) {
              const key = keyOf(item);
              if (!present.has(key)) {
                present.add(key);
                list.push(clone(item));
              }
            }
          }
          parent[field] = list;
          break;
        }
        default:
          return false;
      }
    }
  }
  return true;
}

/** The items of a $push/$addToSet argument: a value, or `{$each: [...]}` without other modifiers. */
function eachOf(arg: unknown): unknown[] | undefined {
  if (arg && typeof arg === 'object' && !Array.isArray(arg) && Object.keys(arg as Document).some((k) => k.startsWith('$'))) {
    const keys = Object.keys(arg as Document);
    if (keys.length !== 1 || keys[0] !== '$each' || !Array.isArray((arg as Document).$each)) return undefined;
    return (arg as Document).$each as unknown[];
  }
  return [arg];
}

/**
 * The object holding the last part of `parts`, creating plain objects on the way when
 * `create`. undefined: a part is missing and `create` is false. false: the path runs through
 * something that is not a plain object (arrays, scalars): mingo decides what that means.
 */
function walk(doc: Document, parts: string[], create: boolean): Document | undefined | false {
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]!];
    if (next === undefined) {
      if (!create) return undefined;
      cur = cur[parts[i]!] = {};
      continue;
    }
    if (!isPlainObject(next)) return false;
    cur = next as Document;
  }
  return cur;
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function clone<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (!isPlainObject(v)) return v;
  const out: Document = {};
  for (const k of Object.keys(v)) out[k] = clone((v as Document)[k]);
  return out as T;
}

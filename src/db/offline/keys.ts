/**
 * Canonical string keys for BSON values, so that `_id`s and index keys can live in plain
 * `Map`s (O(1) lookups instead of scanning). Values MongoDB considers equal get the same key:
 * every number type by value, null and missing alike.
 */
import type { Document } from 'bson';

type BsonLike = { _bsontype?: string; toString(enc?: string): string; toHexString?(): string };

/** Returns the canonical key of any BSON value. */
export function keyOf(v: unknown): string {
  if (v === undefined || v === null) return 'z';
  switch (typeof v) {
    case 'string':
      // length-prefixed rather than quoted: as unambiguous inside compound keys, and cheaper
      return 's' + v.length + ':' + v;
    case 'number':
      return 'n' + (v === 0 ? 0 : v);
    case 'boolean':
      return v ? 'T' : 'F';
    case 'bigint':
      return 'n' + v.toString();
    default:
      break;
  }
  if (v instanceof Date) return 'd' + v.getTime();
  if (Array.isArray(v)) return '[' + v.map(keyOf).join(',') + ']';
  if (v instanceof RegExp) return 'r' + JSON.stringify(v.source + '/' + v.flags);
  const b = v as BsonLike;
  switch (b._bsontype) {
    case 'ObjectId':
      return 'o' + b.toHexString!();
    case 'Binary': {
      const bin = v as { sub_type: number; buffer: Uint8Array };
      return 'b' + bin.sub_type + ':' + Buffer.from(bin.buffer).toString('base64');
    }
    case 'Long':
    case 'Int32':
    case 'Double':
      return 'n' + Number(b.toString());
    case undefined:
      break;
    default:
      return b._bsontype + ':' + JSON.stringify(b.toString());
  }
  const o = v as Document;
  let s = '{';
  for (const k of Object.keys(o)) {
    if (o[k] === undefined) continue;
    s += JSON.stringify(k) + ':' + keyOf(o[k]) + ',';
  }
  return s + '}';
}

/** Whether two documents are identical (same fields in the same order, same values), without building keys. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' ? a === b || (Number.isNaN(a) && Number.isNaN(b)) : false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) {
    return a.constructor === b.constructor && keyOf(a) === keyOf(b);
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !sameValue((a as Document)[ka[i]!], (b as Document)[kb[i]!])) return false;
  }
  return true;
}

/** A scalar an equality lookup can use an index for (no operators, no arrays, no null). */
export function isIndexableScalar(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (v instanceof Date) return true;
  const bt = (v as BsonLike)._bsontype;
  return bt === 'ObjectId' || bt === 'Long' || bt === 'Int32' || bt === 'Double';
}

/**
 * Every value an index holds for `path` in `doc`, following arrays the way multikey indexes
 * do (each element is indexed; an empty array or a missing field counts as missing).
 */
export function valuesAtPath(doc: unknown, parts: readonly string[]): unknown[] {
  const out: unknown[] = [];
  collect(doc, parts, 0, out);
  return out;
}

function collect(v: unknown, parts: readonly string[], i: number, out: unknown[]): void {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(undefined);
      return;
    }
    if (i < parts.length && /^\d+$/.test(parts[i]!)) {
      collect(v[Number(parts[i])], parts, i + 1, out);
      return;
    }
    for (const e of v) {
      if (i === parts.length) out.push(e);
      else collect(e, parts, i, out);
    }
    return;
  }
  if (i === parts.length) {
    out.push(v);
    return;
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && (v as BsonLike)._bsontype === undefined) {
    collect((v as Document)[parts[i]!], parts, i + 1, out);
    return;
  }
  out.push(undefined);
}

/**
 * Update documents: operator updates (through mingo), replacements and pipeline updates.
 * Stored documents are never changed in place: an update works on a copy, which the caller
 * stores only if every unique index accepts it. Open cursors can therefore keep references.
 */
import { ObjectId, type Document } from 'bson';
import { Aggregator, update as mingoUpdate } from 'mingo';
import { CommandError, badValue, failedToParse } from './errors';
import { applySimpleUpdate } from './fast-path';
import { keyOf } from './keys';

const OPERATORS = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$currentDate',
  '$push', '$addToSet', '$pull', '$pullAll', '$pop', '$bit', '$setOnInsert',
]);

/** Deep copy of plain objects, arrays and dates; BSON values (ObjectId, Binary…) are immutable and shared. */
export function cloneDoc<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(cloneDoc) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if ((v as { _bsontype?: string })._bsontype !== undefined || v instanceof RegExp || ArrayBuffer.isView(v)) return v;
  const out: Document = {};
  for (const k of Object.keys(v)) out[k] = cloneDoc((v as Document)[k]);
  return out as T;
}

export interface UpdateContext {
  arrayFilters?: Document[];
  /** The filter that matched (for the positional `$` operator). */
  filter?: Document;
  /** The document is being created by an upsert ($setOnInsert applies). */
  inserting: boolean;
  variables?: Document;
  now: Date;
}

export function isOperatorUpdate(u: Document | Document[]): boolean {
  if (Array.isArray(u)) return false;
  const keys = Object.keys(u);
  return keys.length > 0 && keys[0]!.startsWith('$');
}

/** Validates an update document before any document is touched. */
export function validateUpdate(u: unknown): void {
  if (Array.isArray(u)) {
    for (const stage of u) {
      const name = stage && typeof stage === 'object' ? Object.keys(stage as Document)[0] : undefined;
      if (!name || !['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith'].includes(name)) {
        throw new CommandError(72, 'InvalidOptions', `${name ?? 'an empty stage'} is not allowed to be used within an update`);
      }
    }
    return;
  }
  if (!u || typeof u !== 'object') throw failedToParse('Update argument must be either an object or an array');
  const keys = Object.keys(u as Document);
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length === 0) return;
  if (ops.length !== keys.length) throw failedToParse('Update document cannot mix update operators and plain fields');
  for (const op of ops) {
    if (!OPERATORS.has(op)) throw failedToParse(`Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    const arg = (u as Document)[op];
    if (!arg || typeof arg !== 'object' || Array.isArray(arg)) throw failedToParse(`Modifiers operate on fields but we found type ${Array.isArray(arg) ? 'array' : typeof arg} instead`);
  }
}

/** Returns the updated copy of `doc`. Throws if the update would change `_id`. */
export function applyUpdate(doc: Document, u: Document | Document[], ctx: UpdateContext): Document {
  let out: Document;
  if (Array.isArray(u)) {
    const agg = new Aggregator(u, { variables: { ...ctx.variables, NOW: ctx.now } });
    out = (agg.run([cloneDoc(doc)])[0] as Document | undefined) ?? {};
    if (doc._id !== undefined && out._id === undefined) out = { _id: doc._id, ...out };
  } else if (!isOperatorUpdate(u)) {
    if (u._id !== undefined && doc._id !== undefined && keyOf(u._id) !== keyOf(doc._id)) throw immutableId();
    const { _id, ...rest } = u;
    const id = doc._id ?? _id;
    out = id === undefined ? cloneDoc(rest) : { _id: id, ...cloneDoc(rest) };
  } else {
    const mod: Document = {};
    for (const [op, spec] of Object.entries(u)) mod[op] = { ...(spec as Document) };
    const onInsert = mod.$setOnInsert as Document | undefined;
    delete mod.$setOnInsert;
    if (ctx.inserting && onInsert) mod.$set = { ...(mod.$set as Document | undefined), ...onInsert };
    if (mod.$currentDate) {
      // mingo would stamp its own clock; the engine's clock keeps tests deterministic
      const dates = mod.$currentDate as Document;
      delete mod.$currentDate;
      mod.$set = { ...(mod.$set as Document | undefined) };
      for (const k of Object.keys(dates)) (mod.$set as Document)[k] = ctx.now;
    }
    if (doc._id !== undefined) guardId(mod, doc._id);
    out = cloneDoc(doc);
    if (Object.keys(mod).length > 0 && !(ctx.arrayFilters === undefined && applySimpleUpdate(out, mod))) {
      out = cloneDoc(doc);
      const positional = Object.values(mod).some((spec) => Object.keys(spec as Document).some((p) => /(^|\.)\$(\.|$)/.test(p)));
      try {
        mingoUpdate(out, mod, ctx.arrayFilters, positional && !ctx.inserting ? ctx.filter : undefined, {
          cloneMode: 'deep',
          queryOptions: { variables: ctx.variables },
        });
      } catch (e) {
        throw e instanceof CommandError ? e : badValue((e as Error).message);
      }
    }
  }
  if (doc._id !== undefined && keyOf(out._id) !== keyOf(doc._id)) throw immutableId();
  return out;
}

/** `$set: {_id: <same value>}` is allowed (mongoose sends it); any other change to `_id` is not. */
function guardId(mod: Document, id: unknown): void {
  for (const [op, spec] of Object.entries(mod)) {
    for (const path of Object.keys(spec as Document)) {
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (op === '$set' && path === '_id' && keyOf((spec as Document)._id) === keyOf(id)) {
        delete (spec as Document)._id;
        continue;
      }
      throw immutableId();
    }
  }
}

function immutableId(): CommandError {
  return new CommandError(66, 'ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
}

/**
 * The document an upsert starts from: the filter's equality conditions (top level and in
 * `$and`), as MongoDB does, then the update applied with `inserting: true`.
 */
export function buildUpsertDocument(filter: Document, u: Document | Document[], ctx: UpdateContext): Document {
  const seed: Document = {};
  collectEqualities(filter, seed);
  let doc: Document;
  if (!Array.isArray(u) && !isOperatorUpdate(u)) {
    doc = applyUpdate(seed._id === undefined ? {} : { _id: seed._id }, u, ctx);
  } else {
    doc = applyUpdate(seed, u, { ...ctx, inserting: true });
  }
  if (doc._id === undefined) doc = { _id: new ObjectId(), ...doc };
  else if (Object.keys(doc)[0] !== '_id') {
    const { _id, ...rest } = doc;
    doc = { _id, ...rest };
  }
  return doc;
}

function collectEqualities(filter: Document, seed: Document): void {
  for (const k of Object.keys(filter)) {
    const v = filter[k];
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (sub && typeof sub === 'object') collectEqualities(sub as Document, seed);
      continue;
    }
    if (k.startsWith('$')) continue;
    let value: unknown = v;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && (v as { _bsontype?: string })._bsontype === undefined && !(v instanceof RegExp)) {
      const keys = Object.keys(v as Document);
      if (keys.some((x) => x.startsWith('$'))) {
        if (keys.length === 1 && keys[0] === '$eq') value = (v as Document).$eq;
        else continue;
      }
    }
    if (value instanceof RegExp) continue;
    setPath(seed, k, cloneDoc(value));
  }
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Document;
  }
  cur[parts[parts.length - 1]!] = value;
}

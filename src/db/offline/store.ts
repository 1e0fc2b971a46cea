/**
 * All databases of the offline engine, and the only place that changes them: every change
 * goes through a method here, which applies it in memory and appends it to the journal
 * (when the engine persists). Commands call `flush()` before they reply.
 */
import type { Document } from 'bson';
import { Collection, ID_INDEX, type IndexSpec } from './collection';
import { CommandError } from './errors';
import { keyOf } from './keys';
import type { Journal } from './journal';

export class Store {
  readonly dbs = new Map<string, Map<string, Collection>>();
  private journal?: Journal;

  /** Attaches the journal after replay, so that replayed changes are not written again. */
  attachJournal(journal: Journal): void {
    this.journal = journal;
  }

  private log(entry: Document): void {
    this.journal?.append(entry);
  }

  flush(): void {
    this.journal?.flush();
  }

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /** The collection, created (implicitly, as inserts and upserts do) if missing. */
  ensureCollection(db: string, name: string, options: Document = {}): Collection {
    const existing = this.collection(db, name);
    if (existing) return existing;
    validateName(db, name);
    let colls = this.dbs.get(db);
    if (!colls) this.dbs.set(db, (colls = new Map()));
    const coll = new Collection(db, name, options);
    colls.set(name, coll);
    this.log({ o: 'c', d: db, c: name, opts: options });
    return coll;
  }

  dropCollection(db: string, name: string): boolean {
    const colls = this.dbs.get(db);
    if (!colls?.delete(name)) return false;
    if (colls.size === 0) this.dbs.delete(db);
    this.log({ o: 'x', d: db, c: name });
    return true;
  }

  dropDatabase(db: string): void {
    if (!this.dbs.delete(db)) return;
    this.log({ o: 'X', d: db });
  }

  renameCollection(db: string, from: string, toDb: string, to: string): void {
    const coll = this.collection(db, from);
    if (!coll) throw new CommandError(26, 'NamespaceNotFound', `Source collection ${db}.${from} does not exist`);
    validateName(toDb, to);
    const moved = new Collection(toDb, to, coll.options);
    for (const [n, idx] of coll.indexes) moved.indexes.set(n, idx);
    for (const [id, d] of coll.docs) moved.docs.set(id, d);
    this.dbs.get(db)!.delete(from);
    if (this.dbs.get(db)!.size === 0) this.dbs.delete(db);
    let colls = this.dbs.get(toDb);
    if (!colls) this.dbs.set(toDb, (colls = new Map()));
    colls.set(to, moved);
    this.log({ o: 'm', d: db, c: from, td: toDb, tc: to });
  }

  insert(coll: Collection, doc: Document): void {
    coll.insert(doc);
    this.log({ o: 'p', d: coll.db, c: coll.name, doc });
  }

  replace(coll: Collection, id: string, doc: Document): void {
    coll.replace(id, doc);
    this.log({ o: 'p', d: coll.db, c: coll.name, doc });
  }

  remove(coll: Collection, id: string): Document | undefined {
    const old = coll.remove(id);
    if (old) this.log({ o: 'r', d: coll.db, c: coll.name, id: old._id });
    return old;
  }

  createIndex(coll: Collection, spec: IndexSpec): void {
    coll.addIndex(spec);
    this.log({ o: 'i', d: coll.db, c: coll.name, spec });
  }

  dropIndex(coll: Collection, name: string): void {
    coll.indexes.delete(name);
    this.log({ o: 'j', d: coll.db, c: coll.name, n: name });
  }

  /** Changes options of an index in place (collMod: expireAfterSeconds). */
  updateIndexSpec(coll: Collection, spec: IndexSpec): void {
    const index = coll.indexes.get(spec.name);
    if (!index) throw new CommandError(27, 'IndexNotFound', `index not found with name [${spec.name}]`);
    Object.assign(index.spec, spec);
    this.log({ o: 'i', d: coll.db, c: coll.name, spec: index.spec });
  }

  /** Number of stored documents, to decide when the journal is worth compacting. */
  countDocuments(): number {
    let n = 0;
    for (const colls of this.dbs.values()) for (const c of colls.values()) n += c.docs.size;
    return n;
  }

  /** The live data as journal entries (for compaction). */
  *snapshot(): Generator<Document> {
    for (const [db, colls] of this.dbs) {
      for (const [name, coll] of colls) {
        yield { o: 'c', d: db, c: name, opts: coll.options };
        for (const index of coll.indexes.values()) yield { o: 'i', d: db, c: name, spec: index.spec };
        for (const doc of coll.docs.values()) yield { o: 'p', d: db, c: name, doc };
      }
    }
  }

  /** Applies one journal entry at start; returns false if it could not be applied. */
  replayEntry(entry: Document): boolean {
    try {
      this.apply(entry);
      return true;
    } catch {
      return false;
    }
  }

  private apply(e: Document): void {
    const db = e.d as string;
    const name = e.c as string;
    switch (e.o) {
      case 'c':
        this.ensureCollection(db, name, (e.opts as Document) ?? {});
        return;
      case 'x':
        this.dropCollection(db, name);
        return;
      case 'X':
        this.dropDatabase(db);
        return;
      case 'm':
        this.renameCollection(db, name, e.td as string, e.tc as string);
        return;
      case 'i': {
        const coll = this.ensureCollection(db, name);
        const spec = e.spec as IndexSpec;
        if (coll.indexes.has(spec.name)) Object.assign(coll.indexes.get(spec.name)!.spec, spec);
        else coll.addIndex(spec);
        return;
      }
      case 'j':
        this.collection(db, name)?.indexes.delete(e.n as string);
        return;
      case 'p': {
        const coll = this.ensureCollection(db, name);
        const doc = e.doc as Document;
        const id = keyOf(doc._id);
        if (coll.docs.has(id)) coll.replace(id, doc);
        else coll.insert(doc);
        return;
      }
      case 'r':
        this.collection(db, name)?.remove(keyOf(e.id));
        return;
      default:
        throw new Error(`unknown journal entry ${String(e.o)}`);
    }
  }
}

function validateName(db: string, name: string): void {
  if (!db || /[/\\. "$\0]/.test(db)) throw new CommandError(73, 'InvalidNamespace', `Invalid database name: '${db}'`);
  if (!name || name.includes('$') || name.includes('\0') || name.startsWith('.')) {
    throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: '${name}'`);
  }
}

export { ID_INDEX };

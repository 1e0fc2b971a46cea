/**
 * The commands of the offline engine. Each handler takes the command document and returns
 * the reply; errors are thrown as CommandError. A command this file does not know is
 * refused with code 59 (CommandNotFound), never accepted and dropped.
 */
import { Long, ObjectId, calculateObjectSize, type Document } from 'bson';
import { Aggregator, Query } from 'mingo';
import type { Options as MingoOptions } from 'mingo/types';
import { Collection, ID_INDEX, type IndexSpec } from './collection';
import { CommandError, badValue, commandNotFound, failedToParse, namespaceNotFound, noTransactions, notSupported } from './errors';
import { compileEqualityFilter } from './fast-path';
import { keyOf, sameValue } from './keys';
import type { Store } from './store';
import { applyUpdate, buildUpsertDocument, validateUpdate } from './update';

export const SERVER_VERSION = '7.0.0';
const MAX_WIRE_VERSION = 21;
const MAX_BSON_SIZE = 16 * 1024 * 1024;
/** Leave room for the reply envelope around a batch. */
const MAX_BATCH_BYTES = MAX_BSON_SIZE - 64 * 1024;
const CURSOR_IDLE_MS = 10 * 60 * 1000;

interface Cursor {
  ns: string;
  docs: Document[];
  pos: number;
  lastUsed: number;
}

export interface ConnectionInfo {
  id: number;
}

type Handler = (cmd: Document, db: string, conn: ConnectionInfo) => Document;

export class CommandProcessor {
  private cursors = new Map<number, Cursor>();
  private nextCursorId = 1;
  private readonly started = Date.now();
  private readonly handlers: Record<string, Handler>;

  constructor(
    readonly store: Store,
    private readonly now: () => Date,
  ) {
    const hello: Handler = (cmd, _db, conn) => this.hello(cmd, conn);
    const buildInfo: Handler = () => ({
      version: SERVER_VERSION,
      gitVersion: 'offline',
      versionArray: [7, 0, 0, 0],
      bits: 64,
      maxBsonObjectSize: MAX_BSON_SIZE,
      storageEngines: ['offline'],
      modules: [],
      ok: 1,
    });
    this.handlers = {
      hello,
      isMaster: hello,
      ismaster: hello,
      ping: () => ({ ok: 1 }),
      buildInfo,
      buildinfo: buildInfo,
      getParameter: (cmd) => this.getParameter(cmd),
      getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
      endSessions: () => ({ ok: 1 }),
      killAllSessions: () => ({ ok: 1 }),
      whatsmyuri: (_c, _d, conn) => ({ you: `127.0.0.1:${conn.id}`, ok: 1 }),
      connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
      hostInfo: () => ({ system: { currentTime: this.now(), hostname: 'offline' }, os: {}, extra: {}, ok: 1 }),
      serverStatus: () => ({
        host: 'offline',
        version: SERVER_VERSION,
        process: 'offline-engine',
        pid: process.pid,
        uptime: Math.floor((Date.now() - this.started) / 1000),
        localTime: this.now(),
        ok: 1,
      }),
      listCommands: () => ({ commands: Object.fromEntries(Object.keys(this.handlers).map((k) => [k, {}])), ok: 1 }),
      find: (cmd, db) => this.find(cmd, db),
      getMore: (cmd, db) => this.getMore(cmd, db),
      killCursors: (cmd) => this.killCursors(cmd),
      insert: (cmd, db) => this.insert(cmd, db),
      update: (cmd, db) => this.update(cmd, db),
      delete: (cmd, db) => this.delete(cmd, db),
      findAndModify: (cmd, db) => this.findAndModify(cmd, db),
      findandmodify: (cmd, db) => this.findAndModify({ ...cmd, findAndModify: cmd.findandmodify }, db),
      count: (cmd, db) => this.count(cmd, db),
      distinct: (cmd, db) => this.distinct(cmd, db),
      aggregate: (cmd, db) => this.aggregate(cmd, db),
      create: (cmd, db) => this.create(cmd, db),
      drop: (cmd, db) => this.drop(cmd, db),
      dropDatabase: (_cmd, db) => {
        this.store.dropDatabase(db);
        return { dropped: db, ok: 1 };
      },
      listCollections: (cmd, db) => this.listCollections(cmd, db),
      listDatabases: (cmd) => this.listDatabases(cmd),
      createIndexes: (cmd, db) => this.createIndexes(cmd, db),
      listIndexes: (cmd, db) => this.listIndexes(cmd, db),
      dropIndexes: (cmd, db) => this.dropIndexes(cmd, db),
      deleteIndexes: (cmd, db) => this.dropIndexes({ ...cmd, dropIndexes: cmd.deleteIndexes }, db),
      collMod: (cmd, db) => this.collMod(cmd, db),
      renameCollection: (cmd) => this.renameCollection(cmd),
      dbStats: (_cmd, db) => this.dbStats(db),
      collStats: (cmd, db) => this.collStats(cmd, db),
      commitTransaction: () => {
        throw noTransactions();
      },
      abortTransaction: () => {
        throw noTransactions();
      },
    };
  }

  /** Runs one command and returns its reply (`ok: 0` replies included). */
  execute(cmd: Document, conn: ConnectionInfo): Document {
    const name = Object.keys(cmd)[0];
    try {
      if (!name) throw failedToParse('empty command');
      const handler = Object.prototype.hasOwnProperty.call(this.handlers, name) ? this.handlers[name] : undefined;
      if (!handler) throw commandNotFound(name);
      if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) throw noTransactions();
      const db = typeof cmd.$db === 'string' ? cmd.$db : 'test';
      return handler(cmd, db, conn);
    } catch (e) {
      if (e instanceof CommandError) return e.toReply();
      const message = e instanceof Error ? e.message : String(e);
      // mingo reports unknown or malformed operators with plain errors
      return new CommandError(2, 'BadValue', message).toReply();
    } finally {
      this.store.flush();
    }
  }

  // ---------------------------------------------------------------- handshake & admin

  private hello(cmd: Document, conn: ConnectionInfo): Document {
    return {
      helloOk: true,
      ismaster: true,
      isWritablePrimary: true,
      maxBsonObjectSize: MAX_BSON_SIZE,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: this.now(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: conn.id,
      minWireVersion: 0,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
      ...(cmd.saslSupportedMechs ? { saslSupportedMechs: [] } : {}),
      ok: 1,
    };
  }

  private getParameter(cmd: Document): Document {
    const known: Document = { featureCompatibilityVersion: { version: '7.0' }, authenticationMechanisms: [] };
    const out: Document = { ok: 1 };
    for (const k of Object.keys(cmd)) if (k in known) out[k] = known[k];
    return out;
  }

  private dbStats(db: string): Document {
    const colls = this.store.dbs.get(db);
    let objects = 0;
    for (const c of colls?.values() ?? []) objects += c.docs.size;
    return { db, collections: colls?.size ?? 0, views: 0, objects, indexes: 0, ok: 1 };
  }

  private collStats(cmd: Document, db: string): Document {
    const coll = this.requireCollection(db, cmd.collStats);
    return { ns: coll.ns, count: coll.docs.size, nindexes: coll.indexes.size + 1, ok: 1 };
  }

  // ---------------------------------------------------------------- helpers

  private collectionName(v: unknown): string {
    if (typeof v !== 'string' || v === '') throw new CommandError(73, 'InvalidNamespace', `collection name must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  private requireCollection(db: string, name: unknown): Collection {
    const n = this.collectionName(name);
    const coll = this.store.collection(db, n);
    if (!coll) throw namespaceNotFound(`${db}.${n}`);
    return coll;
  }

  private mingoOptions(cmd: Document, db: string): Partial<MingoOptions> {
    return {
      collectionResolver: (name: string) => Array.from(this.store.collection(db, name)?.docs.values() ?? []),
      ...(cmd.collation ? { collation: cmd.collation as MingoOptions['collation'] } : {}),
      ...(cmd.let ? { variables: cmd.let as Document } : {}),
    };
  }

  /** Documents of `coll` matching `filter`, in natural order; at most `limit` of them if given. */
  private match(coll: Collection | undefined, filter: Document | undefined, options: Partial<MingoOptions>, limit = Infinity): Document[] {
    const f = filter ?? {};
    const out: Document[] = [];
    if (Object.keys(f).length === 0) {
      if (!coll) return out;
      if (limit >= coll.docs.size) return Array.from(coll.docs.values());
      for (const d of coll.docs.values()) {
        if (out.length >= limit) break;
        out.push(d);
      }
      return out;
    }
    // compiled before the collection check so that a bad operator fails even on an empty collection
    const test = compileEqualityFilter(f) ?? predicateOf(new Query(f, options));
    if (!coll) return out;
    for (const d of coll.candidates(f)) {
      if (!test(d)) continue;
      out.push(d);
      if (out.length >= limit) break;
    }
    return out;
  }

  private firstMatch(coll: Collection | undefined, filter: Document | undefined, sort: Document | undefined, options: Partial<MingoOptions>): Document | undefined {
    const sorted = sort && Object.keys(sort).length > 0;
    const docs = this.match(coll, filter, options, sorted ? Infinity : 1);
    if (docs.length <= 1 || !sort || Object.keys(sort).length === 0) return docs[0];
    return new Query({}, options).find(docs).sort(sort as Record<string, 1 | -1>).limit(1).all()[0] as Document | undefined;
  }

  private cursorReply(ns: string, docs: Document[], batchSize: number | undefined, single: boolean): Document {
    const firstBatch = takeBatch(docs, 0, batchSize ?? 101);
    let id = 0;
    if (!single && firstBatch.length < docs.length) {
      id = this.nextCursorId++;
      this.cursors.set(id, { ns, docs, pos: firstBatch.length, lastUsed: Date.now() });
    }
    return { cursor: { id: Long.fromNumber(id), ns, firstBatch }, ok: 1 };
  }

  /** Forgets cursors a client abandoned without killCursors. */
  expireIdleCursors(nowMs = Date.now()): void {
    for (const [id, c] of this.cursors) if (nowMs - c.lastUsed > CURSOR_IDLE_MS) this.cursors.delete(id);
  }

  // ---------------------------------------------------------------- reads

  private find(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.find);
    const coll = this.store.collection(db, name);
    const options = this.mingoOptions(cmd, db);
    if (cmd.filter !== undefined && (typeof cmd.filter !== 'object' || cmd.filter === null)) throw badValue('filter must be an object');
    const sort = cmd.sort as Document | undefined;
    const projection = cmd.projection as Document | undefined;
    const skip = Number(cmd.skip ?? 0);
    const rawLimit = Number(cmd.limit ?? 0);
    const limit = Math.abs(rawLimit);
    const hasSort = sort && Object.keys(sort).length > 0;
    let docs = this.match(coll, cmd.filter as Document | undefined, options, !hasSort && limit ? skip + limit : Infinity);
    const hasProjection = projection && Object.keys(projection).length > 0;
    if (hasSort || hasProjection) {
      let c = new Query({}, options).find(docs, hasProjection ? projection : undefined);
      if (hasSort) c = c.sort(sort as Record<string, 1 | -1>);
      if (skip) c = c.skip(skip);
      if (limit) c = c.limit(limit);
      docs = c.all() as Document[];
    } else if (skip || limit) {
      docs = docs.slice(skip, limit ? skip + limit : undefined);
    }
    const single = cmd.singleBatch === true || rawLimit < 0;
    const batchSize = cmd.batchSize === undefined ? undefined : Number(cmd.batchSize);
    return this.cursorReply(`${db}.${name}`, docs, batchSize === 0 ? 0 : batchSize ?? (single && limit ? limit : undefined), single);
  }

  private getMore(cmd: Document, db: string): Document {
    const id = Number(cmd.getMore);
    const cursor = this.cursors.get(id);
    const ns = `${db}.${String(cmd.collection)}`;
    if (!cursor) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
    if (cursor.ns !== ns) throw new CommandError(13, 'Unauthorized', `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    const batchSize = cmd.batchSize === undefined ? Infinity : Number(cmd.batchSize) || Infinity;
    const nextBatch = takeBatch(cursor.docs, cursor.pos, batchSize);
    cursor.pos += nextBatch.length;
    cursor.lastUsed = Date.now();
    const done = cursor.pos >= cursor.docs.length;
    if (done) this.cursors.delete(id);
    return { cursor: { id: Long.fromNumber(done ? 0 : id), ns, nextBatch }, ok: 1 };
  }

  private killCursors(cmd: Document): Document {
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const raw of (cmd.cursors as unknown[]) ?? []) {
      const id = Number(raw);
      (this.cursors.delete(id) ? killed : notFound).push(Long.fromNumber(id));
    }
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
  }

  private count(cmd: Document, db: string): Document {
    const coll = this.store.collection(db, this.collectionName(cmd.count));
    let n = this.match(coll, cmd.query as Document | undefined, this.mingoOptions(cmd, db)).length;
    n = Math.max(0, n - Number(cmd.skip ?? 0));
    const limit = Math.abs(Number(cmd.limit ?? 0));
    if (limit) n = Math.min(n, limit);
    return { n, ok: 1 };
  }

  private distinct(cmd: Document, db: string): Document {
    const coll = this.store.collection(db, this.collectionName(cmd.distinct));
    if (typeof cmd.key !== 'string') throw failedToParse("distinct requires a string 'key'");
    const parts = cmd.key.split('.');
    const seen = new Map<string, unknown>();
    for (const d of this.match(coll, cmd.query as Document | undefined, this.mingoOptions(cmd, db))) {
      let v: unknown = d;
      for (const p of parts) {
        if (Array.isArray(v)) v = v.flatMap((e) => (e && typeof e === 'object' ? [(e as Document)[p]] : []));
        else v = v && typeof v === 'object' ? (v as Document)[p] : undefined;
      }
      for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined && !seen.has(keyOf(x))) seen.set(keyOf(x), x);
    }
    return { values: [...seen.values()], ok: 1 };
  }

  private aggregate(cmd: Document, db: string): Document {
    const pipeline = cmd.pipeline;
    if (!Array.isArray(pipeline)) throw failedToParse("'pipeline' option must be specified as an array");
    if (cmd.explain) throw notSupported('explain');
    if (!cmd.cursor || typeof cmd.cursor !== 'object') throw failedToParse("The 'cursor' option is required, except for aggregate with the explain argument");
    const stages = pipeline as Document[];
    for (const s of stages) {
      const stage = Object.keys(s)[0];
      if (stage === '$out' || stage === '$merge') throw notSupported(`The ${stage} aggregation stage`);
      if (stage === '$changeStream') throw new CommandError(40573, 'Location40573', 'The $changeStream stage is only supported on replica sets');
    }
    const options = this.mingoOptions(cmd, db);
    let input: Document[];
    let rest = stages;
    const collName = cmd.aggregate;
    if (collName === 1) {
      if (stages[0] && Object.keys(stages[0])[0] === '$documents') {
        input = [];
      } else throw notSupported('Collection-less aggregate (other than $documents)');
    } else {
      const coll = this.store.collection(db, this.collectionName(collName));
      const first = stages[0];
      if (first && Object.keys(first)[0] === '$match' && Object.keys(first).length === 1) {
        input = this.match(coll, first.$match as Document, options);
        rest = stages.slice(1);
      } else input = coll ? Array.from(coll.docs.values()) : [];
    }
    const readOnly = rest.every((s) => READ_ONLY_STAGES.has(Object.keys(s)[0]!));
    const docs = rest.length === 0 ? input : (new Aggregator(rest, { ...options, processingMode: readOnly ? 0 : 1 }).run(input) as Document[]);
    const ns = collName === 1 ? `${db}.$cmd.aggregate` : `${db}.${String(collName)}`;
    const batchSize = (cmd.cursor as Document).batchSize;
    return this.cursorReply(ns, docs, batchSize === undefined ? undefined : Number(batchSize), false);
  }

  // ---------------------------------------------------------------- writes

  private insert(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.insert);
    const documents = cmd.documents;
    if (!Array.isArray(documents)) throw failedToParse("insert requires a 'documents' array");
    const coll = this.store.ensureCollection(db, name);
    const ordered = cmd.ordered !== false;
    const writeErrors: Document[] = [];
    let n = 0;
    for (let i = 0; i < documents.length; i++) {
      let doc = documents[i] as Document;
      // like mongod, store _id first (mongoose sends it after the schema fields)
      if (doc._id === undefined) doc = { _id: new ObjectId(), ...doc };
      else if (Object.keys(doc)[0] !== '_id') doc = { _id: doc._id, ...doc };
      try {
        if (Array.isArray(doc._id)) throw new CommandError(53, 'InvalidIdField', "The '_id' value cannot be of type array");
        this.store.insert(coll, doc);
        n += 1;
      } catch (e) {
        writeErrors.push(writeError(i, e));
        if (ordered) break;
      }
    }
    return withWriteErrors({ n, ok: 1 }, writeErrors);
  }

  private update(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.update);
    const updates = cmd.updates;
    if (!Array.isArray(updates)) throw failedToParse("update requires an 'updates' array");
    const ordered = cmd.ordered !== false;
    const options = this.mingoOptions(cmd, db);
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (let i = 0; i < updates.length; i++) {
      const op = updates[i] as Document;
      try {
        const r = this.updateOne(db, name, op, options);
        n += r.matched;
        nModified += r.modified;
        if (r.upsertedId !== undefined) {
          n += 1;
          upserted.push({ index: i, _id: r.upsertedId });
        }
      } catch (e) {
        writeErrors.push(writeError(i, e));
        if (ordered) break;
      }
    }
    const reply: Document = { n, nModified, ok: 1 };
    if (upserted.length) reply.upserted = upserted;
    return withWriteErrors(reply, writeErrors);
  }

  /** One statement of an update command. */
  private updateOne(db: string, name: string, op: Document, baseOptions: Partial<MingoOptions>): { matched: number; modified: number; upsertedId?: unknown } {
    const filter = (op.q ?? {}) as Document;
    const u = op.u as Document | Document[];
    validateUpdate(u);
    const multi = op.multi === true;
    if (multi && !Array.isArray(u) && !Object.keys(u)[0]?.startsWith('$')) throw failedToParse('multi update is not supported for replacement-style update');
    const options = op.collation ? { ...baseOptions, collation: op.collation as MingoOptions['collation'] } : baseOptions;
    const ctx = { arrayFilters: op.arrayFilters as Document[] | undefined, filter, inserting: false, variables: options.variables, now: this.now() };
    const coll = this.store.collection(db, name);
    const targets = multi ? this.match(coll, filter, options) : [this.firstMatch(coll, filter, op.sort as Document | undefined, options)].filter((d): d is Document => !!d);
    if (targets.length === 0) {
      if (!op.upsert) return { matched: 0, modified: 0 };
      const doc = buildUpsertDocument(filter, u, ctx);
      this.store.insert(this.store.ensureCollection(db, name), doc);
      return { matched: 0, modified: 0, upsertedId: doc._id };
    }
    let modified = 0;
    for (const old of targets) {
      const next = applyUpdate(old, u, ctx);
      const id = keyOf(old._id);
      if (sameValue(next, old)) continue;
      this.store.replace(coll!, id, next);
      modified += 1;
    }
    return { matched: targets.length, modified };
  }

  private delete(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.delete);
    const deletes = cmd.deletes;
    if (!Array.isArray(deletes)) throw failedToParse("delete requires a 'deletes' array");
    const ordered = cmd.ordered !== false;
    const options = this.mingoOptions(cmd, db);
    const coll = this.store.collection(db, name);
    const writeErrors: Document[] = [];
    let n = 0;
    for (let i = 0; i < deletes.length; i++) {
      const op = deletes[i] as Document;
      try {
        const limit = Number(op.limit ?? 0);
        if (limit !== 0 && limit !== 1) throw failedToParse('The limit field in delete objects must be 0 or 1');
        const targets = limit === 1 ? [this.firstMatch(coll, op.q as Document, undefined, options)].filter((d): d is Document => !!d) : this.match(coll, op.q as Document, options);
        for (const d of targets) if (this.store.remove(coll!, keyOf(d._id))) n += 1;
      } catch (e) {
        writeErrors.push(writeError(i, e));
        if (ordered) break;
      }
    }
    return withWriteErrors({ n, ok: 1 }, writeErrors);
  }

  private findAndModify(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.findAndModify);
    const filter = (cmd.query ?? {}) as Document;
    const options = this.mingoOptions(cmd, db);
    const coll = this.store.collection(db, name);
    const project = (doc: Document | undefined): Document | null => {
      if (!doc) return null;
      const fields = cmd.fields as Document | undefined;
      if (!fields || Object.keys(fields).length === 0) return doc;
      return (new Query({}, options).find([doc], fields).all()[0] as Document | undefined) ?? null;
    };
    const old = this.firstMatch(coll, filter, cmd.sort as Document | undefined, options);
    if (cmd.remove) {
      if (cmd.update !== undefined) throw failedToParse('Cannot specify both an update and remove=true');
      if (old) this.store.remove(coll!, keyOf(old._id));
      return { lastErrorObject: { n: old ? 1 : 0 }, value: project(old), ok: 1 };
    }
    const u = cmd.update as Document | Document[] | undefined;
    if (u === undefined) throw failedToParse('Either an update or remove=true must be specified');
    validateUpdate(u);
    const ctx = { arrayFilters: cmd.arrayFilters as Document[] | undefined, filter, inserting: false, variables: options.variables, now: this.now() };
    if (!old) {
      if (!cmd.upsert) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
      const doc = buildUpsertDocument(filter, u, ctx);
      this.store.insert(this.store.ensureCollection(db, name), doc);
      return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id }, value: cmd.new ? project(doc) : null, ok: 1 };
    }
    const next = applyUpdate(old, u, ctx);
    if (!sameValue(next, old)) this.store.replace(coll!, keyOf(old._id), next);
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: project(cmd.new ? next : old), ok: 1 };
  }

  // ---------------------------------------------------------------- collections & indexes

  private create(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.create);
    for (const opt of ['capped', 'validator', 'viewOn', 'pipeline', 'timeseries', 'clusteredIndex', 'changeStreamPreAndPostImages', 'encryptedFields']) {
      if (cmd[opt] !== undefined && cmd[opt] !== false) throw notSupported(`create with '${opt}'`);
    }
    if (this.store.collection(db, name)) throw new CommandError(48, 'NamespaceExists', `Collection ${db}.${name} already exists.`);
    this.store.ensureCollection(db, name);
    return { ok: 1 };
  }

  private drop(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.drop);
    const coll = this.store.collection(db, name);
    const nIndexesWas = coll ? coll.indexes.size + 1 : 0;
    this.store.dropCollection(db, name);
    return { nIndexesWas, ns: `${db}.${name}`, ok: 1 };
  }

  private renameCollection(cmd: Document): Document {
    const [fromDb, ...fromRest] = String(cmd.renameCollection).split('.');
    const [toDb, ...toRest] = String(cmd.to).split('.');
    const from = fromRest.join('.');
    const to = toRest.join('.');
    if (this.store.collection(toDb!, to)) {
      if (!cmd.dropTarget) throw new CommandError(48, 'NamespaceExists', `target namespace exists`);
      this.store.dropCollection(toDb!, to);
    }
    this.store.renameCollection(fromDb!, from, toDb!, to);
    return { ok: 1 };
  }

  private listCollections(cmd: Document, db: string): Document {
    const colls = [...(this.store.dbs.get(db)?.values() ?? [])];
    let infos: Document[] = colls.map((c) =>
      cmd.nameOnly ? { name: c.name, type: 'collection' } : { name: c.name, type: 'collection', options: c.options, info: { readOnly: false }, idIndex: ID_INDEX },
    );
    if (cmd.filter && Object.keys(cmd.filter as Document).length) infos = new Query(cmd.filter as Document).find(infos).all() as Document[];
    return this.cursorReply(`${db}.$cmd.listCollections`, infos, (cmd.cursor as Document | undefined)?.batchSize as number | undefined, false);
  }

  private listDatabases(cmd: Document): Document {
    let dbs: Document[] = [...this.store.dbs.keys()].map((name) => ({ name, sizeOnDisk: 0, empty: false }));
    if (cmd.filter && Object.keys(cmd.filter as Document).length) dbs = new Query(cmd.filter as Document).find(dbs).all() as Document[];
    if (cmd.nameOnly) dbs = dbs.map((d) => ({ name: d.name }));
    return { databases: dbs, totalSize: 0, ok: 1 };
  }

  private createIndexes(cmd: Document, db: string): Document {
    const name = this.collectionName(cmd.createIndexes);
    const specs = cmd.indexes;
    if (!Array.isArray(specs) || specs.length === 0) throw failedToParse("createIndexes requires a non-empty 'indexes' array");
    const existed = this.store.collection(db, name);
    const coll = this.store.ensureCollection(db, name);
    const before = coll.indexes.size + 1;
    const toCreate: IndexSpec[] = [];
    for (const raw of specs as Document[]) {
      const spec = normalizeIndexSpec(raw);
      if (spec.name === '_id_' || keyOf(spec.key) === keyOf({ _id: 1 })) continue;
      const same = coll.indexes.get(spec.name);
      const sameKey = [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(spec.key));
      if (same) {
        if (keyOf(same.spec.key) !== keyOf(spec.key)) {
          throw new CommandError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index but different key. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(same.spec)}`);
        }
        if (!sameOptions(same.spec, spec)) {
          throw new CommandError(85, 'IndexOptionsConflict', `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(same.spec)}`);
        }
        continue;
      }
      if (sameKey && sameOptions(sameKey.spec, spec)) continue;
      if (sameKey) {
        throw new CommandError(85, 'IndexOptionsConflict', `An equivalent index already exists with a different name and options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameKey.spec)}`);
      }
      toCreate.push(spec);
    }
    for (const spec of toCreate) this.store.createIndex(coll, spec);
    const reply: Document = { createdCollectionAutomatically: !existed, numIndexesBefore: before, numIndexesAfter: coll.indexes.size + 1, ok: 1 };
    if (toCreate.length === 0) reply.note = 'all indexes already exist';
    return reply;
  }

  private listIndexes(cmd: Document, db: string): Document {
    const coll = this.requireCollection(db, cmd.listIndexes);
    const specs = [ID_INDEX, ...[...coll.indexes.values()].map((i) => i.spec)];
    return this.cursorReply(`${db}.${coll.name}`, specs, (cmd.cursor as Document | undefined)?.batchSize as number | undefined, false);
  }

  private dropIndexes(cmd: Document, db: string): Document {
    const coll = this.requireCollection(db, cmd.dropIndexes);
    const nIndexesWas = coll.indexes.size + 1;
    const target = cmd.index;
    const names: string[] = [];
    if (target === '*') names.push(...coll.indexes.keys());
    else if (typeof target === 'string') names.push(target);
    else if (Array.isArray(target)) names.push(...target.map(String));
    else if (target && typeof target === 'object') {
      const found = [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(target));
      if (!found) throw new CommandError(27, 'IndexNotFound', `can't find index with key: ${JSON.stringify(target)}`);
      names.push(found.spec.name);
    } else throw failedToParse("dropIndexes requires 'index'");
    for (const n of names) {
      if (n === '_id_') throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
      if (!coll.indexes.has(n)) throw new CommandError(27, 'IndexNotFound', `index not found with name [${n}]`);
    }
    for (const n of names) this.store.dropIndex(coll, n);
    return { nIndexesWas, ok: 1 };
  }

  private collMod(cmd: Document, db: string): Document {
    const coll = this.requireCollection(db, cmd.collMod);
    for (const k of Object.keys(cmd)) {
      if (k === 'collMod' || k === 'index' || IGNORED_FIELDS.has(k)) continue;
      throw notSupported(`collMod '${k}'`);
    }
    const reply: Document = { ok: 1 };
    if (cmd.index) {
      const spec = cmd.index as Document;
      const index = spec.name ? coll.indexes.get(String(spec.name)) : [...coll.indexes.values()].find((i) => keyOf(i.spec.key) === keyOf(spec.keyPattern));
      if (!index) throw new CommandError(27, 'IndexNotFound', `cannot find index ${JSON.stringify(spec.name ?? spec.keyPattern)} for ns ${coll.ns}`);
      for (const k of Object.keys(spec)) if (!['name', 'keyPattern', 'expireAfterSeconds', 'hidden'].includes(k)) throw notSupported(`collMod index option '${k}'`);
      if (spec.expireAfterSeconds !== undefined) {
        reply.expireAfterSeconds_old = index.spec.expireAfterSeconds;
        reply.expireAfterSeconds_new = Number(spec.expireAfterSeconds);
        this.store.updateIndexSpec(coll, { ...index.spec, expireAfterSeconds: Number(spec.expireAfterSeconds) });
      }
    }
    return reply;
  }

  // ---------------------------------------------------------------- TTL

  /** Deletes documents whose TTL index date has passed. Returns how many were deleted. */
  sweepExpired(): number {
    const nowMs = this.now().getTime();
    let removed = 0;
    for (const colls of this.store.dbs.values()) {
      for (const coll of colls.values()) {
        for (const index of coll.indexes.values()) {
          const ttl = index.spec.expireAfterSeconds;
          if (typeof ttl !== 'number' || index.fields.length !== 1) continue;
          const parts = index.fields[0]!.split('.');
          const expired: string[] = [];
          for (const [id, doc] of coll.docs) {
            const when = earliestDate(doc, parts);
            if (when !== undefined && when + ttl * 1000 <= nowMs) expired.push(id);
          }
          for (const id of expired) if (this.store.remove(coll, id)) removed += 1;
        }
      }
    }
    this.store.flush();
    return removed;
  }
}

function predicateOf(q: Query): (doc: Document) => boolean {
  return (doc) => q.test(doc);
}

const READ_ONLY_STAGES = new Set(['$match', '$group', '$sort', '$skip', '$limit', '$count', '$project', '$sortByCount']);

/** Fields drivers add to any command; they change nothing for a single in-process node. */
const IGNORED_FIELDS = new Set(['$db', 'lsid', '$clusterTime', '$readPreference', 'writeConcern', 'readConcern', 'comment', 'maxTimeMS', 'apiVersion', 'apiStrict', 'apiDeprecationErrors']);

function earliestDate(doc: Document, parts: string[]): number | undefined {
  let v: unknown = doc;
  for (const p of parts) v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Document)[p] : undefined;
  const values = Array.isArray(v) ? v : [v];
  let min: number | undefined;
  for (const x of values) if (x instanceof Date && (min === undefined || x.getTime() < min)) min = x.getTime();
  return min;
}

function takeBatch(docs: Document[], from: number, size: number): Document[] {
  const end = Math.min(docs.length, from + size);
  const out: Document[] = [];
  let bytes = 0;
  for (let i = from; i < end; i++) {
    const doc = docs[i]!;
    // only large documents (GridFS chunks) can push a batch over the BSON limit
    bytes += out.length < 16 ? calculateObjectSize(doc) : estimateSize(doc, bytes / out.length);
    if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
    out.push(doc);
  }
  return out;
}

function estimateSize(doc: Document, average: number): number {
  return average > 16 * 1024 ? calculateObjectSize(doc) : average;
}

function writeError(index: number, e: unknown): Document {
  if (e instanceof CommandError) return { index, code: e.code, codeName: e.codeName, errmsg: e.message, ...e.extra };
  return { index, code: 2, codeName: 'BadValue', errmsg: e instanceof Error ? e.message : String(e) };
}

function withWriteErrors(reply: Document, writeErrors: Document[]): Document {
  if (writeErrors.length) reply.writeErrors = writeErrors;
  return reply;
}

const INDEX_OPTIONS = new Set(['key', 'name', 'unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'background', 'v', 'hidden', 'ns']);

function normalizeIndexSpec(raw: Document): IndexSpec {
  const key = raw.key as Document | undefined;
  if (!key || typeof key !== 'object' || Object.keys(key).length === 0) throw failedToParse('index specification must have a non-empty key');
  for (const k of Object.keys(raw)) {
    if (k === 'collation' || k === 'weights' || k === 'default_language' || k === '2dsphereIndexVersion') throw notSupported(`index option '${k}'`);
    if (!INDEX_OPTIONS.has(k)) throw badValue(`The field '${k}' is not valid for an index specification`);
  }
  const normKey: Document = {};
  for (const f of Object.keys(key)) {
    const d = key[f];
    normKey[f] = typeof d === 'number' ? (d < 0 ? -1 : 1) : d;
  }
  const name = typeof raw.name === 'string' ? raw.name : Object.entries(normKey).map(([f, d]) => `${f}_${String(d)}`).join('_');
  const spec: IndexSpec = { v: 2, key: normKey, name };
  if (raw.unique) spec.unique = true;
  if (raw.sparse) spec.sparse = true;
  if (raw.partialFilterExpression) spec.partialFilterExpression = raw.partialFilterExpression as Document;
  if (raw.expireAfterSeconds !== undefined) spec.expireAfterSeconds = Number(raw.expireAfterSeconds);
  if (raw.hidden) spec.hidden = true;
  return spec;
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return (
    !!a.unique === !!b.unique &&
    !!a.sparse === !!b.sparse &&
    keyOf(a.partialFilterExpression) === keyOf(b.partialFilterExpression) &&
    a.expireAfterSeconds === b.expireAfterSeconds
  );
}

/**
 * The shared test database. `test/support/setup.ts` starts ONE engine for the whole mocha
 * run (TEST_MONGODB_URI or MONGODB_URI if set, else a local mongod if mongodb-memory-server finds a binary
 * without downloading, else the in-memory offline engine); every test file then gets its own
 * freshly named database on it, so files never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import { MongoMemoryServer } from 'mongodb-memory-server';
import { connectToOfflineEngine, findLocalMongod, withDatabaseName, type Database } from '../../src/db/connect';
import { startOfflineEngine, type OfflineEngine } from '../../src/db/offline/server';
import { createLogger, type Logger } from '../../src/logger';

export interface SharedTestEngine {
  kind: Database['engine'];
  /** Connection string without a database name. */
  baseUri: string;
  /** Set when the shared engine is the offline engine (e.g. to run its TTL sweep now). */
  offline?: OfflineEngine;
  stop(): Promise<void>;
}

// mocha may load this module through more than one path; one engine per process regardless
const KEY = Symbol.for('lti-certificates.test-database');
type Holder = { [KEY]?: Promise<SharedTestEngine> };
const holder = globalThis as Holder;

/** A logger that keeps the offline engine's start banner out of test output. */
export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error: createLogger('db:test').error };

async function startEngine(): Promise<SharedTestEngine> {
  // tests are the one place allowed to read these variables: TEST_MONGODB_URI, or MONGODB_URI (the
  // application's own setting, so that `MONGODB_URI=… npm test` runs the suite — the compatibility
  // suite test/db/compat.spec.ts first of all — against that real MongoDB). Use a throwaway server:
  // every test file creates and drops a database of its own on it.
  const external = process.env.TEST_MONGODB_URI ?? process.env.MONGODB_URI;
  if (external) {
    // drop the database name, keep hosts and options: mongodb://h1,h2/db?replicaSet=rs0 → mongodb://h1,h2?replicaSet=rs0
    const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(external);
    return { kind: 'external', baseUri: m ? `${m[1]}${m[2] ?? ''}` : external, stop: async () => undefined };
  }
  if (await findLocalMongod()) {
    const server = await MongoMemoryServer.create();
    return { kind: 'mongod', baseUri: server.getUri().replace(/\/$/, ''), stop: async () => void (await server.stop()) };
  }
  const offline = await startOfflineEngine({ logger: quietLogger, ttlSweepMs: 100 });
  return { kind: 'offline', baseUri: offline.uri, offline, stop: () => offline.stop() };
}

/** Starts the shared engine once per process (the root hook calls it; later calls reuse it). */
export function startSharedTestEngine(): Promise<SharedTestEngine> {
  holder[KEY] ??= startEngine();
  return holder[KEY];
}

/** Stops the shared engine (root afterAll hook). */
export async function stopSharedTestEngine(): Promise<void> {
  const pending = holder[KEY];
  holder[KEY] = undefined;
  if (pending) await (await pending).stop();
}

let resolved: SharedTestEngine | undefined;

/** The started shared engine (throws before the root hook ran). */
export function sharedTestEngine(): SharedTestEngine {
  if (!resolved) throw new Error('the shared test database is not started yet: call this inside a test or hook (test/support/setup.ts starts it)');
  return resolved;
}

/** A fresh, unique database name. */
export function freshDatabaseName(): string {
  return `t_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** Connection string of a fresh, unique database on the shared engine (for ltijs, which connects by itself). */
export function testDatabaseUri(): string {
  return withDatabaseName(sharedTestEngine().baseUri, freshDatabaseName());
}

/**
 * A connection to a fresh, uniquely named database on the shared engine. close() drops the
 * database and closes the connection; the shared engine keeps running.
 */
export async function connectTestDatabase(opts: { monitorCommands?: boolean } = {}): Promise<Database> {
  const engine = await ensureResolved();
  const dbName = freshDatabaseName();
  if (engine.offline && !opts.monitorCommands) {
    const db = await connectToOfflineEngine(engine.offline, dbName, false);
    return withDropOnClose(db);
  }
  // monitorCommands in the URI: ltijs connects with the same URI, so its commands are seen too
  // (test/support/db-commands.ts counts them)
  const base = withDatabaseName(engine.baseUri, dbName);
  const uri = opts.monitorCommands ? `${base}${base.includes('?') ? '&' : '?'}monitorCommands=true` : base;
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  return withDropOnClose({ uri, engine: engine.kind, connection, close: () => connection.close() });
}

async function ensureResolved(): Promise<SharedTestEngine> {
  resolved ??= await startSharedTestEngine();
  return resolved;
}

/** Resolves the shared engine for synchronous helpers; called by the root hook. */
export async function prepareSharedTestEngine(): Promise<SharedTestEngine> {
  return ensureResolved();
}

const teardowns: (() => Promise<void>)[] = [];

/** Registers work to do before the shared engine stops (e.g. closing a shared app that uses it). */
export function beforeSharedTestEngineStops(fn: () => Promise<void>): void {
  teardowns.push(fn);
}

/** Runs the registered teardowns, then stops the shared engine (root afterAll hook). */
export async function releaseSharedTestEngine(): Promise<void> {
  for (const fn of teardowns.splice(0).reverse()) await fn();
  resolved = undefined;
  await stopSharedTestEngine();
}

function withDropOnClose(db: Database): Database {
  let closed = false;
  return {
    ...db,
    async close() {
      if (closed) return;
      closed = true;
      if (db.connection.readyState === 1) await db.connection.dropDatabase().catch(() => undefined);
      await db.close();
    },
  };
}

/** The database handle `useTestDatabase()` gives a spec: valid inside its tests and hooks. */
export interface TestDatabase {
  /** The mongoose connection to this spec's own database. */
  readonly connection: Connection;
  /** The whole handle (uri, engine kind, close), for code that takes a Database. */
  readonly database: Database;
}

/**
 * A fresh database for the enclosing `describe` (mocha `before`/`after` hooks): connected
 * before its first test, dropped and closed after its last. `indexes` are models whose indexes
 * must exist before the tests run (unique indexes that idempotency relies on).
 *
 *   describe('issuing certificates', () => {
 *     const db = useTestDatabase({ indexes: [issueModel] });
 *     it('…', async () => { await seedCourse(db.connection, …); });
 *   });
 */
export function useTestDatabase(opts: { indexes?: Array<(conn: Connection) => Model<any>> } = {}): TestDatabase {
  let current: Database | undefined;
  before(async function () {
    this.timeout(60_000);
    current = await connectTestDatabase();
    for (const model of opts.indexes ?? []) await model(current.connection).init();
  });
  after(async () => {
    await current?.close();
    current = undefined;
  });
  const open = (): Database => {
    if (!current) throw new Error('useTestDatabase(): the database is only open inside the tests and hooks of the describe that called it');
    return current;
  };
  return {
    get connection() {
      return open().connection;
    },
    get database() {
      return open();
    },
  };
}

/**
 * Connecting to MongoDB. In order of choice: MONGODB_URI; otherwise the embedded default
 * (EMBEDDED_DB): a real `mongod` run by mongodb-memory-server with its data in
 * `<DATA_DIR>/mongod`, or, where no mongod can be had (no binary and no way to download
 * one), the offline engine in `src/db/offline` with its journal in `<DATA_DIR>/offline`.
 *
 * ltijs calls `mongoose.connect(uri)` on its own, so `Database.uri` always names the database.
 *
 * The tool's connection belongs to a Mongoose instance of its own (`toolMongoose`), never to the
 * default one ltijs uses: when a database outage outlasts a server selection, ltijs answers the
 * error with `mongoose.disconnect()`, which closes every connection of the default instance for
 * good (the tool then answered 500 `MongoNotConnectedError` until restarted). On its own instance
 * our connection is left to the driver, which reconnects by itself when MongoDB is back; ltijs
 * reopens its own connection with its retry loop (Utils/Database.js, 'disconnected' handler).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { DryMongoBinary, MongoMemoryServer } from 'mongodb-memory-server';
// not re-exported by mongodb-memory-server; only used to name the download host in logs and the probe
import { MongoBinaryDownloadUrl } from 'mongodb-memory-server-core/lib/util/MongoBinaryDownloadUrl.js';
import { ConfigError, type Config } from '../config';
import { createLogger } from '../logger';
import { startOfflineEngine, type OfflineEngine } from './offline/server';

const log = createLogger('db');

/** The tool's own Mongoose instance (see the file comment); ltijs keeps the default one. */
export const toolMongoose = new mongoose.Mongoose();

/** ltijs's connection (the default Mongoose instance's), for /readyz and the watchdog. */
export function ltijsConnection(): mongoose.Connection {
  return mongoose.connection;
}

/** Default database name when MONGODB_URI names none, and for the embedded engines. */
export const DEFAULT_DB_NAME = 'lti-certificates';
const SERVER_SELECTION_TIMEOUT_MS = 5000;
/** How long 'auto' waits to learn whether the mongod download host is reachable. */
const DOWNLOAD_PROBE_TIMEOUT_MS = 3000;

export interface Database {
  /** Connection string including the database name (ltijs reuses it). */
  uri: string;
  engine: 'external' | 'mongod' | 'offline';
  connection: mongoose.Connection;
  /** Closes the connection and stops the embedded engine or mongod this call started. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Database name when the URI names none (default `lti-certificates`). */
  dbName?: string;
  /**
   * Whether 'auto' may download mongod from `host` when no binary is available locally
   * (default: a 3-second reachability check of the host). Tests pass `async () => false`.
   */
  canDownload?: (host: string) => Promise<boolean>;
}

/**
 * Connects to the database chosen by `config` (see the file comment). Throws ConfigError
 * with a one-line message if MONGODB_URI cannot be reached within about 5 seconds.
 */
export async function connectDatabase(
  config: Pick<Config, 'mongodbUri' | 'dataDir' | 'embeddedDb'>,
  opts: ConnectOptions = {},
): Promise<Database> {
  const dbName = opts.dbName ?? DEFAULT_DB_NAME;
  if (config.mongodbUri) {
    const uri = withDatabaseName(config.mongodbUri, dbName);
    const connection = await openConnection(uri, 'MONGODB_URI');
    return { uri, engine: 'external', connection, close: () => connection.close() };
  }
  const offlineDir = join(config.dataDir, 'offline');
  const mongodDir = join(config.dataDir, 'mongod');
  // 'auto' stays with the engine that already holds this DATA_DIR's data, so that a mongod
  // becoming available (or not) never shows an empty database in place of the real one
  const stayOffline = config.embeddedDb === 'auto' && hasFiles(offlineDir) && !hasFiles(mongodDir);
  if (config.embeddedDb !== 'offline' && !stayOffline) {
    const mongod = await startMongod(config.dataDir, config.embeddedDb === 'mongod', opts.canDownload ?? ((host) => isReachable(host, 443, DOWNLOAD_PROBE_TIMEOUT_MS)));
    if (!mongod && hasFiles(mongodDir)) {
      throw new ConfigError(
        `Cannot start mongod, and ${mongodDir} holds a mongod database the offline engine cannot read; ` +
          'make mongod available (MONGOMS_SYSTEM_BINARY or internet once), set MONGODB_URI, or set EMBEDDED_DB=offline to start with an empty offline database',
      );
    }
    if (mongod) {
      const uri = mongod.getUri(dbName);
      try {
        const connection = await openConnection(uri, 'the embedded mongod');
        return {
          uri,
          engine: 'mongod',
          connection,
          async close() {
            await connection.close();
            await mongod.stop({ doCleanup: false });
          },
        };
      } catch (e) {
        await mongod.stop({ doCleanup: false });
        throw e;
      }
    }
  }
  const engine = await startOfflineEngine({ dir: offlineDir });
  return connectToOfflineEngine(engine, dbName, true);
}

function hasFiles(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** Opens a connection on a running offline engine; `owned` engines are stopped by close(). */
export async function connectToOfflineEngine(engine: OfflineEngine, dbName: string, owned: boolean): Promise<Database> {
  const uri = `${engine.uri}/${dbName}`;
  try {
    const connection = await openConnection(uri, 'the offline database engine');
    return {
      uri,
      engine: 'offline',
      connection,
      async close() {
        await connection.close();
        if (owned) await engine.stop();
      },
    };
  } catch (e) {
    if (owned) await engine.stop();
    throw e;
  }
}

/**
 * True when the database answers a ping within 2 seconds on every given connection (GET /readyz
 * passes the tool's and ltijs's).
 */
export async function pingDatabase(db: Database, others: mongoose.Connection[] = []): Promise<boolean> {
  const results = await Promise.all([db.connection, ...others].map(pingConnection));
  return results.every(Boolean);
}

async function pingConnection(connection: mongoose.Connection): Promise<boolean> {
  const handle = connection.db;
  if (!handle || connection.readyState !== 1) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const ping = handle.admin().command({ ping: 1 }).then((r) => r.ok === 1);
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000)));
    return await Promise.race([ping, timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function openConnection(uri: string, source: string): Promise<mongoose.Connection> {
  const connection = toolMongoose.createConnection(uri, { serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS });
  try {
    await connection.asPromise();
    return connection;
  } catch (e) {
    await connection.close().catch(() => undefined);
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new ConfigError(`Cannot reach MongoDB at ${describeHosts(uri)} (${source}): ${reason}`);
  }
}

/** The hosts of a connection string, without credentials, for error messages. */
export function describeHosts(uri: string): string {
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/.exec(uri);
  return m?.[1] || uri;
}

/** Adds `dbName` to a connection string that names no database; keeps one that does. */
export function withDatabaseName(uri: string, dbName: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!m) return uri;
  const path = m[2] ?? '';
  if (path.length > 1) return uri;
  return `${m[1]}/${dbName}${m[3] ?? ''}`;
}

/**
 * Starts mongod through mongodb-memory-server, persisting to `<dataDir>/mongod`. With
 * `required` false ('auto'), returns undefined quickly when no binary is available locally
 * and the download host cannot be reached, so that start falls back to the offline engine;
 * where the host is reachable, mongodb-memory-server downloads mongod as usual.
 */
async function startMongod(dataDir: string, required: boolean, canDownload: (host: string) => Promise<boolean>): Promise<MongoMemoryServer | undefined> {
  if (!required) {
    const binary = await findLocalMongod();
    if (!binary) {
      const host = await downloadHost();
      if (!(await canDownload(host))) {
        log.info(`no local mongod binary and ${host} is unreachable: using the offline database engine (EMBEDDED_DB=auto)`);
        return undefined;
      }
      log.info(`no local mongod binary: mongodb-memory-server downloads one from ${host} (first start only)`);
    }
  }
  const dbPath = join(dataDir, 'mongod');
  mkdirSync(dbPath, { recursive: true });
  try {
    const server = await MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
    log.info(`embedded mongod started, data in ${dbPath}`);
    return server;
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    if (required) throw new ConfigError(`Cannot start the embedded mongod (EMBEDDED_DB=mongod): ${reason}; set EMBEDDED_DB=auto or offline, or MONGODB_URI`);
    log.warn(`embedded mongod could not start (${reason}): using the offline database engine`);
    return undefined;
  }
}

/** Path of a mongod binary available without download (MONGOMS_SYSTEM_BINARY or the cache). */
export async function findLocalMongod(): Promise<string | undefined> {
  try {
    const options = await DryMongoBinary.generateOptions();
    return await DryMongoBinary.locateBinary(options);
  } catch {
    return undefined;
  }
}

async function downloadHost(): Promise<string> {
  try {
    const url = await new MongoBinaryDownloadUrl(await DryMongoBinary.generateOptions()).getDownloadUrl();
    return new URL(url).hostname;
  } catch {
    return 'fastdl.mongodb.org';
  }
}

async function isReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  const attempt = (async () => {
    try {
      const { address } = await lookup(host);
      return await new Promise<boolean>((resolve) => {
        const socket = tcpConnect({ host: address, port, timeout: timeoutMs });
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.once('connect', () => done(true));
        socket.once('timeout', () => done(false));
        socket.once('error', () => done(false));
      });
    } catch {
      return false;
    }
  })();
  return Promise.race([attempt, deadline]);
}

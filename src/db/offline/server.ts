/**
 * The offline database engine: a small MongoDB wire-protocol server on 127.0.0.1, so that
 * mongoose and ltijs run unchanged on a machine without MongoDB. It keeps everything in
 * memory and, given a directory, persists every acknowledged write to a journal there.
 * It is a development and demo convenience, not a production database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import type { Document } from 'bson';
import { createLogger, type Logger } from '../../logger';
import { CommandProcessor } from './commands';
import { Journal } from './journal';
import { Store } from './store';
import { MessageSplitter, decodeMessage, encodeReply, type IncomingCommand } from './wire';
import { CommandError } from './errors';

export interface OfflineEngineOptions {
  /** Directory for the journal; omit for an in-memory engine (tests). */
  dir?: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** How often TTL indexes are enforced (default 1000 ms). */
  ttlSweepMs?: number;
  /** Compact the journal once it holds this many more lines than live documents (default 100,000). */
  compactSlack?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface OfflineEngine {
  /** `mongodb://127.0.0.1:<port>` (no database name). */
  readonly uri: string;
  readonly port: number;
  /** Runs the TTL sweep now (tests); returns how many documents expired. */
  sweepExpired(): number;
  /** Stops listening, closes client connections and the journal. */
  stop(): Promise<void>;
}

/** Starts the engine. Throws if `dir` is already used by another running engine. */
export async function startOfflineEngine(options: OfflineEngineOptions = {}): Promise<OfflineEngine> {
  const logger = options.logger ?? createLogger('db:offline');
  const now = options.now ?? (() => new Date());
  const store = new Store();
  let journal: Journal | undefined;
  let lockPath: string | undefined;
  const t0 = Date.now();
  if (options.dir) {
    lockPath = acquireLock(options.dir);
    try {
      let failed = 0;
      const opened = Journal.open(options.dir, (entry) => {
        if (!store.replayEntry(entry)) failed += 1;
      });
      journal = opened.journal;
      if (opened.load.droppedBytes) logger.warn(`journal ended with a torn write (${opened.load.droppedBytes} bytes, from a crash); it was dropped`);
      if (opened.load.corruptLines || failed) logger.error(`journal had ${opened.load.corruptLines} unreadable and ${failed} inapplicable entries; they were skipped`);
      store.attachJournal(journal);
      // compact at start once a third of the journal is superseded lines: replay time is start time
      if (journal.lines > 1.5 * store.countDocuments() + 1000) journal.rewrite(store.snapshot());
    } catch (e) {
      releaseLock(lockPath);
      throw e;
    }
  }
  const processor = new CommandProcessor(store, now);
  const compactSlack = options.compactSlack ?? 100_000;
  const maybeCompact = () => {
    if (journal && journal.lines > 2 * store.countDocuments() + compactSlack) journal.rewrite(store.snapshot());
  };

  const sockets = new Set<Socket>();
  let connectionIds = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const conn = { id: ++connectionIds };
    const splitter = new MessageSplitter();
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = splitter.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const msg of messages) {
        let incoming: IncomingCommand | undefined;
        let reply: Document;
        try {
          incoming = decodeMessage(msg);
          reply = processor.execute(incoming.command, conn);
        } catch (e) {
          reply = e instanceof CommandError ? e.toReply() : { ok: 0, errmsg: String(e), code: 1, codeName: 'InternalError' };
          incoming ??= { requestId: msg.readInt32LE(4), command: {}, legacy: msg.readInt32LE(12) === 2004, noReply: false };
        }
        if (!incoming.noReply && !socket.destroyed) socket.write(encodeReply(incoming, reply));
      }
      maybeCompact();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const sweep = setInterval(() => {
    try {
      processor.sweepExpired();
      processor.expireIdleCursors();
      journal?.sync();
    } catch (e) {
      logger.error('TTL sweep failed', e);
    }
  }, options.ttlSweepMs ?? 1000);
  sweep.unref();

  logger.warn(
    `offline database engine (NOT for production) on 127.0.0.1:${port}, ` +
      (options.dir ? `data in ${options.dir}` : 'in memory only') +
      `, ready in ${Date.now() - t0} ms; set MONGODB_URI to use a real MongoDB`,
  );

  let stopped = false;
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    port,
    sweepExpired: () => processor.sweepExpired(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(sweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      journal?.close();
      if (lockPath) releaseLock(lockPath);
    },
  };
}

/**
 * One engine per directory: two writers would interleave their journals. The LOCK file names its
 * owner by pid AND the process's start time (field 22 of /proc/<pid>/stat) plus a random
 * instance id: after a kill -9 the pid may already belong to another process (quickly so in
 * containers, where pids are few), and `kill(pid, 0)` alone then took the lock for still held.
 */
const heldLocks = new Set<string>();
const INSTANCE = randomBytes(8).toString('hex');

interface LockOwner {
  pid: number;
  /** Clock ticks since boot at which the process started (Linux); null where /proc is absent. */
  startTime: string | null;
  instance: string;
}

function acquireLock(dir: string): string {
  const path = resolve(dir, 'LOCK');
  if (existsSync(path)) {
    const owner = readLockOwner(readFileSync(path, 'utf8'));
    const held = owner && (owner.pid === process.pid && owner.instance === INSTANCE ? heldLocks.has(path) : ownerRuns(owner));
    if (owner && held) {
      throw new Error(`the offline database in ${dir} is in use by process ${owner.pid}; stop it first or use another DATA_DIR`);
    }
  }
  Journal.ensureDir(dir);
  const me: LockOwner = { pid: process.pid, startTime: processStartTime(process.pid), instance: INSTANCE };
  writeFileSync(path, JSON.stringify(me));
  heldLocks.add(path);
  return path;
}

/** The owner a LOCK file names; older files hold only a pid. */
export function readLockOwner(text: string): LockOwner | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed), startTime: null, instance: '' };
  try {
    const o = JSON.parse(trimmed) as Partial<LockOwner>;
    if (typeof o.pid !== 'number' || o.pid <= 0) return null;
    return { pid: o.pid, startTime: typeof o.startTime === 'string' ? o.startTime : null, instance: String(o.instance ?? '') };
  } catch {
    return null;
  }
}

/** Whether the process that wrote the lock still runs: its pid is alive and started when it did. */
function ownerRuns(owner: LockOwner): boolean {
  if (!isAlive(owner.pid)) return false;
  const now = processStartTime(owner.pid);
  // without /proc (macOS) or for a lock of an older version, the pid is all there is to go on
  if (owner.startTime === null || now === null) return true;
  return now === owner.startTime;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may itself contain spaces or parentheses
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function releaseLock(path: string): void {
  heldLocks.delete(path);
  rmSync(path, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fault tests drive the tool as a real child process (`node --import tsx src/main.ts`) against a
 * database engine the test owns, so that they can kill or restart either side for real.
 */
import { mkdtempSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mongoose';
import { connectToOfflineEngine } from '../../src/db/connect';
import { startOfflineEngine, type OfflineEngine } from '../../src/db/offline/server';
import { createJobQueue } from '../../src/jobs';
import { jobModel, type JobDoc } from '../../src/jobs/job.model';
import { quietLogger } from '../support/db';
import { spawnTsx, type ChildHandle } from '../support/processes';

/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lticert-fault-${prefix}-`));
}

/** The offline engine with its journal in `dir`, on `port` (restartable on the same port). */
export function startEngine(dir: string, port = 0): Promise<OfflineEngine> {
  return startOfflineEngine({ dir, port, logger: quietLogger, ttlSweepMs: 200 });
}

export interface ToolProcess extends ChildHandle {
  url: string;
}

/**
 * Spawns the tool with `env` on a free port and resolves once it says it is ready. `dataDir`
 * holds its generated secrets (and the embedded database if no MONGODB_URI is given).
 */
export async function spawnTool(env: Record<string, string>, dataDir = tempDir('tool')): Promise<ToolProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const platformDir = join(dataDir, 'platform-config');
  mkdirSync(platformDir, { recursive: true });
  const handle = await spawnTsx('src/main.ts', [], {
    name: 'the tool',
    ready: /is ready at/,
    // a loaded CI machine (or eight test runs on two cores) can take this long to compile and start it
    timeoutMs: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      PLATFORM_CONFIG_DIR: platformDir,
      LOG_LEVEL: 'info',
      ADMIN_SECRET: 'fault-admin-secret-0123456789',
      SHUTDOWN_TIMEOUT_MS: '3000',
      PUPPETEER_EXECUTABLE_PATH: process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium',
      ...env,
    },
  });
  return { ...handle, url: `http://127.0.0.1:${port}` };
}

/** Polls `fn` until it returns true or `ms` pass; returns whether it did. */
export async function waitFor(fn: () => Promise<boolean>, ms: number, every = 200): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn().catch(() => false)) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A connection of the test's own to the database the tool process uses. */
export async function connectTo(engine: OfflineEngine, dbName: string): Promise<Connection> {
  return (await connectToOfflineEngine(engine, dbName, false)).connection;
}

/** Queues a job the way the web routes do, for the tool process to pick up. */
export async function enqueueJob(conn: Connection, kind: string, opts: { courseId: string; payload: unknown }): Promise<string> {
  const queue = createJobQueue({ conn, logger: quietLogger });
  queue.register(kind, async () => undefined); // never started here: only the tool process runs it
  const job = await queue.enqueue(kind, { courseId: opts.courseId, createdBy: { userId: 'teacher-1', name: 'Gandalf Grey' }, payload: opts.payload });
  return job.id;
}

/** The job's document as stored. */
export async function jobDoc(conn: Connection, id: string): Promise<JobDoc | null> {
  return jobModel(conn).findById(id).lean<JobDoc>();
}

/**
 * A killed process cannot hand its job back: the job stays `running` until its 60-second lease
 * runs out. Tests move that moment to now instead of waiting a minute.
 */
export async function expireLease(conn: Connection, id: string): Promise<void> {
  await jobModel(conn).updateOne({ _id: id, status: 'running' }, { $set: { leaseUntil: new Date(Date.now() - 1000) } });
}

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { processStartTime, readLockOwner, startOfflineEngine, type OfflineEngine } from '../../src/db/offline/server';
import { quietLogger } from '../support/db';
import { tempDir } from './support';
import { spawnTsx, type ChildHandle } from '../support/processes';

/** An engine in a child process; resolves with its port once it listens. */
async function engineInChild(dir: string): Promise<ChildHandle & { port: number }> {
  const handle = await spawnTsx('test/faults/fixtures/engine-child.ts', [dir], { name: 'the engine', ready: /ready (\d+)/ });
  return { ...handle, port: Number(handle.match[1]) };
}

describe('the offline engine lock after kill -9', function () {
  this.timeout(30_000);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('a start 0.5 s after kill -9 takes over the directory, with the data the killed engine acknowledged', async () => {
    const dir = tempDir('lock');
    const first = await engineInChild(dir);
    const conn = await mongoose.createConnection(`mongodb://127.0.0.1:${first.port}/locked`).asPromise();
    await conn.collection('things').insertOne({ name: 'kept' });
    await conn.close();
    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 500));

    const engine = await startOfflineEngine({ dir, logger: quietLogger });
    cleanups.push(() => engine.stop());
    const again = await mongoose.createConnection(`${engine.uri}/locked`).asPromise();
    cleanups.push(() => again.close());
    expect(await again.collection('things').findOne({}, { projection: { _id: 0 } })).to.deep.equal({ name: 'kept' });
  });

  it('is not fooled when the dead owner\'s pid now belongs to another running process', async () => {
    const dir = tempDir('lock');
    const first = await engineInChild(dir);
    first.child.kill('SIGKILL');
    await first.exited;
    // the killed engine's pid is reused: here by a long-running process of another program
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(() => other.kill('SIGKILL'));
    const lock = join(dir, 'LOCK');
    const owner = readLockOwner(readFileSync(lock, 'utf8'))!;
    expect(owner.startTime, 'the lock records the start time of its process').to.be.a('string');
    writeFileSync(lock, JSON.stringify({ ...owner, pid: other.pid }));

    let engine: OfflineEngine | undefined;
    try {
      engine = await startOfflineEngine({ dir, logger: quietLogger });
    } finally {
      await engine?.stop();
    }
    expect(engine, 'the start succeeded').to.not.equal(undefined);
  });

  it('still refuses a directory whose engine runs in another process, naming it', async () => {
    const dir = tempDir('lock');
    const running = await engineInChild(dir);
    cleanups.push(async () => {
      running.child.kill('SIGKILL');
      await running.exited;
    });
    const err = await startOfflineEngine({ dir, logger: quietLogger }).then(
      (e) => e.stop().then(() => null),
      (e: Error) => e,
    );
    expect(err?.message).to.equal(`the offline database in ${dir} is in use by process ${running.child.pid}; stop it first or use another DATA_DIR`);
    expect(processStartTime(running.child.pid!)).to.equal(readLockOwner(readFileSync(join(dir, 'LOCK'), 'utf8'))!.startTime);
  });
});

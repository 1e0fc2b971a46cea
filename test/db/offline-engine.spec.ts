/**
 * What only the offline engine has to prove: its journal survives restarts and crashes,
 * its TTL sweep runs on the injected interval, and it refuses what it cannot do.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { startOfflineEngine, type OfflineEngine, type OfflineEngineOptions } from '../../src/db/offline/server';
import { quietLogger } from '../support/db';

describe('offline database engine', () => {
  let dir: string;
  const running: { engine: OfflineEngine; conn: mongoose.Connection }[] = [];

  async function open(options: OfflineEngineOptions = {}) {
    const engine = await startOfflineEngine({ logger: quietLogger, ...options });
    const conn = await mongoose.createConnection(`${engine.uri}/app`, { serverSelectionTimeoutMS: 3000 }).asPromise();
    running.push({ engine, conn });
    return { engine, conn, db: conn.db! };
  }

  async function closeAll() {
    for (const { engine, conn } of running.splice(0)) {
      await conn.close();
      await engine.stop();
    }
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'offline-engine-'));
  });
  afterEach(async () => {
    await closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('journal', () => {
    it('keeps documents, updates, deletes and unique indexes across a restart', async () => {
      const first = await open({ dir });
      const users = first.db.collection('users');
      await users.createIndex({ email: 1 }, { unique: true });
      await users.insertMany([{ email: 'a', n: 1 }, { email: 'b', n: 1 }, { email: 'c', n: 1 }]);
      await users.updateOne({ email: 'a' }, { $inc: { n: 41 } });
      await users.deleteOne({ email: 'b' });
      await first.db.collection('dropped').insertOne({ x: 1 });
      await first.db.collection('dropped').drop();
      await closeAll();

      const second = await open({ dir });
      const again = second.db.collection('users');
      expect(await again.find({}, { projection: { _id: 0 } }).toArray()).to.deep.equal([{ email: 'a', n: 42 }, { email: 'c', n: 1 }]);
      expect((await again.insertOne({ email: 'a' }).catch((e: { code: number }) => e)) as { code?: number }).to.have.property('code', 11000);
      expect((await second.db.listCollections().toArray()).map((c) => c.name)).to.deep.equal(['users']);
    });

    it('loads everything before a torn last line (a crash in the middle of a write)', async () => {
      const first = await open({ dir });
      await first.db.collection('results').insertMany(Array.from({ length: 20 }, (_, i) => ({ i })));
      await closeAll();
      const journal = join(dir, 'journal.bsonl');
      appendFileSync(journal, 'QUJDREVGR0hJSktM'); // half a line, no newline
      const sizeWithTear = statSync(journal).size;

      const second = await open({ dir });
      expect(await second.db.collection('results').countDocuments()).to.equal(20);
      expect(statSync(journal).size).to.be.lessThan(sizeWithTear);
      await second.db.collection('results').insertOne({ i: 20 });
      await closeAll();

      const third = await open({ dir });
      expect(await third.db.collection('results').countDocuments()).to.equal(21);
    });

    it('compacts a journal that holds far more lines than live documents, keeping the data', async () => {
      const first = await open({ dir, compactSlack: 50 });
      const c = first.db.collection('counter');
      await c.insertOne({ _id: 'only' as never, n: 0 });
      for (let i = 0; i < 200; i++) await c.updateOne({ _id: 'only' as never }, { $inc: { n: 1 } });
      const lines = readFileSync(join(dir, 'journal.bsonl'), 'latin1').split('\n').length - 1;
      expect(lines).to.be.lessThan(100);
      await closeAll();
      const second = await open({ dir });
      expect(await second.db.collection('counter').findOne({ _id: 'only' as never })).to.deep.equal({ _id: 'only', n: 200 });
    });

    it('refuses a second engine on the same directory', async () => {
      await open({ dir });
      const err = await startOfflineEngine({ dir, logger: quietLogger }).then(
        async (e) => {
          await e.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      expect(err?.message).to.match(/in use by process/);
    });

    it('writes no file in memory mode', async () => {
      const { db } = await open();
      await db.collection('x').insertOne({ a: 1 });
      expect(readdirSync(dir)).to.deep.equal([]);
      expect(existsSync(join(dir, 'journal.bsonl'))).to.equal(false);
    });
  });

  describe('TTL sweep', () => {
    it('deletes expired documents on the injected interval and clock, and persists the deletion', async () => {
      let now = new Date('2030-01-01T00:00:00Z');
      const { engine, db } = await open({ dir, ttlSweepMs: 20, now: () => now });
      const states = db.collection('states');
      await states.createIndex({ createdAt: 1 }, { expireAfterSeconds: 600 });
      await states.insertMany([
        { s: 'old', createdAt: new Date('2029-12-31T23:49:00Z') },
        { s: 'new', createdAt: new Date('2029-12-31T23:59:00Z') },
        { s: 'no date', createdAt: 'yesterday' },
      ]);
      await new Promise((r) => setTimeout(r, 80));
      expect((await states.find({}).toArray()).map((d) => d.s)).to.deep.equal(['new', 'no date']);
      now = new Date('2030-01-01T00:20:00Z');
      expect(engine.sweepExpired()).to.equal(1);
      await closeAll();
      const again = await open({ dir });
      expect((await again.db.collection('states').find({}).toArray()).map((d) => d.s)).to.deep.equal(['no date']);
    });
  });

  describe('refusals', () => {
    it('refuses $out and $merge instead of ignoring them', async () => {
      const { db } = await open();
      await db.collection('src').insertOne({ a: 1 });
      const err = (await db.collection('src').aggregate([{ $out: 'dest' }]).toArray().catch((e: unknown) => e)) as { code?: number; message?: string };
      expect(err.code).to.equal(115);
      expect(err.message).to.match(/\$out.*not supported by the offline database engine/);
    });

    it('refuses collection validators and capped collections', async () => {
      const { db } = await open();
      const err = (await db.createCollection('v', { validator: { a: { $exists: true } } }).catch((e: unknown) => e)) as { code?: number };
      expect(err.code).to.equal(115);
    });

    it('refuses text indexes', async () => {
      const { db } = await open();
      const err = (await db.collection('t').createIndex({ body: 'text' }).catch((e: unknown) => e)) as { code?: number };
      expect(err.code).to.equal(67);
    });
  });
});

/**
 * Throughput of the offline engine for the grade-import workload (not part of `npm test`):
 *   npx tsx bench/offline-db.bench.ts [count]
 * Prints: engine start (empty and with the data), insertMany, bulk upserts by a compound
 * unique key, a full read, an indexed lookup, and countDocuments.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { Schema } from 'mongoose';
import { startOfflineEngine, type OfflineEngineOptions } from '../src/db/offline/server';
import { quietLogger } from '../test/support/db';

const N = Number(process.argv[2] ?? 100_000);

interface Result {
  course: string;
  lineItem: string;
  user: string;
  score: number;
  max: number;
  at: Date;
}

const schema = new Schema<Result>({ course: String, lineItem: String, user: String, score: Number, max: Number, at: Date });
schema.index({ course: 1, lineItem: 1, user: 1 }, { unique: true });
schema.index({ course: 1, user: 1 });

/** Prints wall time and this process's CPU time (client and engine together; on a busy machine wall >> CPU). */
async function time<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await fn();
  const cpu = process.cpuUsage(cpu0);
  const ms = (n: number) => n.toFixed(0).padStart(7);
  console.log(`${label.padEnd(48)} wall ${ms(performance.now() - t0)} ms   cpu ${ms((cpu.user + cpu.system) / 1000)} ms`);
  return r;
}

async function run(mode: string, options: OfflineEngineOptions): Promise<void> {
  console.log(`\n## ${mode}, N=${N}`);
  const engine = await time('engine start (empty)', () => startOfflineEngine({ logger: quietLogger, ...options }));
  const conn = await mongoose.createConnection(`${engine.uri}/bench`).asPromise();
  const M = conn.model<Result>('Result', schema);
  await M.init();
  const docs = Array.from({ length: N }, (_, i) => ({ course: `c${i % 10}`, lineItem: `li${i % 20}`, user: `u${i}`, score: i % 100, max: 100, at: new Date() }));
  await time(`insertMany ${N} (mongoose, ordered)`, () => M.insertMany(docs, { lean: true }));
  await time(`bulkWrite ${N} updateOne upserts (existing)`, () =>
    M.bulkWrite(docs.map((d) => ({ updateOne: { filter: { course: d.course, lineItem: d.lineItem, user: d.user }, update: { $set: { score: d.score + 1 } }, upsert: true } })), { ordered: false }),
  );
  await time(`bulkWrite ${N} updateOne upserts (new keys)`, () =>
    M.bulkWrite(docs.map((d) => ({ updateOne: { filter: { course: d.course, lineItem: 'new', user: d.user }, update: { $set: { score: d.score } }, upsert: true } })), { ordered: false }),
  );
  await time(`find all ${2 * N} (lean, getMore)`, () => M.find({}).lean());
  await time('1000 findOne by compound key', async () => {
    for (let i = 0; i < 1000; i++) await M.findOne({ course: `c${i % 10}`, lineItem: `li${i % 20}`, user: `u${i}` }).lean();
  });
  await time('countDocuments({course})', () => M.countDocuments({ course: 'c3' }));
  await conn.close();
  await engine.stop();
  if (options.dir) {
    console.log(`journal size ${(statSync(join(options.dir, 'journal.bsonl')).size / 1e6).toFixed(1)} MB`);
    const again = await time(`engine start (replaying ${2 * N} documents)`, () => startOfflineEngine({ logger: quietLogger, ...options }));
    await again.stop();
  }
}

void (async () => {
  await run('in memory', {});
  const dir = mkdtempSync(join(tmpdir(), 'offline-bench-'));
  try {
    await run('journal on disk', { dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/**
 * Grade sync benchmark: a course of 5,000 learners x 20 line items (100,000 results) served by the
 * sandbox LMS (Moodle mode: AGS unpaged, NRPS 50 per page), synced into the database.
 *
 *   npx tsx bench/grades.bench.ts            (MONGODB_URI set: that server; else the in-memory offline engine)
 *   node --expose-gc --import tsx bench/grades.bench.ts   (also prints the heap retained after the syncs)
 *
 * Prints: first full sync, results per second, a second (no-change) sync, a sync after one score
 * changed, one learner's refresh, the fetch alone (no database), a raw insertMany of the same
 * 100,000 documents on the same database (the limit), and the process's peak RSS (the sandbox and,
 * with the offline engine, the database live in this process too).
 */
import { performance } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { loadConfig } from '../src/config';
import { connectDatabase, connectToOfflineEngine, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { createAdvantageClient } from '../src/lti/advantage';
import { resultModel } from '../src/grades/result.model';
import { mapLimit } from '../src/grades/sources/map-limit';
import { syncCourse, syncLearner, type SyncSummary } from '../src/grades/sync.service';
import { startSandboxLms } from '../test/grades/support/sandbox-lms';
import { createAgsSource } from '../src/grades/sources';

const LEARNERS = 5000;
const ITEMS = 20;

const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(`${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(8)} s`);
  return { ms, value };
}

function check(summary: SyncSummary, expectChanged: number | null): void {
  if (summary.status !== 'succeeded') throw new Error(`sync ${summary.status}: ${JSON.stringify(summary.errors.slice(0, 3))}`);
  if (expectChanged !== null && summary.counts.changed !== expectChanged) throw new Error(`expected ${expectChanged} changes, got ${summary.counts.changed}`);
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const config = loadConfig();
  const dbName = `bench-grades-${Date.now()}`;
  const db: Database = config.mongodbUri
    ? await connectDatabase(config, { dbName })
    : await connectToOfflineEngine(await startOfflineEngine({ logger: quiet }), dbName, true);
  const lms = await startSandboxLms();
  try {
    const created = lms.sandbox.store.createCourse({
      title: 'Benchmark course',
      quirks: 'moodle',
      learners: LEARNERS,
      items: ITEMS,
      scoreMaximum: 100,
      score: (l, i) => (l * 7 + i * 3) % 101,
    });
    const course = { _id: new Types.ObjectId(), services: lms.servicesOf(created.course.id) };
    const client = createAdvantageClient({ getToken: lms.getToken });
    const sync = () => syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'bench' }, now: () => new Date() });
    await resultModel(db.connection).init();

    const baseRss = process.memoryUsage().rss;
    console.log(`Database: ${db.engine}; course: ${LEARNERS} learners x ${ITEMS} line items (sandbox, Moodle mode)`);
    const rosterOnly = await timed('fetch only: NRPS roster (100 pages of 50)', async () => (await client.listMembers(course.services.membershipsUrl)).length);
    const resultsOnly = await timed('fetch only: AGS line items + 20 result lists', async () => {
      const items = await client.listLineItems(course.services.lineItemsUrl);
      let n = 0;
      for (const li of items) n += (await client.listResults(li.id)).length;
      return n;
    });
    const fetchOnly = { value: { members: rosterOnly.value, results: resultsOnly.value } };
    // the fetching a sync does, the way it does it: roster and results at once, 4 result lists at a time
    const fetchBoth = await timed('fetch only: roster and results at once', async () => {
      const roster = client.listMembers(course.services.membershipsUrl);
      const items = await client.listLineItems(course.services.lineItemsUrl);
      await mapLimit(items, 4, async (li) => void (await client.listResults(li.id)));
      await roster;
    });
    const first = await timed('first full sync', sync);
    check(first.value, null);
    const results = first.value.counts.results;
    const second = await timed('second sync (nothing changed)', sync);
    check(second.value, 0);
    lms.sandbox.store.setScore(created.course.id, created.lineItemIds[7]!, created.learnerIds[1234]!, 55);
    const third = await timed('sync after one score changed', sync);
    check(third.value, 1);
    const learner = await timed('one learner refresh (syncLearner)', () =>
      syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'bench' }, now: () => new Date(), userId: created.learnerIds[42]! }),
    );
    check(learner.value, 0);

    const syncPeakRss = peakRss;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      const m = process.memoryUsage();
      console.log(`after the syncs, after GC: heap used ${(m.heapUsed / 1048576).toFixed(0)} MB, RSS ${(m.rss / 1048576).toFixed(0)} MB`);
    }
    // The limit: the same 100,000 documents written by one raw insertMany on the same database,
    // into a collection with the same indexes.
    const stored = await resultModel(db.connection).find({ courseId: course._id }, { _id: 0 }).lean();
    const raw = db.connection.collection('bench_raw_results');
    await raw.createIndex({ courseId: 1, lineItemId: 1, userId: 1 }, { unique: true });
    await raw.createIndex({ courseId: 1, userId: 1 });
    await raw.createIndex({ courseId: 1, lineItemId: 1 });
    const insert = await timed(`raw insertMany of ${stored.length} documents`, () => raw.insertMany(stored, { ordered: false }));
    await raw.drop();

    const usage = process.resourceUsage();
    const mb = (bytes: number) => (bytes / 1048576).toFixed(0);
    console.log('');
    console.log(`results stored                               ${results}`);
    console.log(`fetch only                                   ${fetchOnly.value.results} results, ${fetchOnly.value.members} members`);
    console.log(`first sync: results per second               ${Math.round(results / (first.ms / 1000))}`);
    console.log(`first sync / raw insertMany                  ${(first.ms / insert.ms).toFixed(2)} x`);
    console.log(`second sync / first sync                     ${(second.ms / first.ms).toFixed(2)} x`);
    console.log(`second sync (no change) / its fetching       ${(second.ms / fetchBoth.ms).toFixed(2)} x`);
    console.log(`RSS before the first sync (sandbox course)   ${mb(baseRss)} MB`);
    console.log(`peak RSS during the syncs                    ${mb(syncPeakRss)} MB`);
    console.log(`peak RSS overall (sampled / maxRSS)          ${mb(peakRss)} MB / ${mb(usage.maxRSS * 1024)} MB`);
  } finally {
    clearInterval(sampler);
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close();
    await lms.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Moodle web-service sync benchmark: a course of 2,000 learners x 30 grade items (+ the course
 * total) in the sandbox's Moodle, every platform call delayed by 50 ms (as a Moodle across a
 * network would be), synced into the database through the Moodle grade source.
 *
 *   npx tsx bench/moodle-ws-sync.bench.ts            (MONGODB_URI set: that server; else the offline engine)
 *   node --expose-gc --import tsx bench/moodle-ws-sync.bench.ts
 *
 * Prints, per scenario: the calls made (by function), the fewest calls Moodle's API allows for
 * the same data (the anchor), wall time, this process's CPU time (the sandbox and the offline
 * database run in it too: on a loaded machine CPU time is the steadier figure) and peak RSS:
 * - the tool's sync (grades + roster): gradereport_user_get_grade_items userid=0 answers every
 *   learner in one call; core_enrol_get_enrolled_users without a limit answers the roster in one;
 *   anchor 2 calls;
 * - the same with course completion: Moodle answers completion only learner by learner, so the
 *   anchor is 2 + 2,000 calls; the tool makes them 4 at a time;
 * - for comparison, grade items fetched learner by learner (userid=<id>, 4 at a time), what a
 *   client that pages by learner would do;
 * - the second sync (nothing changed) and one learner's refresh (userid=<sub>, anchor 1 call).
 */
import { performance } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { loadConfig } from '../src/config';
import { connectDatabase, connectToOfflineEngine, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { resultModel } from '../src/grades/result.model';
import { createMoodleHttp } from '../src/grades/moodle/moodle-http';
import { createMoodleWsClient, type MoodleWsClient } from '../src/grades/moodle/moodle-ws.client';
import { createMoodleSource } from '../src/grades/sources/moodle.source';
import { mapLimit } from '../src/grades/sources/map-limit';
import { syncCourse, syncLearner, type SyncSummary } from '../src/grades/sync.service';
import { startSandboxLms } from '../test/grades/support/sandbox-lms';

const LEARNERS = 2000;
const ITEMS = 30;
const LATENCY_MS = 50;

const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
const mb = (bytes: number) => (bytes / 1048576).toFixed(0);

interface Row {
  scenario: string;
  calls: number;
  anchor: number;
  ms: number;
  cpuMs: number;
  peak: number;
  byFunction: Record<string, number>;
}

async function main(): Promise<void> {
  setLogLevel('warn');
  const config = loadConfig();
  const dbName = `bench-moodle-ws-${Date.now()}`;
  const db: Database = config.mongodbUri
    ? await connectDatabase(config, { dbName })
    : await connectToOfflineEngine(await startOfflineEngine({ logger: quiet }), dbName, true);
  const lms = await startSandboxLms();
  const rows: Row[] = [];
  try {
    const created = lms.sandbox.store.createCourse({
      title: 'Moodle WS benchmark',
      quirks: 'moodle',
      learners: LEARNERS,
      items: ITEMS,
      scoreMaximum: 100,
      score: (l, i) => ((l + i) % 17 === 0 ? null : (l * 7 + i * 3) % 101),
    });
    lms.sandbox.moodleWs.setCompletion(created.course.id, { enabled: true, passPercent: 50 });
    const token = lms.sandbox.moodleWs.createToken().token;
    const moodleCourseId = created.course.id;

    // Every call to the platform waits 50 ms before it goes out.
    let calls: Record<string, number> = {};
    let bytes = 0;
    const slowFetch: typeof fetch = async (input, init) => {
      await new Promise((r) => setTimeout(r, LATENCY_MS));
      const res = await fetch(input, init);
      const body = await res.arrayBuffer();
      bytes += body.byteLength;
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const client: MoodleWsClient = createMoodleWsClient({
      baseUrl: lms.baseUrl,
      token,
      http: createMoodleHttp({ fetch: slowFetch }),
      onCall: (f) => void (calls[f] = (calls[f] ?? 0) + 1),
    });
    const course = { _id: new Types.ObjectId() };
    await resultModel(db.connection).init();

    const measure = async (scenario: string, anchor: number, fn: () => Promise<unknown>) => {
      calls = {};
      bytes = 0;
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      peakRss = process.memoryUsage().rss;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const value = await fn();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const total = Object.values(calls).reduce((a, b) => a + b, 0);
      rows.push({ scenario, calls: total, anchor, ms, cpuMs, peak: peakRss, byFunction: calls });
      console.log(
        `${scenario.padEnd(58)} calls ${String(total).padStart(5)} (fewest ${String(anchor).padStart(5)})  wall ${(ms / 1000).toFixed(2).padStart(6)} s  CPU ${(cpuMs / 1000).toFixed(2).padStart(6)} s  peak RSS ${mb(peakRss).padStart(5)} MB  received ${(bytes / 1048576).toFixed(1)} MB`,
      );
      return value;
    };
    const check = (s: SyncSummary) => {
      if (s.status !== 'succeeded') throw new Error(`sync ${s.status}: ${JSON.stringify(s.errors.slice(0, 3))}`);
      return s;
    };
    const sourceFor = (readCompletion: boolean) => createMoodleSource({ client, moodleCourseId, withRoster: true, readCompletion });
    const sync = (readCompletion: boolean) => syncCourse({ conn: db.connection, source: sourceFor(readCompletion), course, startedBy: { userId: 'bench' }, now: () => new Date() });

    console.log(`Database: ${db.engine}; course: ${LEARNERS} learners x ${ITEMS} grade items + course total; ${LATENCY_MS} ms added to every call`);
    await measure('fetch only: grade items, every learner, one call', 1, () => client.getGradeItems(Number(moodleCourseId)).then((u) => u.length));
    const first = check((await measure('first sync (grades + roster)', 2, () => sync(false))) as SyncSummary);
    await measure('second sync, nothing changed', 2, () => sync(false).then(check));
    lms.sandbox.store.setScore(created.course.id, created.lineItemIds[7]!, created.learnerIds[1234]!, 55);
    await measure('sync after one grade changed', 2, () => sync(false).then(check));
    await measure('sync with course completion (4 at a time)', 2 + LEARNERS, () => sync(true).then(check));
    await measure('one learner refresh (userid=<sub>)', 1, () =>
      syncLearner({ conn: db.connection, source: sourceFor(false), course, startedBy: { userId: 'bench' }, now: () => new Date(), userId: created.learnerIds[42]! }).then(check),
    );
    await measure('comparison: grade items learner by learner (4 at a time)', 2, async () => {
      const users = await client.getEnrolledUsers(Number(moodleCourseId));
      const learners = users.filter((u) => u.roles?.some((r) => r.shortname === 'student'));
      let n = 0;
      await mapLimit(learners, 4, async (u) => {
        n += (await client.getGradeItems(Number(moodleCourseId), { userId: u.id }))[0]?.gradeitems.length ?? 0;
      });
      return n;
    });

    const usage = process.resourceUsage();
    console.log('');
    console.log(`results stored by the first sync              ${first.counts.results}`);
    console.log(`calls per function, first sync                ${JSON.stringify(rows[1]!.byFunction)}`);
    console.log(`calls per function, with completion           ${JSON.stringify(rows[4]!.byFunction)}`);
    console.log(`peak RSS overall (maxRSS)                     ${mb(usage.maxRSS * 1024)} MB`);
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

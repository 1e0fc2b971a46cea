/**
 * Canvas REST sync benchmark: a Canvas-mode sandbox course of 2,000 students × 40 assignments in
 * 4 weighted assignment groups (80,000 submissions), read through the sandbox's Canvas REST API
 * (paging as lib/api.rb: per_page at most 100, Link headers) behind Canvas's leaky-bucket throttle
 * (app/middleware/request_throttle.rb defaults: high-water mark 600, drains 10/s, 50 up front per
 * request in flight; a request costs 1 + 0.01 per record it returns), synced into the database by
 * `syncCourse` with the Canvas grade source. Time spent waiting for the bucket is simulated (one
 * fake clock shared by the bucket and the client), so the figure is Canvas's real pace, not this
 * machine's; wall time is this process's work.
 *
 *   npx tsx bench/canvas-sync.bench.ts            (MONGODB_URI set: that server; else the offline engine)
 *
 * Anchors from the same run: the fewest calls Canvas's API allows for the data (1 course + 1 groups
 * + 1 assignments page + 20 enrollment pages + 20 grouped submission pages = 43), and the same
 * submissions read the way most clients do (flat `student_ids[]=all`, 80,000 / 100 = 800 pages).
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config';
import { connectDatabase, connectToOfflineEngine, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { createCanvasRestClient } from '../src/grades/canvas/canvas-rest.client';
import { CANVAS_SCOPES } from '../src/grades/canvas/canvas-oauth.service';
import { resultModel } from '../src/grades/result.model';
import { syncCourse, syncLearner, type SyncSummary } from '../src/grades/sync.service';
import { startSandboxLms } from '../test/grades/support/sandbox-lms';
import { canvasHarness } from '../test/grades/support/canvas-harness';

const STUDENTS = 2000;
const ASSIGNMENTS = 40;
const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

async function main(): Promise<void> {
  setLogLevel('warn');
  const config = loadConfig();
  const dbName = `bench-canvas-${Date.now()}`;
  const db: Database = config.mongodbUri ? await connectDatabase(config, { dbName }) : await connectToOfflineEngine(await startOfflineEngine({ logger: quiet }), dbName, true);
  const lms = await startSandboxLms();
  try {
    const created = lms.sandbox.store.createCourse({
      title: 'Canvas benchmark',
      quirks: 'canvas',
      learners: STUDENTS,
      items: ASSIGNMENTS,
      itemModule: 'assign',
      scoreMaximum: 100,
      permittedScopes: [],
      score: (l, i) => ((l + i) % 17 === 0 ? null : (l * 7 + i * 3) % 101),
    });
    const site = lms.sandbox.canvas;
    const groups = [25, 25, 20, 30].map((weight, g) => site.addGroup(created.course.id, { name: `Group ${g + 1}`, weight }));
    created.lineItemIds.forEach((id, i) => site.putInGroup(created.course.id, id, groups[i % 4]!.id));
    site.setApplyWeights(created.course.id, true);
    const h = await canvasHarness({ conn: db.connection, sandbox: lms.sandbox, created, throttle: { baseCost: 1, costPerRecord: 0.01 } });
    await resultModel(db.connection).init();

    const fewest = 3 + Math.ceil(STUDENTS / 100) * 2;
    const rows: string[] = [];
    const measure = async <T>(scenario: string, anchor: number, fn: () => Promise<T>): Promise<T> => {
      h.resetCounts();
      // Minutes pass between syncs: each scenario starts with an empty bucket.
      lms.sandbox.canvas.throttle.clear();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const value = await fn();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const ok = h.calls.total - h.calls.throttled;
      const line = `${scenario.padEnd(52)} calls ${String(ok).padStart(4)} (fewest ${String(anchor).padStart(4)}, ×${(ok / anchor).toFixed(2)})  403s ${String(h.calls.throttled).padStart(3)}  waited ${(h.waitedMs() / 1000).toFixed(1).padStart(6)} s (simulated)  wall ${(ms / 1000).toFixed(2).padStart(6)} s  CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`;
      console.log(line);
      rows.push(line);
      return value;
    };
    const check = (s: SyncSummary) => {
      if (s.status !== 'succeeded') throw new Error(`sync ${s.status}: ${JSON.stringify(s.errors.slice(0, 3))}`);
      return s;
    };
    const sync = async () => check(await syncCourse({ conn: db.connection, source: await h.source(), course: h.course, startedBy: { userId: 'bench' }, now: () => new Date() }));

    console.log(`Database: ${db.engine}; ${STUDENTS} students × ${ASSIGNMENTS} assignments in 4 weighted groups; Canvas throttle hwm 600, 10/s, 50 up front`);
    const first = await measure('first sync (all columns, 80,000 submissions)', fewest, sync);
    console.log(`  stored ${first.counts.results} results, ${first.counts.items} columns`);
    await measure('second sync, nothing changed', fewest, sync);
    lms.sandbox.store.setScore(created.course.id, created.lineItemIds[7]!, created.learnerIds[1234]!, 55);
    await measure('sync after one submission regraded', fewest, sync);
    await measure('one learner refresh', 5, async () =>
      check(await syncLearner({ conn: db.connection, source: await h.source(), course: h.course, startedBy: { userId: 'bench' }, now: () => new Date(), userId: lms.sandbox.store.getUser(created.learnerIds[42]!)!.ltiId })),
    );
    const client = createCanvasRestClient({ baseUrl: lms.baseUrl, http: h.http, tokens: { accessToken: async () => h.accessToken }, pacing: { sleep: h.sleep } });
    await measure('anchor: submissions flat (student_ids[]=all), fetch only', 800, () =>
      client.list(`/api/v1/courses/${created.course.id}/students/submissions`, { student_ids: ['all'] }, CANVAS_SCOPES.submissions).then((l) => l.length),
    );
    await measure('anchor: submissions grouped, fetch only', 20, () =>
      client.list(`/api/v1/courses/${created.course.id}/students/submissions`, { student_ids: ['all'], grouped: 1 }, CANVAS_SCOPES.submissions).then((l) => l.length),
    );
  } finally {
    await lms.close();
    await db.close?.();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

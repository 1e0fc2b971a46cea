/**
 * Grade sync benchmark: a course of 5,000 learners x 20 line items (100,000 results) served by the
 * sandbox LMS (Moodle mode: AGS unpaged, NRPS 50 per page), synced into the database, beside its
 * two anchors measured in the same run: the fetching alone, and a raw insertMany of the same
 * 100,000 documents.
 *
 *   npx tsx bench/grades.bench.ts [repetitions]      (default 3; medians)
 *
 * Three processes, as in production: this one (the tool: fetching, validating, planning, writing),
 * the sandbox LMS (a child process: it builds its pages on its own CPU, as a real LMS does) and the
 * database (a child process running the offline engine, or the server in MONGODB_URI). Each figure
 * comes with the CPU seconds each process spent on it, which barely depend on the machine's load.
 *
 * Per repetition, each into a fresh database: fetch only (roster + columns + results, the way the
 * sync fetches them, no database), raw insertMany of the same documents into a collection with the
 * results' indexes, first sync, no-change sync, sync after one score changed, one learner's refresh.
 * The raw insertMany and the first sync alternate which goes first.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Types, type mongo } from 'mongoose';
import { connectDatabase, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { createAdvantageClient, type TokenProvider } from '../src/lti/advantage';
import { resultModel } from '../src/grades/result.model';
import { mapLimit } from '../src/grades/sources/map-limit';
import { syncCourse, syncLearner, type SyncSummary } from '../src/grades/sync.service';
import { createAgsSource } from '../src/grades/sources';
import { startSandboxLms } from '../test/grades/support/sandbox-lms';

const LEARNERS = 5000;
const ITEMS = 20;

type Cpu = { user: number; system: number };
type Request = { id: number; op: string; args?: unknown[] };
type Reply = { id: number; value?: unknown; error?: string };

// ---- the child processes -------------------------------------------------------------------

/** Answers the parent's requests over IPC; `cpu` is every child's. */
function serve(handlers: Record<string, (...args: never[]) => unknown>): void {
  process.on('message', async (msg: Request) => {
    try {
      const value = msg.op === 'cpu' ? process.cpuUsage() : await handlers[msg.op]!(...((msg.args ?? []) as never[]));
      process.send!({ id: msg.id, value } satisfies Reply);
    } catch (err) {
      process.send!({ id: msg.id, error: String(err) } satisfies Reply);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

async function lmsChild(): Promise<void> {
  const lms = await startSandboxLms();
  const created = lms.sandbox.store.createCourse({
    title: 'Benchmark course',
    quirks: 'moodle',
    learners: LEARNERS,
    items: ITEMS,
    scoreMaximum: 100,
    score: (l, i) => (l * 7 + i * 3) % 101,
  });
  serve({
    course: () => ({ services: lms.servicesOf(created.course.id), lineItemIds: created.lineItemIds, learnerIds: created.learnerIds }),
    token: (scopes: string[]) => lms.getToken(scopes),
    setScore: (item: number, learner: number, score: number) => void lms.sandbox.store.setScore(created.course.id, created.lineItemIds[item]!, created.learnerIds[learner]!, score),
  });
  process.send!({ ready: true });
}

async function dbChild(): Promise<void> {
  const quiet = { debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };
  const engine = await startOfflineEngine({ logger: quiet });
  serve({});
  process.send!({ ready: true, uri: engine.uri });
}

interface Child {
  pid: number;
  call<T>(op: string, ...args: unknown[]): Promise<T>;
  kill(): void;
}

async function spawnChild(role: '--lms' | '--db'): Promise<Child & { ready: { uri?: string } }> {
  const proc: ChildProcess = fork(__filename, [role], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const ready = await new Promise<{ uri?: string }>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`${role} child exited (${code})`)));
    proc.on('message', (msg: Reply & { ready?: boolean; uri?: string }) => {
      if (msg.ready) return resolve(msg);
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error !== undefined) p?.reject(new Error(msg.error));
      else p?.resolve(msg.value);
    });
  });
  return {
    pid: proc.pid!,
    ready,
    call: <T>(op: string, ...args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, op, args } satisfies Request);
      }),
    kill: () => {
      proc.removeAllListeners('exit');
      proc.kill();
    },
  };
}

// ---- measuring -----------------------------------------------------------------------------

interface Figure {
  ms: number;
  /** CPU seconds of the tool (this process), the LMS and the database. */
  cpu: { tool: number; lms: number; db: number };
}

const seconds = (c: Cpu) => (c.user + c.system) / 1e6;

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
sampler.unref();

async function measure<T>(label: string, lms: Child, db: Child | null, fn: () => Promise<T>): Promise<Figure & { value: T }> {
  const before = { tool: process.cpuUsage(), lms: await lms.call<Cpu>('cpu'), db: db ? await db.call<Cpu>('cpu') : null };
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const tool = seconds(process.cpuUsage(before.tool));
  const lmsCpu = seconds(await lms.call<Cpu>('cpu')) - seconds(before.lms);
  const dbCpu = db && before.db ? seconds(await db.call<Cpu>('cpu')) - seconds(before.db) : NaN;
  const cpu = { tool, lms: lmsCpu, db: dbCpu };
  console.log(`  ${label.padEnd(34)} ${(ms / 1000).toFixed(2).padStart(7)} s   CPU s: tool ${tool.toFixed(2)}, LMS ${lmsCpu.toFixed(2)}, db ${Number.isNaN(dbCpu) ? '-' : dbCpu.toFixed(2)}`);
  return { ms, cpu, value };
}

/**
 * With BENCH_PROFILE=first (or nochange), that sync of the first repetition is CPU-profiled in
 * this process (the tool's side only) into bench/out/grades-<name>.cpuprofile (open it in Chrome DevTools).
 */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (process.env.BENCH_PROFILE !== name || profiledOnce.has(name)) return fn();
  profiledOnce.add(name);
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync('bench/out', { recursive: true });
    writeFileSync(`bench/out/grades-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
    console.log(`  (CPU profile written to bench/out/grades-${name}.cpuprofile)`);
  }
}
const profiledOnce = new Set<string>();

function check(summary: SyncSummary, expectChanged: number | null): void {
  if (summary.status !== 'succeeded') throw new Error(`sync ${summary.status}: ${JSON.stringify(summary.errors.slice(0, 3))}`);
  if (expectChanged !== null && summary.counts.changed !== expectChanged) throw new Error(`expected ${expectChanged} changes, got ${summary.counts.changed}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  setLogLevel('warn');
  const reps = Math.max(1, Number(process.argv[2] ?? 3));
  const external = process.env.MONGODB_URI;
  const [lms, dbProc] = await Promise.all([spawnChild('--lms'), external ? Promise.resolve(null) : spawnChild('--db')]);
  const uri = external ?? dbProc!.ready.uri!;
  const setup = await lms.call<{ services: { lineItemsUrl: string; membershipsUrl: string; agsScopes: string[] }; lineItemIds: string[]; learnerIds: string[] }>('course');
  const getToken: TokenProvider = (scopes) => lms.call<string>('token', scopes);
  const client = createAdvantageClient({ getToken });
  const databases: Database[] = [];
  const open = async (name: string) => {
    const db = await connectDatabase({ mongodbUri: uri, dataDir: '/nonexistent', embeddedDb: 'offline' }, { dbName: `bench-grades-${Date.now()}-${name}` });
    databases.push(db);
    return db;
  };
  const rows: Record<string, Figure[]> = {};
  const keep = (key: string, f: Figure) => (rows[key] ??= []).push({ ms: f.ms, cpu: f.cpu }); // not the value: no 100,000 ids kept alive
  let score = 55;

  console.log(`Course: ${LEARNERS} learners x ${ITEMS} line items (sandbox LMS, Moodle mode, pid ${lms.pid}); database: ${external ? 'MONGODB_URI' : `offline engine, pid ${dbProc!.pid}`}; tool pid ${process.pid}`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  try {
    for (let rep = 0; rep < reps; rep++) {
      console.log(`repetition ${rep + 1}/${reps}`);
      const course = { _id: new Types.ObjectId(), services: setup.services };
      // The fetching a sync does, the way it does it: roster and results at once, 4 result lists at a time.
      const fetched = await measure('fetch only', lms, dbProc, async () => {
        const roster = client.listMembers(course.services.membershipsUrl);
        const items = await client.listLineItems(course.services.lineItemsUrl);
        const lists = await mapLimit(items, 4, async (li) => ({ li, results: await client.listResults(li.id) }));
        await roster;
        return lists;
      });
      keep('fetch', fetched);
      // What the raw insertMany writes, kept as one string until then: 100,000 live objects
      // would slow every garbage collection of the syncs measured meanwhile.
      const fetchedJson = JSON.stringify(fetched.value.map(({ li, results }) => ({ max: li.scoreMaximum, results })));
      fetched.value.length = 0;
      /** The same documents the first sync inserts (built untimed). */
      const documents = () => {
        const now = new Date();
        const docs: mongo.Document[] = [];
        for (const { max, results } of JSON.parse(fetchedJson) as { max: number; results: { userId: string; resultScore: number | null; resultMaximum?: number; timestamp?: string; comment?: string }[] }[]) {
          const lineItemId = new Types.ObjectId();
          for (const r of results) {
            const doc: mongo.Document = { courseId: course._id, lineItemId, userId: r.userId, scoreGiven: r.resultScore, scoreMaximum: r.resultMaximum ?? max, source: 'ags', fetchedAt: now, changedAt: now, history: [], createdAt: now, updatedAt: now };
            if (r.timestamp) doc.timestamp = new Date(r.timestamp);
            if (r.comment !== undefined) doc.comment = r.comment;
            docs.push(doc);
          }
        }
        return docs;
      };

      const rawInsert = async () => {
        const db = await open(`raw${rep}`);
        await resultModel(db.connection).init(); // the same indexes as the sync's collection
        let docs = documents();
        const f = await measure(`raw insertMany of ${docs.length}`, lms, dbProc, () => db.connection.collection('results').insertMany(docs, { ordered: false }));
        docs = [];
        keep('raw', f);
        await db.connection.dropDatabase();
      };
      const syncs = async () => {
        const db = await open(`sync${rep}`);
        await resultModel(db.connection).init();
        const sync = () => syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'bench' }, now: () => new Date() });
        peakRss = process.memoryUsage().rss;
        const first = await measure('first sync', lms, dbProc, () => profiled('first', sync));
        check(first.value, null);
        if (first.value.counts.results !== LEARNERS * ITEMS) throw new Error(`first sync stored ${first.value.counts.results} results`);
        keep('first', first);
        keep('peakRss', { ms: peakRss, cpu: { tool: 0, lms: 0, db: 0 } });
        const second = await measure('no-change sync', lms, dbProc, () => profiled('nochange', sync));
        check(second.value, 0);
        keep('nochange', second);
        await lms.call('setScore', 7, 1234, score++);
        const third = await measure('sync after one score changed', lms, dbProc, sync);
        check(third.value, 1);
        keep('onechange', third);
        const learner = await measure('one learner refresh', lms, dbProc, () =>
          syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'bench' }, now: () => new Date(), userId: setup.learnerIds[42]! }),
        );
        check(learner.value, 0);
        keep('learner', learner);
        await db.connection.dropDatabase();
      };
      if (rep % 2 === 0) {
        await rawInsert();
        await syncs();
      } else {
        await syncs();
        await rawInsert();
      }
    }
  } finally {
    clearInterval(sampler);
    for (const db of databases) await db.close().catch(() => undefined);
    lms.kill();
    dbProc?.kill();
  }

  const med = (key: string) => {
    const fs = rows[key]!;
    return { ms: median(fs.map((f) => f.ms)), tool: median(fs.map((f) => f.cpu.tool)), lms: median(fs.map((f) => f.cpu.lms)), db: median(fs.map((f) => f.cpu.db)) };
  };
  const fetch = med('fetch');
  const raw = med('raw');
  const first = med('first');
  const nochange = med('nochange');
  const onechange = med('onechange');
  const pairs = (a: string, b: string) => rows[a]!.map((f, i) => (f.ms / rows[b]![i]!.ms).toFixed(2)).join(', ');
  const line = (label: string, m: ReturnType<typeof med>, ratio = '') =>
    console.log(`${label.padEnd(30)} ${(m.ms / 1000).toFixed(2).padStart(7)} s  CPU s tool ${m.tool.toFixed(2).padStart(5)}  LMS ${m.lms.toFixed(2).padStart(5)}  db ${Number.isNaN(m.db) ? '    -' : m.db.toFixed(2).padStart(5)}  ${ratio}`);
  console.log('');
  console.log(`medians of ${reps} (load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
  line('fetch only', fetch);
  line('raw insertMany', raw);
  line('first sync', first, `= ${(first.ms / raw.ms).toFixed(2)}x raw insertMany (runs ${pairs('first', 'raw')}); tool CPU ${(first.tool / raw.tool).toFixed(2)}x, db CPU ${(first.db / raw.db).toFixed(2)}x`);
  line('no-change sync', nochange, `= ${(nochange.ms / fetch.ms).toFixed(2)}x its fetching (runs ${pairs('nochange', 'fetch')}); tool CPU ${(nochange.tool / fetch.tool).toFixed(2)}x`);
  line('one score changed', onechange, `= ${(onechange.ms / fetch.ms).toFixed(2)}x its fetching`);
  line('one learner refresh', med('learner'));
  // Load-independent: what the CPU seconds allow on two idle cores. The sync's three processes
  // work at once (its floor: the busiest one, or all three's CPU over two cores); the raw
  // insertMany encodes its one batch, then the database inserts it (one after the other).
  const floor = Math.max(first.tool, first.lms, first.db, (first.tool + first.lms + first.db) / 2);
  console.log(`CPU floor on 2 idle cores: first sync ${floor.toFixed(2)} s, raw insertMany ${(raw.tool + raw.db).toFixed(2)} s = ${(floor / (raw.tool + raw.db)).toFixed(2)}x; tool CPU of the first sync = ${(first.tool / (fetch.tool + raw.tool)).toFixed(2)}x fetch-only + raw insertMany's`);
  console.log(`first sync: ${Math.round((LEARNERS * ITEMS) / (first.ms / 1000))} results/s; tool RSS peak during the first sync ${(median(rows.peakRss!.map((f) => f.ms)) / 1048576).toFixed(0)} MB`);
}

const role = process.argv[2];
if (role === '--lms') lmsChild().catch((err) => (console.error(err), process.exit(1)));
else if (role === '--db') dbChild().catch((err) => (console.error(err), process.exit(1)));
else
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );

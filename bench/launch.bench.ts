/**
 * Launch throughput beside its peer, measured in one run: the full LTI 1.3 launch of this tool
 * (sandbox "launch as" → OIDC login → platform auth → id_token POST → the learner page, which
 * refreshes the learner's own grades over AGS) against the same launch of a minimal tool written
 * directly on ltijs (bench/ltijs-peer.ts: same sandbox platform, course and users, same offline
 * database engine, its own process). Interleaved, repeated, medians; database commands per launch
 * counted on the wire (driver command monitoring) for both.
 *
 * Run by hand: `npx tsx bench/launch.bench.ts [seconds per run] [repetitions]` (default 5 s, 3).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mongoose from 'mongoose';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectToOfflineEngine } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { settleLearnerRefreshes } from '../src/grades/learner-refresh';
import { setLogLevel } from '../src/logger';
import { HttpBrowser } from '../test/support/browser';

const SECONDS = Number(process.argv[2] ?? 5);
const REPS = Number(process.argv[3] ?? 3);
const LEARNERS = 50;
const ITEMS = 5;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  perSecond: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
}

async function run(concurrency: number, once: () => Promise<void>): Promise<Row> {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          await once();
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / secs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length, errors };
}

async function startPeer(): Promise<{ launchUrls: string[]; commands: () => Promise<number>; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'ltijs-peer.ts'), String(LEARNERS), String(ITEMS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the ltijs peer exited with ${code}`)));
  });
  const info = JSON.parse(line) as { launchUrls: string[]; commandsUrl: string };
  return {
    launchUrls: info.launchUrls,
    commands: async () => ((await (await fetch(info.commandsUrl)).json()) as { commands: number }).commands,
    stop: () => child.kill(),
  };
}

async function main() {
  setLogLevel('error');
  const srv = createServer();
  const port = await listen(srv);
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-bench-'));
  mkdirSync(join(dataDir, 'pc'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    PLATFORM_CONFIG_DIR: join(dataDir, 'pc'),
    EMBEDDED_DB: 'offline',
    LOG_LEVEL: 'error',
    LOGIN_RATE_LIMIT: '1000000',
  });
  // the offline engine in memory, as the peer's; monitorCommands to count commands on the wire
  const engine = await startOfflineEngine({ logger: { debug() {}, info() {}, warn() {}, error: console.error } });
  const db = await connectToOfflineEngine(engine, 'bench?monitorCommands=true', true);
  let ours = 0;
  const countOn = (conn: mongoose.Connection) =>
    conn.getClient().on('commandStarted', (e: { commandName: string; command: Record<string, unknown> }) => {
      if (!['hello', 'ismaster', 'isMaster', 'ping', 'endSessions'].includes(e.commandName) && !['jobs', 'mail_outbox'].includes(String(e.command[e.commandName]))) ours++;
    });
  const app = await createApp({ config, db });
  countOn(db.connection);
  countOn(mongoose.connection);
  srv.on('request', app.express);
  const sandbox = app.sandbox!;
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners: LEARNERS, items: ITEMS });
  sandbox.store.setRateLimit(c.course.id, null);
  const peer = await startPeer();

  let i = 0;
  let j = 0;
  const ourLaunch = async () => {
    const user = c.learnerIds[i++ % c.learnerIds.length]!;
    const page = await new HttpBrowser().open(sandbox.launchUrl(c.course.id, user));
    if (page.status !== 200 || !page.url.endsWith('/learner')) throw new Error(`status ${page.status}`);
  };
  const peerLaunch = async () => {
    const page = await new HttpBrowser().open(peer.launchUrls[j++ % peer.launchUrls.length]!);
    if (page.status !== 200 || !page.html.includes('Hello')) throw new Error(`peer status ${page.status}`);
  };

  // Commands per launch: a learner's first launch (the page waits for the LMS), then a launch again
  // (stored grades at once, refresh in the background), each with its background work settled.
  const count = async (once: () => Promise<void>) => {
    const before = ours;
    await once();
    await settleLearnerRefreshes();
    return ours - before;
  };
  await count(ourLaunch); // the course's very first launch (creates the course, its columns, indexes)
  const firstLaunch = await count(ourLaunch); // another learner's first launch
  i = 1;
  const againLaunch = await count(ourLaunch);
  const peerBefore = await peer.commands();
  await peerLaunch();
  const peerCommands = (await peer.commands()) - peerBefore;
  // warm up both: every learner launched once
  for (let k = 0; k < LEARNERS; k++) {
    await ourLaunch();
    await peerLaunch();
  }
  await settleLearnerRefreshes();

  console.log(`# ${SECONDS} s per run, ${REPS} repetitions, interleaved; engine=offline (in memory, both); node ${process.version}; ${LEARNERS} learners × ${ITEMS} AGS items`);
  console.log(`database commands per launch: ours ${firstLaunch} (a learner's first launch), ${againLaunch} (the same learner again); ltijs peer ${peerCommands}`);
  for (const conc of [1, 16]) {
    const mine: Row[] = [];
    const theirs: Row[] = [];
    for (let r = 0; r < REPS; r++) {
      // alternate which goes first
      if (r % 2 === 0) {
        mine.push(await run(conc, ourLaunch));
        theirs.push(await run(conc, peerLaunch));
      } else {
        theirs.push(await run(conc, peerLaunch));
        mine.push(await run(conc, ourLaunch));
      }
      await settleLearnerRefreshes();
    }
    const m = { perSecond: median(mine.map((x) => x.perSecond)), p50: median(mine.map((x) => x.p50)), p99: median(mine.map((x) => x.p99)), errors: mine.reduce((n, x) => n + x.errors, 0) };
    const p = { perSecond: median(theirs.map((x) => x.perSecond)), p50: median(theirs.map((x) => x.p50)), p99: median(theirs.map((x) => x.p99)), errors: theirs.reduce((n, x) => n + x.errors, 0) };
    console.log(
      `${conc} client(s): ours ${m.perSecond.toFixed(1)}/s p50 ${m.p50.toFixed(1)} ms p99 ${m.p99.toFixed(1)} ms (runs ${mine.map((x) => x.perSecond.toFixed(1)).join(', ')}; errors ${m.errors})` +
        ` | ltijs peer ${p.perSecond.toFixed(1)}/s p50 ${p.p50.toFixed(1)} ms p99 ${p.p99.toFixed(1)} ms (runs ${theirs.map((x) => x.perSecond.toFixed(1)).join(', ')}; errors ${p.errors})` +
        ` | ratio ours/peer throughput ${(m.perSecond / p.perSecond).toFixed(2)}×, p50 cost ${(m.p50 / p.p50).toFixed(2)}×`,
    );
  }
  peer.stop();
  srv.closeAllConnections();
  srv.close();
  await app.close();
  await db.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

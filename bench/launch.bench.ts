/**
 * Launch throughput beside its peer, measured in one run: the full LTI 1.3 launch of this tool
 * (sandbox "launch as" → OIDC login → platform auth → id_token POST → the learner page, which
 * refreshes the learner's own grades over AGS) against the same launch of a minimal tool written
 * directly on ltijs (bench/ltijs-peer.ts). Interleaved, repeated, medians; database commands per
 * launch counted on the wire (driver command monitoring) for both.
 *
 * Each side is three processes, as in a deployment: the tool alone (bench/launch-tool.ts, or the
 * peer), its database engine (bench/launch-db.ts: the offline engine in memory, or MONGODB_URI) and
 * the platform (bench/launch-platform.ts: the sandbox LMS, same course and users for both). The
 * clients run in this process. Beside launches/s and latencies it prints the CPU time per launch
 * of every process (from /proc/<pid>/stat), which depends little on the machine's load.
 *
 * Run by hand: `npx tsx bench/launch.bench.ts [seconds per run] [repetitions]` (default 5 s, 3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HttpBrowser } from '../test/support/browser';

const SECONDS = Number(process.argv[2] ?? 5);
const REPS = Number(process.argv[3] ?? 3);
const LEARNERS = 50;
const ITEMS = 5;
/** `LAUNCH_BENCH_CLIENTS=16`: only that many clients (default 1 and 16). */
const CLIENT_COUNTS = (process.env.LAUNCH_BENCH_CLIENTS ?? '1,16').split(',').map(Number);
/** `LAUNCH_BENCH_CPU_PROF=<dir>`: each tool process writes a CPU profile of its measured runs there (ours-16.cpuprofile, peer-16.cpuprofile: the last run at that many clients). */
const CPU_PROF_DIR = process.env.LAUNCH_BENCH_CPU_PROF;
/**
 * `LAUNCH_BENCH_REFRESH_INTERVAL_MS=0`: our tool's LEARNER_REFRESH_INTERVAL_MS (default: the
 * tool's, 60 s; the bench relaunches each of its 50 learners every few seconds, so with the
 * default the learner page sends the LMS nothing; with 0 every page refreshes in the background).
 */
const REFRESH_INTERVAL_MS = process.env.LAUNCH_BENCH_REFRESH_INTERVAL_MS;
/** Linux clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's times. */
const CLK_TCK = 100;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const children: ChildProcess[] = [];

/** Starts `node --import tsx bench/<script> <json>` and returns it with the JSON line it prints when ready. */
async function startProcess<T>(script: string, arg: unknown): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, script), JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, info: JSON.parse(line) as T };
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  // fields after the command name "(…)": state is field 3, utime 14, stime 15
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

interface Side {
  name: string;
  launchUrls: string[];
  /** tool, database, platform */
  pids: { tool: number; db: number; platform: number };
  commands(): Promise<number>;
  settle(): Promise<void>;
  /** A CPU profile of the tool process, written as `<name>-<tag>.cpuprofile` in LAUNCH_BENCH_CPU_PROF. */
  profile(what: 'start' | 'stop', tag: string): Promise<void>;
  /** Whether a page is the end of a successful launch. */
  landed(page: { status: number; url: string; html: string }): boolean;
}

type Registration = { issuer: string; clientId: string; authUrl: string; tokenUrl: string; jwksUrl: string; deploymentIds: string[] };

async function startSide(name: 'ours' | 'peer', dataDir: string): Promise<Side> {
  const external = process.env.MONGODB_URI;
  const db = external ? undefined : await startProcess<{ uri: string }>('launch-db.ts', {});
  const dbUri = (external ?? db!.info.uri).replace(/\/+$/, '');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // the tools' routes: ours under /lti (src/lti/provider.ts LTI_ROUTES), the peer's at the root
  const tool = name === 'ours' ? { loginUrl: `${base}/lti/login`, launchUrl: `${base}/lti/launch`, keysetUrl: `${base}/lti/keys` } : { loginUrl: `${base}/login`, launchUrl: `${base}/app`, keysetUrl: `${base}/keys` };
  const platform = await startProcess<{ registration: Registration; launchUrls: string[] }>('launch-platform.ts', { tool, learners: LEARNERS, items: ITEMS });
  const r = platform.info.registration;
  let toolProcess: ChildProcess;
  if (name === 'ours') {
    const platformDir = join(dataDir, 'platforms');
    mkdirSync(platformDir, { recursive: true });
    writeFileSync(join(platformDir, 'bench.json'), JSON.stringify({ name: 'Bench platform', issuer: r.issuer, clientId: r.clientId, authUrl: r.authUrl, tokenUrl: r.tokenUrl, jwksUrl: r.jwksUrl, deploymentIds: r.deploymentIds, active: true }));
    const started = await startProcess<{ toolUrls: { loginUrl: string; launchUrl: string; keysetUrl: string } }>('launch-tool.ts', {
      port,
      dbUri: `${dbUri}/${external ? 'bench-launch' : 'bench'}?monitorCommands=true`,
      platformDir,
      dataDir: join(dataDir, 'tool'),
      ...(REFRESH_INTERVAL_MS !== undefined ? { refreshIntervalMs: Number(REFRESH_INTERVAL_MS) } : {}),
    });
    if (started.info.toolUrls.loginUrl !== tool.loginUrl || started.info.toolUrls.launchUrl !== tool.launchUrl) throw new Error(`our tool's URLs moved: ${JSON.stringify(started.info.toolUrls)}`);
    toolProcess = started.child;
  } else {
    toolProcess = (await startProcess('ltijs-peer.ts', { port, dbUri, registration: r })).child;
  }
  return {
    name,
    launchUrls: platform.info.launchUrls,
    pids: { tool: toolProcess.pid!, db: db?.child.pid ?? 0, platform: platform.child.pid! },
    commands: async () => ((await (await fetch(`${base}/__bench/commands`)).json()) as { commands: number }).commands,
    settle: async () => void (await fetch(`${base}/__bench/settle`)).arrayBuffer(),
    profile: async (what, tag) => void (await fetch(`${base}/__bench/profile/${what}?file=${encodeURIComponent(join(CPU_PROF_DIR ?? '.', `${name}-${tag}.cpuprofile`))}`)).arrayBuffer(),
    landed: name === 'ours' ? (page) => page.status === 200 && page.url.endsWith('/learner') : (page) => page.status === 200 && page.html.includes('Hello'),
  };
}

interface Row {
  perSecond: number;
  p50: number;
  p99: number;
  n: number;
  errors: number;
  /** CPU ms per launch: tool, database, platform, clients (this process) */
  cpu: { tool: number; db: number; platform: number; clients: number };
  load: number;
}

async function run(side: Side, concurrency: number, once: () => Promise<void>): Promise<Row> {
  const latencies: number[] = [];
  const pids = { ...side.pids, clients: process.pid };
  if (CPU_PROF_DIR) await side.profile('start', `${concurrency}`);
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuMs(pid) : 0]));
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
  // the background work the launches started is part of their cost
  await side.settle();
  if (CPU_PROF_DIR) await side.profile('stop', `${concurrency}`);
  const n = Math.max(1, latencies.length);
  const per = (k: keyof typeof pids) => (pids[k] ? (cpuMs(pids[k]) - cpuBefore[k]!) / n : 0);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / secs,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    n: latencies.length,
    errors,
    cpu: { tool: per('tool'), db: per('db'), platform: per('platform'), clients: per('clients') },
    load: loadavg()[0]!,
  };
}

function summary(rows: Row[]) {
  const m = (f: (r: Row) => number) => median(rows.map(f));
  return {
    perSecond: m((r) => r.perSecond),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    errors: rows.reduce((n, r) => n + r.errors, 0),
    cpu: { tool: m((r) => r.cpu.tool), db: m((r) => r.cpu.db), platform: m((r) => r.cpu.platform), clients: m((r) => r.cpu.clients) },
  };
}

const cpuText = (c: Row['cpu']) => `CPU ms/launch tool ${c.tool.toFixed(1)}, db ${c.db.toFixed(1)}, platform ${c.platform.toFixed(1)}, clients ${c.clients.toFixed(1)}`;

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-bench-'));
  const ours = await startSide('ours', dataDir);
  const peer = await startSide('peer', dataDir);

  const launcher = (side: Side) => {
    let i = 0;
    return async () => {
      const page = await new HttpBrowser().open(side.launchUrls[i++ % side.launchUrls.length]!);
      if (!side.landed(page)) throw new Error(`${side.name}: status ${page.status} at ${page.url}`);
    };
  };
  const ourLaunch = launcher(ours);
  const peerLaunch = launcher(peer);

  // Commands per launch: a learner's first launch (the page waits for the LMS), then the same
  // learner again (stored grades at once), each with its background work settled.
  const count = async (side: Side, url: string) => {
    const before = await side.commands();
    const page = await new HttpBrowser().open(url);
    if (!side.landed(page)) throw new Error(`${side.name}: status ${page.status} at ${page.url}`);
    await side.settle();
    return (await side.commands()) - before;
  };
  await count(ours, ours.launchUrls[0]!); // the course's very first launch (creates the course, its columns, indexes)
  const firstLaunch = await count(ours, ours.launchUrls[1]!);
  const againLaunch = await count(ours, ours.launchUrls[1]!);
  await count(peer, peer.launchUrls[0]!);
  const peerCommands = await count(peer, peer.launchUrls[1]!);
  // warm up both: every learner launched once
  for (let k = 0; k < LEARNERS; k++) {
    await ourLaunch();
    await peerLaunch();
  }
  await ours.settle();

  console.log(
    `# ${SECONDS} s per run, ${REPS} repetitions, interleaved; engine=${process.env.MONGODB_URI ? 'MONGODB_URI' : 'offline (in memory)'}, tool, database and platform in processes of their own (both); node ${process.version}; ${LEARNERS} learners × ${ITEMS} AGS items; LEARNER_REFRESH_INTERVAL_MS ${REFRESH_INTERVAL_MS ?? 'default (60 s)'}; load average at start ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  console.log(`database commands per launch: ours ${firstLaunch} (a learner's first launch), ${againLaunch} (the same learner again); ltijs peer ${peerCommands}`);
  for (const conc of CLIENT_COUNTS) {
    const mine: Row[] = [];
    const theirs: Row[] = [];
    for (let r = 0; r < REPS; r++) {
      // alternate which goes first
      if (r % 2 === 0) {
        mine.push(await run(ours, conc, ourLaunch));
        theirs.push(await run(peer, conc, peerLaunch));
      } else {
        theirs.push(await run(peer, conc, peerLaunch));
        mine.push(await run(ours, conc, ourLaunch));
      }
    }
    const m = summary(mine);
    const p = summary(theirs);
    const runs = (rows: Row[]) => rows.map((x) => `${x.perSecond.toFixed(1)}@${x.load.toFixed(1)}`).join(', ');
    console.log(`${conc} client(s):`);
    console.log(`  ours ${m.perSecond.toFixed(1)}/s p50 ${m.p50.toFixed(1)} ms p99 ${m.p99.toFixed(1)} ms (runs/s@load ${runs(mine)}; errors ${m.errors}); ${cpuText(m.cpu)}`);
    console.log(`  peer ${p.perSecond.toFixed(1)}/s p50 ${p.p50.toFixed(1)} ms p99 ${p.p99.toFixed(1)} ms (runs/s@load ${runs(theirs)}; errors ${p.errors}); ${cpuText(p.cpu)}`);
    console.log(
      `  ratio ours/peer: throughput ${(m.perSecond / p.perSecond).toFixed(2)}×, p50 cost ${(m.p50 / p.p50).toFixed(2)}×; CPU per launch: tool ${(m.cpu.tool / p.cpu.tool).toFixed(2)}×, tool + database ${((m.cpu.tool + m.cpu.db) / (p.cpu.tool + p.cpu.db)).toFixed(2)}×`,
    );
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => (c.once('exit', r), c.kill()))));
    process.exit();
  });

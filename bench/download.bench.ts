/**
 * A stored certificate PDF's download beside express serving the same bytes from disk
 * (express.static), in one run: the tool's route (session, the viewer's permission check, the
 * stored bytes with their length and ETag) against the floor a static file server sets, at 1 and
 * 16 keep-alive clients, interleaved and repeated, medians; plus the 304 answer to a browser that
 * has the file. Each server runs in a process of its own (bench/download-servers.ts) and this one
 * only generates the load, so the CPU time each server spends per request is measured apart
 * (/proc/<pid>/stat): on a loaded machine that ratio moves far less than the latencies.
 *
 * Each server's CPU is also read over an idle stretch before the runs (timers: the job queue, the
 * mail tick, the engine's TTL sweep), and the figures per request are net of it.
 *
 * Run by hand: `npx tsx bench/download.bench.ts [seconds] [repetitions]` (default 4 s, 3).
 * `DOWNLOAD_BENCH_CPU_PROF=<dir>` writes the tool server's CPU profile (`--cpu-prof`) there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const SECONDS = Number(process.argv[2] ?? 4);
const REPS = Number(process.argv[3] ?? 3);
const TICKS_PER_SECOND = 100; // Linux USER_HZ
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// keep-alive connections for both, as a browser has
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  status: number;
  bytes: number;
  headerBytes: number;
}

function get(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, headerBytes: res.rawHeaders.reduce((n, h) => n + h.length + 2, 0) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** User + system CPU seconds of a process (all its threads), from /proc. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime (fields 14, 15)
}

function start(args: string[]): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const prof = process.env.DOWNLOAD_BENCH_CPU_PROF && args[0] === 'tool' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.DOWNLOAD_BENCH_CPU_PROF}`] : [];
  const child = fork(join(__dirname, 'download-servers.ts'), args, { execArgv: ['--import', 'tsx', ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (info) => resolve({ child, info: info as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${args[0] ?? 'tool'} server exited with ${code}`)));
  });
}

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  /** The server's CPU time per request, µs. */
  serverCpuUs: number;
  /** This load generator's CPU time per request, µs. */
  clientCpuUs: number;
}

/** CPU seconds per second a server spends with no request at all. */
const idleCpu = new Map<number, number>();

async function measureIdle(pid: number): Promise<void> {
  const cpu0 = cpuSecondsOf(pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, Math.max(2000, SECONDS * 1000)));
  idleCpu.set(pid, (cpuSecondsOf(pid) - cpu0) / ((Date.now() - t0) / 1000));
}

async function run(pid: number, concurrency: number, url: string, headers: Record<string, string>, expectStatus: number, bytes: number): Promise<Run> {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
  const serverCpu0 = cpuSecondsOf(pid);
  const clientCpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const res = await get(url, headers);
        if (res.status !== expectStatus || (expectStatus === 200 && res.bytes !== bytes)) throw new Error(`status ${res.status}, ${res.bytes} bytes`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const serverCpu = Math.max(0, cpuSecondsOf(pid) - serverCpu0 - (idleCpu.get(pid) ?? 0) * elapsed);
  const clientCpu = process.cpuUsage(clientCpu0);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpuUs: (serverCpu * 1e6) / latencies.length,
    clientCpuUs: (clientCpu.user + clientCpu.system) / latencies.length,
  };
}

async function main() {
  const tool = await start(['tool']);
  const { pdfUrl, etag, bytes, file, engine } = tool.info as { pdfUrl: string; etag: string; bytes: number; file: string; engine: string };
  const floor = await start(['static', file]);
  const staticUrl = floor.info.url as string;
  const [ours, theirs] = [await get(pdfUrl, {}), await get(staticUrl, {})];
  await Promise.all([measureIdle(tool.child.pid!), measureIdle(floor.child.pid!)]);
  const load0 = loadavg();
  console.log(`# ${SECONDS} s per run, ${REPS} repetitions, interleaved; a ${bytes}-byte stored PDF; engine=${engine}; node ${process.version}`);
  console.log(`# response headers: tool ${ours.headerBytes} bytes, express static ${theirs.headerBytes} bytes; load average ${load0.map((l) => l.toFixed(1)).join(' ')}`);
  const idle = (pid: number) => `${((idleCpu.get(pid) ?? 0) * 1000).toFixed(0)} ms/s`;
  console.log(`# CPU while idle (subtracted below): tool ${idle(tool.child.pid!)}, express static ${idle(floor.child.pid!)}`);
  const revalidate = { 'if-none-match': etag, 'cache-control': 'max-age=0' };
  for (const conc of [1, 16]) {
    const tools: Run[] = [];
    const statics: Run[] = [];
    const revalidated: Run[] = [];
    for (let r = 0; r < REPS; r++) {
      const pair = [
        async () => tools.push(await run(tool.child.pid!, conc, pdfUrl, {}, 200, bytes)),
        async () => statics.push(await run(floor.child.pid!, conc, staticUrl, {}, 200, bytes)),
      ];
      if (r % 2) pair.reverse();
      for (const step of pair) await step();
      revalidated.push(await run(tool.child.pid!, conc, pdfUrl, revalidate, 304, 0));
    }
    const m = (xs: Run[], k: keyof Run) => median(xs.map((x) => x[k]));
    const f = (xs: Run[]) =>
      `${m(xs, 'perSecond').toFixed(0)}/s p50 ${m(xs, 'p50').toFixed(2)} ms p99 ${m(xs, 'p99').toFixed(2)} ms CPU ${m(xs, 'serverCpuUs').toFixed(0)} µs/req (client ${m(xs, 'clientCpuUs').toFixed(0)})`;
    console.log(`${conc} client(s): tool ${f(tools)} | express static ${f(statics)} | 304 ${f(revalidated)}`);
    console.log(
      `  ratio tool/static: p50 ${(m(tools, 'p50') / m(statics, 'p50')).toFixed(2)}×, throughput ${(m(tools, 'perSecond') / m(statics, 'perSecond')).toFixed(2)}×, ` +
        `server CPU per request ${(m(tools, 'serverCpuUs') / m(statics, 'serverCpuUs')).toFixed(2)}× | p50 runs tool ${tools.map((x) => x.p50.toFixed(2)).join(' ')}, static ${statics.map((x) => x.p50.toFixed(2)).join(' ')}`,
    );
  }
  console.log(`# load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  tool.child.disconnect();
  floor.child.disconnect();
  agent.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

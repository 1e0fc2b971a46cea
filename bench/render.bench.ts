/**
 * Benchmark of the certificate renderer. Run by hand:  npx tsx bench/render.bench.ts [N] [reps] [M]
 *
 * Each measure runs in a fresh child process, so that one measure's memory does not count in
 * the next one's peak RSS. Prints markdown tables (see bench/README.md for the latest figures).
 *
 *  - single PDF, cold: a new renderer, its first PDF (browser start included)
 *  - single PDF, warm: median of 20 PDFs with the browser up
 *  - the anchor (#13): Chromium's own two-page rate, measured in the same run: N certificates as
 *    prepared 100-certificate HTML documents (built before the clock starts), printed by two warm
 *    pages of one browser at the same time, `page.setContent` + `page.pdf` and nothing else
 *  - export of N certificates (default 1,000) with exportPdf, batches of 100 -> one PDF, the way
 *    the export job runs it; interleaved with the anchor, `reps` times (default 3), medians
 *  - once more, the first export of a process (its second page opened and first used inside the
 *    timed part; the runs above are of a warm process, both pages open, as the anchor's)
 *  - the export of M×N certificates (default M = 4, 0 for none): Node's peak memory must not depend on N
 *
 * Beside wall-clock rates it reports CPU time per certificate of each process (Node's own
 * process.cpuUsage(), the browser's whole process tree from /proc/<pid>/stat): on a machine
 * shared with other work the wall-clock rates move with the load, the CPU per certificate hardly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer';
import { CHROMIUM_ARGS, chromiumEnv, createPdfRenderer, exportPdf, findChromium, renderBatchHtml } from '../src/render';
import { sampleCertificate } from './render-samples';

interface Result {
  label: string;
  ms: number;
  count: number;
  peakRssMb: number;
  chromiumPeakRssMb?: number;
  /** CPU time in ms, Node's process and the browser's process tree, during the timed part. */
  nodeCpuMs?: number;
  chromiumCpuMs?: number;
  bytes?: number;
}

const BATCH = 100;

function* certificates(n: number) {
  for (let i = 0; i < n; i++) {
    yield sampleCertificate({
      learnerName: `Learner ${i + 1}`,
      verificationCode: `BENCH-${i + 1}`,
      verificationUrl: `https://certificates.rivendell.example/verify/BENCH-${i + 1}`,
      design: i % 2 === 0 ? 'classic' : 'modern',
    });
  }
}

/**
 * CPU time (ms) this process spends measuring (reading /proc, running ps): cpuMeter subtracts
 * it, so Node's figure is the export's or the anchor's own work.
 */
let measuringCpuMs = 0;
function measuring<T>(fn: () => T): T {
  const c0 = process.cpuUsage();
  try {
    return fn();
  } finally {
    const c = process.cpuUsage(c0);
    measuringCpuMs += (c.user + c.system) / 1000;
  }
}

/** Peak RSS of this process (every 100 ms) and of a browser's whole process tree (every 500 ms). */
function memorySampler(browserPid: () => number | undefined) {
  let peak = process.memoryUsage().rss;
  let chromiumPeak = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    const pid = browserPid();
    if (pid && ticks++ % 5 === 0) chromiumPeak = Math.max(chromiumPeak, measuring(() => treeRss(pid)));
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20), chromiumPeakRssMb: Math.round(chromiumPeak / 1024) };
    },
  };
}

/** The process tree under `root` (root included). */
function tree(root: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * Memory in KiB of a process and all its descendants, as PSS (shared pages divided among the
 * processes that share them; plain RSS would count Chromium's shared libraries once per process).
 */
function treeRss(root: number): number {
  let total = 0;
  for (const p of tree(root)) {
    try {
      total += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/**
 * CPU time in ms used so far by a process tree: each live process's own time plus that of its
 * children that ended (cutime/cstime), so a renderer closed during the run still counts.
 */
function treeCpuMs(root: number): number {
  let ticks = 0;
  for (const p of tree(root)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields 14-17 of proc(5), counted from the state field (3) here
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended meanwhile (its time moves to its parent's cutime)
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time from now on of this process (less its measuring) and of the browser's process tree. */
function cpuMeter(browserPid: () => number | undefined) {
  const pid0 = browserPid();
  const chromium0 = pid0 ? measuring(() => treeCpuMs(pid0)) : 0;
  const measuring0 = measuringCpuMs;
  const node0 = process.cpuUsage();
  return () => {
    const pid = browserPid();
    const chromium = pid ? measuring(() => treeCpuMs(pid)) - chromium0 : 0;
    const node = process.cpuUsage(node0);
    return { nodeCpuMs: (node.user + node.system) / 1000 - (measuringCpuMs - measuring0), chromiumCpuMs: chromium };
  };
}

/** Options of a child run, passed as `key=value` arguments after the count. */
const options: Record<string, string> = Object.fromEntries(
  process.argv.slice(5).map((a) => a.split('=', 2) as [string, string]),
);

const modes: Record<string, (n: number, dir: string) => Promise<Result | Result[]>> = {
  async single() {
    const renderer = createPdfRenderer({ executablePath: findChromium() });
    let t = performance.now();
    await renderer.pdf(sampleCertificate());
    const cold = performance.now() - t;
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await renderer.pdf(sampleCertificate({ learnerName: `Warm ${i}`, design: i % 2 ? 'modern' : 'classic' }));
      times.push(performance.now() - t);
    }
    await renderer.close();
    times.sort((a, b) => a - b);
    const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
    return [
      { label: 'single PDF, cold (browser start included)', ms: cold, count: 1, peakRssMb: rss },
      { label: 'single PDF, warm (median of 20)', ms: times[10]!, count: 1, peakRssMb: rss },
    ];
  },

  async export(n, dir) {
    const renderer = createPdfRenderer({ executablePath: findChromium() });
    // A warm process, as the anchor's: the browser up and both pages open, each having printed a
    // batch (a running server keeps its pages between exports; only its first export opens them).
    // `cold=1`: the first export of a process whose browser has printed one certificate only.
    await renderer.pdf(sampleCertificate());
    if (options.cold !== '1') {
      const warmBatch = [...certificates(BATCH)].map((doc) => ({ ...doc, learnerName: `Warm ${doc.learnerName}` }));
      await renderer.warm?.(2);
      await Promise.all([renderer.pdfBatch(warmBatch), renderer.pdfBatch(warmBatch)]);
    }
    const mem = memorySampler(() => renderer.browserPid());
    const file = join(dir, 'export.pdf');
    const cpu = cpuMeter(() => renderer.browserPid());
    const t = performance.now();
    const { pages } = await exportPdf(certificates(n), createWriteStream(file), { renderer, batchSize: BATCH });
    const ms = performance.now() - t;
    const used = cpu();
    const m = mem.stop();
    await renderer.close();
    const label = `exportPdf, ${n} certificates (batches of ${BATCH})${options.cold === '1' ? ', first export of the process (second page opened inside)' : ''}`;
    return { label, ms, count: pages, ...m, ...used, bytes: statSync(file).size };
  },

  /** Chromium's own rate: two warm pages printing prepared 100-certificate documents at the same time. */
  async anchor(n, dir) {
    const files = readdirSync(options.html!).sort().map((f) => join(options.html!, f));
    const htmls = files.map((f) => readFileSync(f, 'utf8'));
    // launched as the renderer launches its browser (same flags, fonts and DevTools pipe)
    const browser = await puppeteer.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS, env: chromiumEnv(), pipe: true });
    const print = async (page: Page, html: string) => {
      await page.setContent(html, { waitUntil: 'load', timeout: 0 });
      return page.pdf({ printBackground: true, preferCSSPageSize: true, tagged: false, timeout: 0 });
    };
    const pages = [await browser.newPage(), await browser.newPage()];
    await Promise.all(pages.map((p) => print(p, htmls[0]!))); // both pages warm, as a renderer's are
    const mem = memorySampler(() => browser.process()?.pid);
    const cpu = cpuMeter(() => browser.process()?.pid);
    let next = 0;
    let bytes = 0;
    const t = performance.now();
    await Promise.all(
      pages.map(async (page) => {
        while (next < htmls.length) {
          const pdf = await print(page, htmls[next++]!);
          bytes += pdf.length;
        }
      }),
    );
    const ms = performance.now() - t;
    const used = cpu();
    const m = mem.stop();
    await browser.close();
    void dir;
    return { label: `anchor: Chromium alone, two pages printing prepared ${BATCH}-certificate HTML`, ms, count: n, ...m, ...used, bytes };
  },
};

function runChild(mode: string, n: number, opts: Record<string, string> = {}): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const args = Object.entries(opts).map(([k, v]) => `${k}=${v}`);
    const child = spawn(process.execPath, [...process.execArgv, __filename, '--child', mode, String(n), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${mode} exited with ${code}`));
      const parsed = JSON.parse(out.trim().split('\n').pop()!) as Result | Result[];
      resolve(Array.isArray(parsed) ? parsed : [parsed]);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rate = (r: Result) => r.count / (r.ms / 1000);
const perCert = (ms: number | undefined, r: Result) => (ms ?? 0) / r.count;

async function main(): Promise<void> {
  const [flag, mode, count] = process.argv.slice(2);
  if (flag === '--child') {
    const dir = mkdtempSync(join(tmpdir(), 'render-bench-'));
    try {
      const result = await modes[mode!]!(Number(count), dir);
      process.stdout.write(JSON.stringify(result) + '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const n = Math.max(BATCH, Math.round(Number(flag ?? 1000) / BATCH) * BATCH);
  const reps = Math.max(1, Number(mode ?? 3));
  const memoryTimes = Number(count ?? 4); // the memory run's size, in N (0: none)
  const dir = mkdtempSync(join(tmpdir(), 'render-bench-'));
  // The anchor's documents: the very batches the export prints, built before its clock starts.
  const all = [...certificates(n)];
  for (let i = 0; i < n; i += BATCH) {
    writeFileSync(join(dir, `batch-${String(i / BATCH).padStart(4, '0')}.html`), await renderBatchHtml(all.slice(i, i + BATCH)));
  }
  const load = [loadavg()[0]!];
  const step = async (m: string, c: number, o: Record<string, string> = {}) => {
    const r = await runChild(m, c, o);
    load.push(loadavg()[0]!);
    process.stderr.write(`${r.map((x) => `${x.label}: ${(x.ms / 1000).toFixed(2)} s`).join('; ')}\n`);
    return r;
  };
  const single = await step('single', 1);
  const pairs: Array<{ ours: Result; anchor: Result }> = [];
  for (let rep = 0; rep < reps; rep++) {
    // who goes first alternates, so a change of load between the two halves does not favour one
    const order = rep % 2 === 0 ? (['anchor', 'export'] as const) : (['export', 'anchor'] as const);
    const got: Record<string, Result> = {};
    for (const m of order) got[m] = (await step(m, n, m === 'anchor' ? { html: dir } : {}))[0]!;
    pairs.push({ ours: got.export!, anchor: got.anchor! });
  }
  const cold = (await step('export', n, { cold: '1' }))[0]!;
  const big = memoryTimes > 0 ? (await step('export', n * memoryTimes))[0] : undefined;
  rmSync(dir, { recursive: true, force: true });

  const chromium = execFileSync(findChromium() ?? 'chromium', ['--version'], { encoding: 'utf8' }).trim();
  console.log(`\n${chromium}, Node ${process.version}, ${n} certificates, ${reps} interleaved repetitions, load average (1 min) during the run ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}\n`);
  console.log('| run | ours: certificates/s | anchor: certificates/s | ratio | ours: CPU ms/certificate (Node + Chromium) | anchor: CPU ms/certificate (Node + Chromium) | CPU ratio (anchor / ours) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const cpu = (r: Result) => perCert(r.nodeCpuMs, r) + perCert(r.chromiumCpuMs, r);
  const fmtCpu = (r: Result) => `${cpu(r).toFixed(1)} (${perCert(r.nodeCpuMs, r).toFixed(1)} + ${perCert(r.chromiumCpuMs, r).toFixed(1)})`;
  pairs.forEach(({ ours, anchor }, i) => {
    console.log(`| ${i + 1} | ${rate(ours).toFixed(1)} | ${rate(anchor).toFixed(1)} | ${(rate(ours) / rate(anchor)).toFixed(2)} | ${fmtCpu(ours)} | ${fmtCpu(anchor)} | ${(cpu(anchor) / cpu(ours)).toFixed(2)} |`);
  });
  const mOurs = median(pairs.map((p) => rate(p.ours)));
  const mAnchor = median(pairs.map((p) => rate(p.anchor)));
  console.log(
    `| **median** | **${mOurs.toFixed(1)}** | **${mAnchor.toFixed(1)}** | **${median(pairs.map((p) => rate(p.ours) / rate(p.anchor))).toFixed(2)}** | ${median(pairs.map((p) => cpu(p.ours))).toFixed(1)} | ${median(pairs.map((p) => cpu(p.anchor))).toFixed(1)} | **${median(pairs.map((p) => cpu(p.anchor) / cpu(p.ours))).toFixed(2)}** |`,
  );
  console.log('\n| measure | time | certificates/s | peak RSS of this process | peak PSS of Chromium | PDF size |');
  console.log('|---|---|---|---|---|---|');
  const rows = [...single, pairs[0]!.anchor, ...pairs.map((p) => p.ours), cold, ...(big ? [big] : [])];
  for (const r of rows) {
    const perSec = r.count > 1 ? rate(r).toFixed(1) : '';
    const size = r.bytes ? `${(r.bytes / 2 ** 20).toFixed(1)} MiB` : '';
    const chromiumRss = r.chromiumPeakRssMb ? `${r.chromiumPeakRssMb} MiB` : '';
    console.log(`| ${r.label} | ${(r.ms / 1000).toFixed(2)} s | ${perSec} | ${r.peakRssMb} MiB | ${chromiumRss} | ${size} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

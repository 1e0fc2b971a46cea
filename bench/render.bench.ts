/**
 * Benchmark of the certificate renderer. Run by hand:  npx tsx bench/render.bench.ts [N]
 *
 * Each measure runs in a fresh child process, so that one measure's memory does not count in
 * the next one's peak RSS. Prints a markdown table (see bench/README.md for the latest figures).
 *
 *  - single PDF, cold: a new renderer, its first PDF (browser start included)
 *  - single PDF, warm: median of 20 PDFs with the browser up
 *  - export of N certificates (default 1,000) with exportPdf: batches of 100 -> one PDF, with 1 and
 *    with 2 batches printing at a time, and of N/4 and 4N (peak memory must not depend on N)
 *  - the same N certificates as ONE HTML document streamed with page.createPDFStream (the alternative design)
 *  - the limit: Chromium printing the same N pages from one prepared HTML file,
 *    page.setContent + page.pdf and nothing else
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import puppeteer from 'puppeteer';
import { CHROMIUM_ARGS, createPdfRenderer, exportPdf, findChromium, renderBatchHtml } from '../src/render';
import { sampleCertificate } from './render-samples';

interface Result {
  label: string;
  ms: number;
  count: number;
  peakRssMb: number;
  chromiumPeakRssMb?: number;
  bytes?: number;
  note?: string;
}

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

/** Peak RSS of this process and of a browser's whole process tree, sampled every 100 ms. */
function memorySampler(browserPid: () => number | undefined) {
  let peak = process.memoryUsage().rss;
  let chromiumPeak = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    const pid = browserPid();
    if (pid && ticks++ % 5 === 0) chromiumPeak = Math.max(chromiumPeak, treeRss(pid));
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20), chromiumPeakRssMb: Math.round(chromiumPeak / 1024) };
    },
  };
}

/**
 * Memory in KiB of a process and all its descendants, as PSS (shared pages divided among the
 * processes that share them; plain RSS would count Chromium's shared libraries once per process).
 */
function treeRss(root: number): number {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      total += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
    stack.push(...(children.get(p) ?? []));
  }
  return total;
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
    const concurrency = Number(options.concurrency ?? 2);
    const renderer = createPdfRenderer({ executablePath: findChromium() });
    await renderer.pdf(sampleCertificate()); // browser up: the export job runs in a warm process
    const mem = memorySampler(() => renderer.browserPid());
    const file = join(dir, 'export.pdf');
    const t = performance.now();
    const { pages } = await exportPdf(certificates(n), createWriteStream(file), { renderer, batchSize: 100, concurrency, tmpDir: dir });
    const ms = performance.now() - t;
    const m = mem.stop();
    await renderer.close();
    const label = `exportPdf, ${n} certificates (batches of 100, ${concurrency} at a time)`;
    return { label, ms, count: pages, ...m, bytes: statSync(file).size };
  },

  async stream(n, dir) {
    const html = await renderBatchHtml([...certificates(n)]);
    const browser = await puppeteer.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
    const mem = memorySampler(() => browser.process()?.pid);
    const page = await browser.newPage();
    const file = join(dir, 'stream.pdf');
    const t = performance.now();
    await page.setContent(html, { waitUntil: 'load', timeout: 0 });
    await page.waitForSelector('html[data-fitted]', { timeout: 0 });
    const stream = await page.createPDFStream({ printBackground: true, preferCSSPageSize: true, tagged: false, timeout: 0 });
    await pipeline(stream, createWriteStream(file));
    const ms = performance.now() - t;
    const m = mem.stop();
    await browser.close();
    return { label: `one HTML of ${n} -> page.createPDFStream`, ms, count: n, ...m, bytes: statSync(file).size, note: 'HTML built beforehand' };
  },

  async limit(n, dir) {
    const htmlFile = options.html!;
    const html = readFileSync(htmlFile, 'utf8');
    const browser = await puppeteer.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
    const mem = memorySampler(() => browser.process()?.pid);
    const page = await browser.newPage();
    const t = performance.now();
    await page.setContent(html, { waitUntil: 'load', timeout: 0 });
    const pdf = await page.pdf({ printBackground: true, preferCSSPageSize: true, tagged: false, timeout: 0 });
    const ms = performance.now() - t;
    const m = mem.stop();
    writeFileSync(join(dir, 'limit.pdf'), pdf);
    await browser.close();
    return { label: `limit: Chromium alone, one prepared HTML of ${n} pages`, ms, count: n, ...m, bytes: pdf.length };
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
  const n = Number(flag ?? 1000);
  const dir = mkdtempSync(join(tmpdir(), 'render-bench-'));
  const htmlFile = join(dir, 'prepared.html');
  writeFileSync(htmlFile, await renderBatchHtml([...certificates(n)]));
  const results: Result[] = [];
  const load = [loadavg()[0]!];
  const runs: Array<[string, number, Record<string, string>]> = [
    ['single', 1, {}],
    ['export', n, { concurrency: '2' }],
    ['export', n, { concurrency: '1' }],
    ['export', Math.max(1, Math.round(n / 4)), { concurrency: '2' }], // memory must not depend on n
    ['export', n * 4, { concurrency: '2' }],
    ['stream', n, {}],
    ['limit', n, { html: htmlFile }],
  ];
  for (const [mode, count, env] of runs) {
    results.push(...(await runChild(mode, count, env)));
    load.push(loadavg()[0]!);
  }
  rmSync(dir, { recursive: true, force: true });
  const chromium = execFileSync(findChromium() ?? 'chromium', ['--version'], { encoding: 'utf8' }).trim();
  console.log(`\n${chromium}, Node ${process.version}, ${n} certificates, load average during the run ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}\n`);
  console.log('| measure | time | certificates/s | peak RSS of this process | peak PSS of Chromium | PDF size |');
  console.log('|---|---|---|---|---|---|');
  const limit = results.find((r) => r.label.startsWith('limit'));
  for (const r of results) {
    const perSec = r.count > 1 ? (r.count / (r.ms / 1000)).toFixed(1) : '';
    const ratio = limit && r.count === limit.count && r !== limit ? ` (${(r.ms / limit.ms).toFixed(2)}x the limit)` : '';
    const size = r.bytes ? `${(r.bytes / 2 ** 20).toFixed(1)} MiB` : '';
    const chromiumRss = r.chromiumPeakRssMb ? `${r.chromiumPeakRssMb} MiB` : '';
    console.log(`| ${r.label} | ${(r.ms / 1000).toFixed(2)} s${ratio} | ${perSec} | ${r.peakRssMb} MiB | ${chromiumRss} | ${size} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

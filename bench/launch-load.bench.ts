/**
 * Launch load: 16 clients launching the tool from the sandbox LMS without pause for 60 s, each
 * from its own address (X-Forwarded-For through TRUST_PROXY=loopback, as behind a reverse proxy),
 * counting every launch that does not end on the learner page as an error, and sampling the
 * process's memory every 5 s to see whether it levels off. One process holds the tool, the
 * sandbox platform and the offline engine. Run by hand:
 * `node --expose-gc --import tsx bench/launch-load.bench.ts [seconds] [clients]`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { setLogLevel } from '../src/logger';
import { HttpBrowser } from '../test/support/browser';

const SECONDS = Number(process.argv[2] ?? 60);
const CLIENTS = Number(process.argv[3] ?? 16);
const SAMPLE_MS = 5000;

/** A browser on its own address: every request it makes names it in X-Forwarded-For. */
class ClientBrowser extends HttpBrowser {
  constructor(private readonly ip: string) {
    super();
  }
  override request(url: string, init: Parameters<HttpBrowser['request']>[1] = {}) {
    return super.request(url, { ...init, headers: { ...init.headers, 'x-forwarded-for': this.ip } });
  }
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

async function main() {
  setLogLevel('error');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-load-'));
  mkdirSync(join(dataDir, 'pc'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    PLATFORM_CONFIG_DIR: join(dataDir, 'pc'),
    EMBEDDED_DB: 'offline',
    LOG_LEVEL: 'error',
    TRUST_PROXY: 'loopback',
  });
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  srv.on('request', app.express);
  const sandbox = app.sandbox!;
  const c = sandbox.store.createCourse({ title: 'Load', quirks: 'standard', learners: 200, items: 5 });
  sandbox.store.setRateLimit(c.course.id, null);

  let next = 0;
  const launch = async (browser: HttpBrowser) => {
    const user = c.learnerIds[next++ % c.learnerIds.length]!;
    browser.clearCookies();
    const page = await browser.open(sandbox.launchUrl(c.course.id, user));
    if (page.status !== 200 || !page.url.includes('/learner')) throw new Error(`status ${page.status} at ${page.url}`);
  };
  await launch(new ClientBrowser('198.51.100.250')); // warm up

  const samples: Array<{ s: number; rssMiB: number; heapMiB: number; launches: number }> = [];
  let launches = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const latencies: number[] = [];
  const started = Date.now();
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    const row = { s: Math.round((Date.now() - started) / 1000), rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed), launches };
    samples.push(row);
    console.log(JSON.stringify(row));
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);
  const end = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_x, k) => {
      const browser = new ClientBrowser(`198.51.100.${k + 1}`);
      while (Date.now() < end) {
        const t0 = performance.now();
        try {
          await launch(browser);
          launches++;
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (firstErrors.length < 5) firstErrors.push((err as Error).message);
        }
      }
    }),
  );
  clearInterval(sampler);
  sample();
  const secs = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  const half = samples.filter((x) => x.s >= SECONDS / 2);
  const heapFirstHalfMax = Math.max(...samples.filter((x) => x.s > 0 && x.s < SECONDS / 2).map((x) => x.heapMiB));
  const heapSecondHalfMax = Math.max(...half.map((x) => x.heapMiB));
  console.log(
    JSON.stringify({
      clients: CLIENTS,
      seconds: Math.round(secs),
      launches,
      perSecond: +(launches / secs).toFixed(1),
      errors,
      firstErrors,
      p50ms: p(0.5),
      p99ms: p(0.99),
      heapMiB: { start: samples[0]!.heapMiB, firstHalfMax: heapFirstHalfMax, secondHalfMax: heapSecondHalfMax, end: samples.at(-1)!.heapMiB },
      rssMiB: { start: samples[0]!.rssMiB, max: Math.max(...samples.map((x) => x.rssMiB)), end: samples.at(-1)!.rssMiB },
      engine: db.engine,
      node: process.version,
    }),
  );
  srv.closeAllConnections();
  srv.close();
  await app.close();
  await db.close();
  process.exit(errors === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

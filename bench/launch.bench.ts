/**
 * Launch throughput: the full LTI 1.3 launch (sandbox "launch as" → OIDC login → platform auth →
 * id_token POST → tool page) at 1 and 16 concurrent clients, beside a bare express route served
 * the same way on the same machine. Run by hand: `npx tsx bench/launch.bench.ts [seconds]`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { setLogLevel } from '../src/logger';
import { HttpBrowser } from '../test/support/browser';

const SECONDS = Number(process.argv[2] ?? 10);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(label: string, concurrency: number, once: () => Promise<void>) {
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
  const row = {
    label,
    concurrency,
    perSecond: +(latencies.length / secs).toFixed(1),
    p50ms: +percentile(latencies, 50).toFixed(2),
    p99ms: +percentile(latencies, 99).toFixed(2),
    n: latencies.length,
    errors,
  };
  console.log(JSON.stringify(row));
  return row;
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
  });
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  srv.on('request', app.express);
  const sandbox = app.sandbox!;
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners: 50, items: 5 });

  const bare = express();
  bare.get('/hello', (_req, res) => void res.type('html').send('<!doctype html><p>hello</p>'));
  const bareServer = createServer(bare);
  const barePort = await listen(bareServer);

  let i = 0;
  const launchOnce = async () => {
    const user = c.learnerIds[i++ % c.learnerIds.length]!;
    const page = await new HttpBrowser().open(sandbox.launchUrl(c.course.id, user));
    if (page.status !== 200) throw new Error(`status ${page.status}`);
  };
  const bareOnce = async () => {
    const res = await fetch(`http://127.0.0.1:${barePort}/hello`);
    await res.text();
    if (res.status !== 200) throw new Error('bare');
  };
  await launchOnce(); // warm up (keys, indexes)
  console.log(`# ${SECONDS}s per run; engine=${db.engine}; node ${process.version}`);
  const rows = [];
  for (const conc of [1, 16]) {
    rows.push(await run('full launch (5 HTTP requests)', conc, launchOnce));
    rows.push(await run('bare express route (1 request)', conc, bareOnce));
  }
  for (const conc of [1, 16]) {
    const l = rows.find((r) => r.concurrency === conc && r.label.startsWith('full'))!;
    const b = rows.find((r) => r.concurrency === conc && r.label.startsWith('bare'))!;
    console.log(`ratio at ${conc}: bare/launch throughput = ${(b.perSecond / l.perSecond).toFixed(1)}x; launch p50 = ${l.p50ms} ms vs bare ${b.p50ms} ms`);
  }
  srv.closeAllConnections();
  srv.close();
  bareServer.close();
  await app.close();
  await db.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

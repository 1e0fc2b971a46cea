/**
 * A stored certificate PDF's download beside express serving the same bytes from disk
 * (express.static), in one run: the tool's route (session, the viewer's permission check, the
 * file's chunks from the database, streamed with its length and ETag) against the floor a static
 * file server sets, at 1 and 16 clients, interleaved and repeated, medians; plus the 304 answer to
 * a browser that has the file. Run by hand: `npx tsx bench/download.bench.ts [seconds] [repetitions]`.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { setLogLevel } from '../src/logger';
import { HttpBrowser, sessionOf } from '../test/support/browser';
import { buildDefinition } from '../test/support/builders';
import { courseModel } from '../src/courses/course.model';

const SECONDS = Number(process.argv[2] ?? 4);
const REPS = Number(process.argv[3] ?? 3);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// keep-alive connections for both, as a browser has
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function run(concurrency: number, url: string, headers: Record<string, string>, expectStatus: number, bytes: number) {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  const started = Date.now();
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
  latencies.sort((a, b) => a - b);
  return { perSecond: latencies.length / ((Date.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function main() {
  setLogLevel('error');
  const srv = createServer();
  const port = await listen(srv);
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-bench-'));
  mkdirSync(join(dataDir, 'pc'));
  const config = loadConfig({
    NODE_ENV: 'test', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir,
    PLATFORM_CONFIG_DIR: join(dataDir, 'pc'), EMBEDDED_DB: 'offline', LOG_LEVEL: 'error',
  });
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  srv.on('request', app.express);
  const sandbox = app.sandbox!;
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners: 1, items: 2, scoreMaximum: 10, score: () => 10 });
  await new HttpBrowser().open(sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
  const course = await courseModel(db.connection).findOne({ contextId: sandbox.store.contextIdOf(c.course) }).lean();
  const definition = await buildDefinition(db.connection, course!._id, {}, { by: { kind: 'teacher', userId: 't', name: 'T' }, now: new Date() });
  const browser = new HttpBrowser();
  const launched = await browser.open(sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
  const appUrl = `${config.publicUrl}/app/${sessionOf(launched.url)}`;
  const claimed = await browser.request(`${appUrl}/learner/claim`, { form: { definitionId: String(definition._id) } });
  const pdfUrl = `${new URL(claimed.headers.get('location')!, appUrl).toString()}.pdf`;
  const first = await fetch(pdfUrl);
  const pdf = Buffer.from(await first.arrayBuffer());
  const etag = first.headers.get('etag')!;
  if (first.status !== 200) throw new Error(`first download: ${first.status}`);

  const dir = mkdtempSync(join(tmpdir(), 'lticert-static-'));
  writeFileSync(join(dir, 'certificate.pdf'), pdf);
  const bare = express();
  bare.use(express.static(dir));
  const staticServer = createServer(bare);
  const staticUrl = `http://127.0.0.1:${await listen(staticServer)}/certificate.pdf`;

  console.log(`# ${SECONDS} s per run, ${REPS} repetitions, interleaved; a ${pdf.length}-byte stored PDF; engine=${db.engine}; node ${process.version}`);
  for (const conc of [1, 16]) {
    const ours: Array<Awaited<ReturnType<typeof run>>> = [];
    const floor: typeof ours = [];
    const revalidated: typeof ours = [];
    for (let r = 0; r < REPS; r++) {
      const pair = [() => run(conc, pdfUrl, {}, 200, pdf.length), () => run(conc, staticUrl, {}, 200, pdf.length)];
      if (r % 2) pair.reverse();
      const a = await pair[0]!();
      const b = await pair[1]!();
      ours.push(r % 2 ? b : a);
      floor.push(r % 2 ? a : b);
      revalidated.push(await run(conc, pdfUrl, { 'if-none-match': etag, 'cache-control': 'max-age=0' }, 304, 0));
    }
    const m = (xs: typeof ours, k: 'perSecond' | 'p50' | 'p99') => median(xs.map((x) => x[k]));
    console.log(
      `${conc} client(s): tool ${m(ours, 'perSecond').toFixed(0)}/s p50 ${m(ours, 'p50').toFixed(2)} ms p99 ${m(ours, 'p99').toFixed(2)} ms` +
        ` | express static ${m(floor, 'perSecond').toFixed(0)}/s p50 ${m(floor, 'p50').toFixed(2)} ms p99 ${m(floor, 'p99').toFixed(2)} ms` +
        ` | p50 ratio tool/static ${(m(ours, 'p50') / m(floor, 'p50')).toFixed(2)}×, throughput ${(m(ours, 'perSecond') / m(floor, 'perSecond')).toFixed(2)}×` +
        ` | 304: ${m(revalidated, 'perSecond').toFixed(0)}/s p50 ${m(revalidated, 'p50').toFixed(2)} ms`,
    );
  }
  srv.closeAllConnections();
  srv.close();
  staticServer.close();
  await app.close();
  await db.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

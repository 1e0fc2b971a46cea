/**
 * The learner page against an LMS that answers every service call in 50 ms (a delay in front of the
 * sandbox's /api and /token), with 10 and 20 AGS line items: how long the page takes, in LMS round
 * trips (page time ÷ 50 ms), when the learner's last refresh is recent (stored grades at once,
 * refresh in the background) and when it is not (the page waits for the refresh: the listing and
 * every results call at once). Run by hand: `npx tsx bench/learner-page.bench.ts [repetitions]`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { forgetLearnerRefreshes, settleLearnerRefreshes } from '../src/grades/learner-refresh';
import { setLogLevel } from '../src/logger';
import { HttpBrowser, sessionOf } from '../test/support/browser';

const REPS = Number(process.argv[2] ?? 7);
const LMS_MS = 50;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  setLogLevel('error');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-bench-'));
  mkdirSync(join(dataDir, 'pc'));
  const config = loadConfig({
    NODE_ENV: 'test', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir,
    PLATFORM_CONFIG_DIR: join(dataDir, 'pc'), EMBEDDED_DB: 'offline', LOG_LEVEL: 'error',
  });
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  // the LMS's 50 ms: every service call (and token request) of the sandbox waits that long
  let delay = LMS_MS;
  srv.on('request', (req, res) => {
    if (delay > 0 && /^\/sandbox\/(api\/|token)/.test(req.url ?? '')) setTimeout(() => app.express(req, res), delay);
    else app.express(req, res);
  });
  const sandbox = app.sandbox!;
  console.log(`# LMS answers in ${LMS_MS} ms; ${REPS} page loads each, median; engine=${db.engine}; node ${process.version}`);
  for (const items of [10, 20]) {
    const c = sandbox.store.createCourse({ title: `Bench ${items}`, quirks: 'standard', learners: 3, items, scoreMaximum: 10, score: (l, i) => (l + i) % 11 });
    sandbox.store.setRateLimit(c.course.id, null);
    await new HttpBrowser().open(sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
    await app.ctx.jobs.drain();
    const browser = new HttpBrowser();
    const launched = await browser.open(sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
    await settleLearnerRefreshes();
    const page = `${config.publicUrl}/app/${sessionOf(launched.url)}/learner`;
    const time = async () => {
      const t0 = performance.now();
      const p = await browser.open(page);
      const ms = performance.now() - t0;
      if (p.status !== 200) throw new Error(`status ${p.status}`);
      return ms;
    };
    // each page load is timed with the 50 ms LMS and with an instant one, interleaved: the
    // difference is the time the page waited for the LMS, whatever the machine's load
    const samples = { recent: { slow: [] as number[], fast: [] as number[] }, waiting: { slow: [] as number[], fast: [] as number[] } };
    for (let r = 0; r < REPS; r++) {
      for (const d of [LMS_MS, 0]) {
        delay = d;
        const key = d ? 'slow' : 'fast';
        samples.recent[key].push(await time());
        await settleLearnerRefreshes();
        forgetLearnerRefreshes();
        samples.waiting[key].push(await time());
        await settleLearnerRefreshes();
      }
    }
    const show = (label: string, x: { slow: number[]; fast: number[] }) => {
      const wait = median(x.slow) - median(x.fast);
      return `${label} ${median(x.slow).toFixed(0)} ms with the 50 ms LMS, ${median(x.fast).toFixed(0)} ms with an instant one: waited ${wait.toFixed(0)} ms = ${(wait / LMS_MS).toFixed(2)} round trips`;
    };
    console.log(`${items} line items: ${show('recent refresh:', samples.recent)}; ${show('no recent refresh:', samples.waiting)}`);
  }
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

/**
 * Launches per second with one and with three tool instances (real processes, `src/main.ts`) on
 * the same database (the offline engine's wire server in this process, or MONGODB_URI), behind
 * the round-robin proxy of the multi-instance test. Each client does what a browser does when a
 * learner opens the tool: OIDC login → platform authorization → id_token POST → the learner page.
 * Afterwards one learner claims a certificate and downloads its PDF on each instance, so that
 * every instance has started its Chromium, and the resident memory of each instance (Node and its
 * Chromium processes, from /proc) is printed: the sizing figure of docs/deploy.md.
 *
 * Run by hand: `npx tsx bench/instances.bench.ts [seconds per run] [clients]` (default 20 s, 8).
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectToOfflineEngine } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { courseModel } from '../src/courses/course.model';
import { issueModel } from '../src/certificates/issue.model';
import { buildDefinition, seedCourse } from '../test/support/builders';
import { HttpBrowser, sessionOf } from '../test/support/browser';
import { quietLogger } from '../test/support/db';
import { startRoundRobinProxy } from '../test/support/round-robin-proxy';
import { LTI, startAttackerPlatform } from '../test/security/support/attacker-platform';
import { spawnTool, tempDir, type ToolProcess } from '../test/faults/support';

const SECONDS = Number(process.argv[2] ?? 20);
const CLIENTS = Number(process.argv[3] ?? 8);
const CLIENT_ID = 'bench-instances';
const LEARNERS = 200;

/** Memory (PSS, MiB) of `pid` and of all its descendants (Chromium's processes). */
function treeRssMiB(pid: number): { node: number; children: number } {
  const parents = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  // PSS (proportional set size): Chromium's processes share most of their pages, so their RSS
  // summed would count the shared ones several times over
  const rss = (p: number) => {
    try {
      return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  const descendants: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) (descendants.push(child), walk(child));
  };
  walk(pid);
  return { node: Math.round(rss(pid)), children: Math.round(descendants.reduce((s, p) => s + rss(p), 0)) };
}

async function main() {
  const uri = process.env.MONGODB_URI;
  const engine = uri ? undefined : await startOfflineEngine({ dir: tempDir('bench-db'), logger: quietLogger });
  const dbUri = uri ?? `mongodb://127.0.0.1:${engine!.port}/bench`;
  const conn = uri
    ? (await (await import('mongoose')).default.createConnection(uri).asPromise())
    : (await connectToOfflineEngine(engine!, 'bench', false)).connection;
  await issueModel(conn).createIndexes();
  const platform = await startAttackerPlatform();
  const course = await seedCourse(conn, { scores: Array.from({ length: LEARNERS }, () => [9]) });
  await courseModel(conn).updateOne({ _id: course.courseId }, { $set: { issuer: platform.issuer, clientId: CLIENT_ID, contextId: 'ctx-bench' } });
  const definition = await buildDefinition(conn, course.courseId);
  const shared = tempDir('bench-config');
  writeFileSync(
    join(shared, 'lms.json'),
    JSON.stringify({ name: 'Bench LMS', issuer: platform.issuer, clientId: CLIENT_ID, authUrl: platform.authUrl, tokenUrl: platform.tokenUrl, jwksUrl: platform.jwksUrl(), deploymentIds: ['attacker-deployment'] }),
  );

  console.log(`instances bench: ${CLIENTS} clients, ${SECONDS} s per run, database ${uri ? 'MONGODB_URI' : 'offline engine (in the bench process)'}`);
  for (const n of [1, 3]) {
    const proxy = await startRoundRobinProxy();
    const env = {
      MONGODB_URI: dbUri,
      SANDBOX: 'false',
      PUBLIC_URL: proxy.url,
      PLATFORM_CONFIG_DIR: shared,
      LTI_KEY: 'bench-instances-lti-key-0123456789abcdef',
      TRUST_PROXY: 'loopback',
      LOGIN_RATE_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    };
    const tools: ToolProcess[] = await Promise.all(Array.from({ length: n }, () => spawnTool({ ...env, LOG_LEVEL: 'info' })));
    proxy.setBackends(tools.map((t) => t.url));
    const tool = { loginUrl: `${proxy.url}/lti/login`, launchUrl: `${proxy.url}/lti/launch` };
    let launches = 0;
    let errors = 0;
    const latencies: number[] = [];
    const launchOnce = async (u: number) => {
      const t0 = performance.now();
      const page = await platform.launch(tool, { clientId: CLIENT_ID, claims: { sub: course.userIds[u % LEARNERS], name: `Learner ${(u % LEARNERS) + 1}`, [LTI.roles]: [LTI.learner], [LTI.context]: { id: 'ctx-bench' } } });
      if (page.status === 200 && page.url.includes('/learner')) {
        launches++;
        latencies.push(performance.now() - t0);
      } else errors++;
    };
    // warm up (tsx caches, keysets) before the clock starts
    await Promise.all(Array.from({ length: n * 2 }, (_, i) => launchOnce(i)));
    launches = errors = 0;
    latencies.length = 0;
    const end = Date.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = c; Date.now() < end; i += CLIENTS) await launchOnce(i).catch(() => errors++);
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
    const afterLaunches = tools.map((t) => treeRssMiB(t.child.pid!));
    // one PDF per instance: each starts its own Chromium
    for (let i = 0; i < n * 2; i++) {
      const browser = new HttpBrowser();
      const page = await platform.launch(tool, { clientId: CLIENT_ID, claims: { sub: course.userIds[i], name: `Learner ${i + 1}`, [LTI.roles]: [LTI.learner], [LTI.context]: { id: 'ctx-bench' } } }, browser);
      const app = `${proxy.url}/app/${sessionOf(page.url)}`;
      const claim = await browser.request(`${app}/learner/claim`, { form: { definitionId: String(definition._id) } });
      const certificatePage = claim.headers.get('location') ?? '';
      for (let k = 0; k < n; k++) await browser.request(`${proxy.url}${certificatePage}.pdf`).then((r) => r.arrayBuffer());
    }
    const withChromium = tools.map((t) => treeRssMiB(t.child.pid!));
    console.log(
      `${n} instance(s): ${(launches / elapsed).toFixed(1)} launches/s (${launches} in ${elapsed.toFixed(1)} s, ${errors} errors), p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; ` +
        `served ${JSON.stringify([...proxy.served.values()])}`,
    );
    console.log(`  memory (PSS) per instance after launches (Node | children): ${afterLaunches.map((r) => `${r.node} | ${r.children} MiB`).join(', ')}`);
    console.log(`  memory (PSS) per instance after PDFs    (Node | Chromium): ${withChromium.map((r) => `${r.node} | ${r.children} MiB`).join(', ')}`);
    await Promise.all(tools.map((t) => t.kill()));
    await proxy.close();
  }
  await platform.close();
  await conn.close();
  await engine?.stop();
  process.exit(0);
}

void main();

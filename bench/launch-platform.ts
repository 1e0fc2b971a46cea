/**
 * The launch benchmark's platform: the sandbox LMS in a process of its own, registered for one
 * tool, with the benchmark's course (learners × AGS items, no rate limit). Both tools of
 * bench/launch.bench.ts face one of these, the same way: it signs their id_tokens, answers their
 * token and AGS calls, and its CPU is counted apart from theirs.
 *
 * Started by bench/launch.bench.ts:
 *   node --import tsx bench/launch-platform.ts '<{"tool":{loginUrl,launchUrl,keysetUrl},"learners":50,"items":5}>'
 * Prints one JSON line when ready: `{ registration, launchUrls }`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { setLogLevel } from '../src/logger';
import { createSandbox } from '../src/sandbox/sandbox';

async function main() {
  setLogLevel('error');
  const args = JSON.parse(process.argv[2] ?? '{}') as { tool: { name?: string; loginUrl: string; launchUrl: string; keysetUrl: string }; learners?: number; items?: number };
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sandbox = await createSandbox({ baseUrl: `${base}/sandbox`, tool: { name: args.tool.name ?? 'Bench tool', ...args.tool }, seedDemo: false });
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners: args.learners ?? 50, items: args.items ?? 5 });
  sandbox.store.setRateLimit(c.course.id, null);
  const app = express();
  app.use('/sandbox', sandbox.router);
  server.on('request', app);
  console.log(JSON.stringify({ registration: sandbox.registration, launchUrls: c.learnerIds.map((u) => sandbox.launchUrl(c.course.id, u)) }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * The launch benchmark's peer: the minimal tool a developer would write directly on ltijs instead
 * of this project, served the same way. Its own process (ltijs is one per process), with the same
 * platform (a sandbox LMS of this project, same course and users), the same database engine (the
 * offline engine, in memory) and express. A launch is ltijs's own flow: login → platform auth →
 * id_token POST (ltijs verifies it, stores the id token and context, sets its cookie) → redirect
 * to the app route with the ltik → a page naming the user and the course.
 *
 * Started by bench/launch.bench.ts; prints one JSON line `{ "launchUrls": [...] }` when ready.
 * `GET /commands` answers how many database commands it has sent so far.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Provider as lti } from 'ltijs';
import mongoose from 'mongoose';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { createSandbox } from '../src/sandbox/sandbox';

async function main() {
  setLogLevel('error');
  const learners = Number(process.argv[2] ?? 50);
  const items = Number(process.argv[3] ?? 5);
  const engine = await startOfflineEngine({ logger: { debug() {}, info() {}, warn() {}, error: console.error } });
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;

  lti.setup(
    'a-bench-key-of-at-least-32-characters!!',
    { url: `${engine.uri}/ltijs-peer?monitorCommands=true` },
    { appRoute: '/app', loginRoute: '/login', keysetRoute: '/keys', cookies: { secure: false, sameSite: 'Lax' }, devMode: false, ltiaas: false },
  );
  lti.onConnect((token: { userInfo?: { name?: string }; platformContext?: { context?: { title?: string } } }, _req: unknown, res: express.Response) => {
    res.type('html').send(`<!doctype html><title>Peer</title><p>Hello ${token.userInfo?.name ?? ''} in ${token.platformContext?.context?.title ?? ''}</p>`);
  });
  await lti.deploy({ serverless: true, silent: true });
  let commands = 0;
  mongoose.connection.getClient().on('commandStarted', (e: { commandName: string }) => {
    if (!['hello', 'ismaster', 'isMaster', 'ping', 'endSessions'].includes(e.commandName)) commands++;
  });

  const sandbox = await createSandbox({
    baseUrl: `${base}/sandbox`,
    tool: { name: 'ltijs peer', loginUrl: `${base}/login`, launchUrl: `${base}/app`, keysetUrl: `${base}/keys` },
    seedDemo: false,
  });
  const r = sandbox.registration;
  const platform = await lti.registerPlatform({
    url: r.issuer,
    name: 'Sandbox LMS',
    clientId: r.clientId,
    authenticationEndpoint: r.authUrl,
    accesstokenEndpoint: r.tokenUrl,
    authConfig: { method: 'JWK_SET', key: r.jwksUrl },
  });
  await platform.platformActive(true);
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners, items });

  const app = express();
  app.get('/commands', (_req, res) => void res.json({ commands }));
  app.use('/sandbox', sandbox.router);
  app.use(lti.app);
  server.on('request', app);
  console.log(JSON.stringify({ launchUrls: c.learnerIds.map((u) => sandbox.launchUrl(c.course.id, u)), commandsUrl: `${base}/commands` }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

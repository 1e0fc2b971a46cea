/**
 * The launch benchmark's peer: the minimal tool a developer would write directly on ltijs instead
 * of this project, served the same way: its own process (ltijs is one per process) holding only
 * the tool, facing the same platform (bench/launch-platform.ts, its own process: same course and
 * users) with the same database engine (bench/launch-db.ts, its own process) and express. A
 * launch is ltijs's own flow: login → platform auth → id_token POST (ltijs verifies it, stores the
 * id token and context, sets its cookie) → redirect to the app route with the ltik → a page naming
 * the user and the course.
 *
 * Started by bench/launch.bench.ts:
 *   node --import tsx bench/ltijs-peer.ts '<{"port":N,"dbUri":"mongodb://…","registration":{…}}>'
 * Prints one JSON line when ready. `GET /__bench/commands` answers how many database commands it
 * has sent so far.
 */
import { createServer } from 'node:http';
import express from 'express';
import { Provider as lti } from 'ltijs';
import mongoose from 'mongoose';
import { setLogLevel } from '../src/logger';
import { handleProfileRequest } from './launch-profiler';

/** Its routes (bench/launch.bench.ts tells the platform the same ones). */
const PEER_ROUTES = { login: '/login', launch: '/app', keyset: '/keys' };

async function main() {
  setLogLevel('error');
  const args = JSON.parse(process.argv[2] ?? '{}') as {
    port: number;
    dbUri: string;
    registration: { issuer: string; clientId: string; authUrl: string; tokenUrl: string; jwksUrl: string };
  };
  lti.setup(
    'a-bench-key-of-at-least-32-characters!!',
    { url: `${args.dbUri}/ltijs-peer?monitorCommands=true` },
    { appRoute: PEER_ROUTES.launch, loginRoute: PEER_ROUTES.login, keysetRoute: PEER_ROUTES.keyset, cookies: { secure: false, sameSite: 'Lax' }, devMode: false, ltiaas: false },
  );
  lti.onConnect((token: { userInfo?: { name?: string }; platformContext?: { context?: { title?: string } } }, _req: unknown, res: express.Response) => {
    res.type('html').send(`<!doctype html><title>Peer</title><p>Hello ${token.userInfo?.name ?? ''} in ${token.platformContext?.context?.title ?? ''}</p>`);
  });
  await lti.deploy({ serverless: true, silent: true });
  let commands = 0;
  mongoose.connection.getClient().on('commandStarted', (e: { commandName: string }) => {
    if (!['hello', 'ismaster', 'isMaster', 'ping', 'endSessions'].includes(e.commandName)) commands++;
  });
  const r = args.registration;
  const platform = await lti.registerPlatform({
    url: r.issuer,
    name: 'Sandbox LMS',
    clientId: r.clientId,
    authenticationEndpoint: r.authUrl,
    accesstokenEndpoint: r.tokenUrl,
    authConfig: { method: 'JWK_SET', key: r.jwksUrl },
  });
  await platform.platformActive(true);

  const app = express();
  app.get('/__bench/commands', (_req, res) => void res.json({ commands }));
  app.get('/__bench/settle', (_req, res) => void res.json({}));
  app.use((req, res, next) => void (handleProfileRequest(req, res) || next()));
  app.use(lti.app);
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(args.port, '127.0.0.1', resolve));
  console.log(JSON.stringify({ ready: true }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

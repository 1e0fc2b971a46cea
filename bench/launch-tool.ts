/**
 * The launch benchmark's tool process: this tool (createApp, sandbox off) alone, as in a
 * deployment: the platform (bench/launch-platform.ts) and the database engine
 * (bench/launch-db.ts) are other processes. The platform is registered from a platform file.
 *
 * Started by bench/launch.bench.ts:
 *   node --import tsx bench/launch-tool.ts '<{"port":N,"dbUri":"mongodb://…","platformDir":"…","dataDir":"…"[,"refreshIntervalMs":0]}>'
 * Prints one JSON line when ready. Two routes for the benchmark beside the app's:
 *   GET /__bench/commands  database commands sent so far (command monitoring on every connection;
 *                          the timers' polling of `jobs` and `mail_outbox` left out)
 *   GET /__bench/settle    answers once the background learner refreshes under way are done
 *   GET /__bench/profile/… a CPU profile of the measured runs (bench/launch-profiler.ts)
 */
import { createServer } from 'node:http';
import mongoose from 'mongoose';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase, ltijsConnection } from '../src/db/connect';
import { settleLearnerRefreshes } from '../src/grades/learner-refresh';
import { setLogLevel } from '../src/logger';
import { handleProfileRequest } from './launch-profiler';

const IGNORED_COMMANDS = ['hello', 'ismaster', 'isMaster', 'ping', 'endSessions'];
const POLLED = ['jobs', 'mail_outbox'];

async function main() {
  setLogLevel('error');
  const args = JSON.parse(process.argv[2] ?? '{}') as { port: number; dbUri: string; platformDir: string; dataDir: string; refreshIntervalMs?: number };
  const publicUrl = `http://127.0.0.1:${args.port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(args.port),
    PUBLIC_URL: publicUrl,
    DATA_DIR: args.dataDir,
    PLATFORM_CONFIG_DIR: args.platformDir,
    MONGODB_URI: args.dbUri,
    SANDBOX: 'false',
    LOG_LEVEL: 'error',
    // every client of the benchmark is 127.0.0.1: the per-client login limit would count them as one
    LOGIN_RATE_LIMIT: '1000000',
    ...(args.refreshIntervalMs !== undefined ? { LEARNER_REFRESH_INTERVAL_MS: String(args.refreshIntervalMs) } : {}),
  });
  const db = await connectDatabase(config, { dbName: 'bench' });
  const app = await createApp({ config, db });
  let commands = 0;
  const clients = new Set<mongoose.mongo.MongoClient>([db.connection.getClient(), ltijsConnection().getClient()]);
  for (const client of clients) {
    client.on('commandStarted', (e) => {
      if (!IGNORED_COMMANDS.includes(e.commandName) && !POLLED.includes(String(e.command[e.commandName]))) commands++;
    });
  }
  const server = createServer((req, res) => {
    if (req.url === '/__bench/commands') return void res.end(JSON.stringify({ commands }));
    if (req.url === '/__bench/settle') return void settleLearnerRefreshes().then(() => res.end('{}'));
    if (handleProfileRequest(req, res)) return;
    app.express(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(args.port, '127.0.0.1', r));
  console.log(JSON.stringify({ ready: true, toolUrls: app.toolUrls }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

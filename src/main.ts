/**
 * Boot: config -> database -> app -> listen. Stops gracefully on SIGTERM/SIGINT: stop accepting
 * connections, let in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), stop background
 * work, close the database. A bad setting stops the start with one line naming it.
 */
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from './config';
import { connectDatabase, ltijsConnection } from './db/connect';
import { watchDatabase } from './db/watchdog';
import { createLogger, setLogLevel } from './logger';
import { createApp } from './app';

const log = createLogger('main');

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.logLevel);
  const started = Date.now();
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  const server = createServer(app.express);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`Invalid setting PORT=${config.port}: the port is already in use; pick another one`) : err),
    );
    server.listen(config.port, config.host, resolve);
  });
  log.info(`Certificates is ready at ${config.publicUrl} (database: ${db.engine}; ${Date.now() - started} ms)`);
  if (app.sandbox) log.info(`Try it: open ${config.publicUrl}/sandbox and click "launch as" next to a learner or teacher.`);
  log.info(`Administrator page: ${config.publicUrl}/admin`);

  // The driver reconnects after an outage by itself; one that lasts too long ends the process
  // with status 1 so that the orchestrator restarts it (DB_RECONNECT_TIMEOUT_MS).
  const watchdog = watchDatabase({
    connections: () => [db.connection, ltijsConnection()],
    giveUpAfterMs: config.dbReconnectTimeoutMs,
    onGiveUp(downForMs) {
      log.error(`the database has been unreachable for ${downForMs} ms (DB_RECONNECT_TIMEOUT_MS=${config.dbReconnectTimeoutMs}); exiting so that the process is restarted`);
      process.exit(1);
    },
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    watchdog.stop();
    log.info(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log.warn('in-flight requests did not finish in time; closing anyway');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    // Background jobs stop at once (running ones are handed back to the queue) while in-flight
    // requests finish; the browser and ltijs close only after both.
    await Promise.all([
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
      app.stopJobs().catch((err) => log.error('stopping the job queue', err)),
    ]);
    await app.close().catch((err) => log.error('stopping the app', err));
    await db.close().catch((err) => log.error('closing the database', err));
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`Cannot start: ${err.message}\n`);
  } else {
    process.stderr.write(`Cannot start: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});

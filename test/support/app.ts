/**
 * The tool, running for real on 127.0.0.1 with its sandbox LMS, for end-to-end tests.
 * ltijs is a process-wide singleton, so one app serves the whole mocha run; test files stay
 * independent by creating their own sandbox courses (never relying on another file's data).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import { createApp, type App } from '../../src/app';
import type { Database } from '../../src/db/connect';
import { setLogLevel } from '../../src/logger';
import { connectTestDatabase } from './db';
import { startCaptureServer, type CaptureServer } from '../../src/mail/capture-server';

export interface TestApp {
  baseUrl: string;
  config: Config;
  app: App;
  db: Database;
  sandbox: NonNullable<App['sandbox']>;
  /** The tests' own SMTP server: the app's SMTP_URL points at it (test/mail/). */
  smtp: CaptureServer;
}

let running: Promise<TestApp> | undefined;
let server: Server | undefined;

/** Starts the shared test app once; later calls return the same one. */
export function startTestApp(): Promise<TestApp> {
  running ??= (async () => {
    setLogLevel('error');
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    server = srv;
    const port = (srv.address() as AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'lticert-test-'));
    const smtp = await startCaptureServer();
    const platformDir = join(dataDir, 'platform-config');
    mkdirSync(platformDir);
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      PLATFORM_CONFIG_DIR: platformDir,
      LOG_LEVEL: 'error',
      ADMIN_SECRET: 'test-admin-secret-0123456789',
      UNKNOWN_DEPLOYMENT: 'accept',
      PUBLIC_CERTIFICATES: 'true',
      // tests give each client its own X-Forwarded-For, as a reverse proxy on this host would
      TRUST_PROXY: 'loopback',
      // Many spec files register platforms from 127.0.0.1; test/security/ tests the default limit.
      DYNREG_RATE_LIMIT: '1000',
      // test/security/login.spec.ts floods one address past this limit (the default, 1200, is for a campus NAT)
      LOGIN_RATE_LIMIT: '300',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Certificates <certificates@tool.test>',
    });
    // command monitoring on: specs count the commands a launch or a download sends (db-commands.ts)
    const db = await connectTestDatabase({ monitorCommands: true });
    const app = await createApp({ config, db });
    srv.on('request', app.express);
    return { baseUrl: config.publicUrl, config, app, db, sandbox: app.sandbox!, smtp };
  })();
  return running;
}

/** Stops the shared app (root afterAll hook). */
export async function stopTestApp(): Promise<void> {
  if (!running) return;
  const t = await running.catch(() => undefined);
  running = undefined;
  if (!t) return;
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  await t.app.close().catch(() => undefined);
  await t.smtp.close().catch(() => undefined);
  await t.db.close().catch(() => undefined);
}

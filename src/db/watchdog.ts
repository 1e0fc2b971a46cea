/**
 * Gives up on a database that does not come back. The driver reconnects by itself after an
 * outage (see connect.ts); if a connection stays down longer than `giveUpAfterMs`, something is
 * wrong that waiting will not fix (a moved server, a changed password, a wedged process), so the
 * process should exit non-zero and let its orchestrator (systemd, Docker, Kubernetes) restart it.
 * Until then /readyz answers 503 and requests fail fast with 503.
 */
import type { Connection } from 'mongoose';
import { createLogger, type Logger } from '../logger';

export interface DatabaseWatchdogOptions {
  /** The connections that must be up (the tool's and ltijs's). Read at each check. */
  connections: () => Connection[];
  /** How long every connection may be down before `onGiveUp`; 0 disables the watchdog. */
  giveUpAfterMs: number;
  /** How often to look (default 1 s). */
  checkEveryMs?: number;
  onGiveUp(downForMs: number): void;
  logger?: Logger;
  now?: () => number;
}

export interface DatabaseWatchdog {
  stop(): void;
}

/** mongoose readyState 1 = connected. */
const CONNECTED = 1;

export function watchDatabase(opts: DatabaseWatchdogOptions): DatabaseWatchdog {
  const log = opts.logger ?? createLogger('db');
  const now = opts.now ?? Date.now;
  if (opts.giveUpAfterMs <= 0) return { stop() {} };
  let downSince: number | undefined;
  let gaveUp = false;
  const timer = setInterval(() => {
    const up = opts.connections().every((c) => c.readyState === CONNECTED);
    if (up) {
      if (downSince !== undefined) log.info(`database reachable again after ${now() - downSince} ms`);
      downSince = undefined;
      return;
    }
    if (downSince === undefined) {
      downSince = now();
      log.warn(`database unreachable; waiting up to ${opts.giveUpAfterMs} ms for it to come back (DB_RECONNECT_TIMEOUT_MS)`);
      return;
    }
    const down = now() - downSince;
    if (down >= opts.giveUpAfterMs && !gaveUp) {
      gaveUp = true;
      clearInterval(timer);
      opts.onGiveUp(down);
    }
  }, opts.checkEveryMs ?? 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

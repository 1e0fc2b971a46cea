/**
 * The HTTP layer of the Moodle client. Moodle's REST calls are slow on big courses (the user
 * report is built learner by learner: grade/report/user/classes/external/user.php), and Moodle
 * itself allows a web-service call at least 300 s (external_api::set_timeout), so the per-request
 * timeout is longer than for AGS.
 */
import type { Logger } from '../../logger';
import type { MoodleHttp } from './moodle-ws.client';

export interface MoodleHttpOptions {
  fetch?: typeof fetch;
  /** Per request (default 300 s, Moodle's own limit for a web-service call). */
  timeoutMs?: number;
  /** Retries after a network error or a 5xx (default 2). */
  maxRetries?: number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

export const MOODLE_TIMEOUT_MS = 300_000;

export function createMoodleHttp(opts: MoodleHttpOptions = {}): MoodleHttp {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? MOODLE_TIMEOUT_MS;
  const maxRetries = opts.maxRetries ?? 2;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async send(req) {
      for (let attempt = 0; ; attempt++) {
        const signals = [AbortSignal.timeout(timeoutMs), ...(req.signal ? [req.signal] : [])];
        try {
          const res = await doFetch(req.url, { method: req.method ?? 'GET', headers: req.headers, body: req.body, signal: AbortSignal.any(signals), redirect: 'manual' });
          const text = await res.text();
          if (res.status >= 500 && req.idempotent && attempt < maxRetries) {
            opts.logger?.warn(`moodle: ${res.status}, retrying`);
            await sleep(500 * 2 ** attempt);
            continue;
          }
          return { status: res.status, ok: res.ok, text, url: req.url };
        } catch (err) {
          if (req.signal?.aborted || !req.idempotent || attempt >= maxRetries) throw err;
          await sleep(500 * 2 ** attempt);
        }
      }
    },
  };
}

/**
 * The one HTTP retry policy for every platform client (AGS/NRPS today, Moodle web services and
 * the others next): what is retried, how long to wait, and what a final failure becomes.
 *
 * - network errors, timeouts, 5xx and 408: bounded retries with exponential backoff and "equal
 *   jitter" (never zero, never above the cap) — only for idempotent requests;
 * - 429 and Canvas's `403 Forbidden (Rate Limit Exceeded)` (doc/api/throttling.md): wait
 *   `Retry-After` when given, else back off; more attempts, since throttling lasts longer;
 * - 401 with an `authorize` callback: one fresh credential, one retry (tokens expire mid-sync);
 * - anything else is returned to the caller, which knows what the status means for its service.
 *
 * Transport failures that survive the retries are thrown as typed errors (platform-errors.ts).
 */
import type { Logger } from '../logger';
import { PlatformRateLimitError, PlatformTimeoutError, PlatformUnreachableError } from './platform-errors';

export interface RetryPolicyOptions {
  fetch?: typeof fetch;
  /** Waits between retries; tests inject an instant one. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); drives the jitter. */
  random?: () => number;
  /** Wall clock in ms, for `Retry-After` dates. */
  nowMs?: () => number;
  /** Retries after 5xx, 408, network errors and timeouts (default 4). */
  maxRetries?: number;
  /** Retries after a rate limit answer (Canvas 403, 429), which may last longer (default 10). */
  maxRateLimitRetries?: number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** First backoff step (default 500 ms), doubled each retry, capped at `maxDelayMs` (default 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Canvas refuses requests without one. */
  userAgent?: string;
  logger?: Logger;
}

export interface PlatformRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /**
   * Headers that carry the credential, asked before every attempt; `refresh` is true once, after a
   * 401, to get a new credential. Without it a 401 is returned to the caller.
   */
  authorize?: (refresh: boolean) => Promise<Record<string, string>>;
  /** Whether a 5xx/timeout may be retried (default: true for GET/PUT/DELETE, false for POST). */
  idempotent?: boolean;
  /** `manual`: a 3xx is returned to the caller, which checks the target before following it (SSRF guard). */
  redirect?: RequestRedirect;
}

export interface PlatformResponse {
  url: string;
  status: number;
  ok: boolean;
  headers: Headers;
  text: string;
  /** Attempts made, this one included. */
  attempts: number;
}

export interface PlatformHttp {
  /** Sends with the policy; returns the final answer (ok or not), throws transport failures. */
  send(req: PlatformRequest): Promise<PlatformResponse>;
}

const MAX_RETRY_AFTER_MS = 120_000;

/** Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** Canvas throttling answers 403 "Forbidden (Rate Limit Exceeded)" instead of 429. */
export function isRateLimited(status: number, headers: Headers, body: string): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return /rate limit exceeded/i.test(body) || headers.get('x-rate-limit-remaining')?.trim() === '0';
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createPlatformHttp(opts: RetryPolicyOptions = {}): PlatformHttp {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const nowMs = opts.nowMs ?? Date.now;
  const maxRetries = opts.maxRetries ?? 4;
  const maxRateLimitRetries = opts.maxRateLimitRetries ?? 10;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const userAgent = opts.userAgent ?? 'lti-certificates/0.1';
  const log = opts.logger;

  function backoff(attempt: number): number {
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return Math.round(cap / 2 + random() * (cap / 2));
  }

  return {
    async send(req) {
      const method = req.method ?? 'GET';
      const idempotent = req.idempotent ?? method !== 'POST';
      const retries = idempotent ? maxRetries : 0;
      let transientAttempts = 0;
      let rateLimitAttempts = 0;
      let refreshed = false;
      let attempts = 0;
      for (;;) {
        req.signal?.throwIfAborted();
        attempts++;
        const auth = req.authorize ? await req.authorize(refreshed) : {};
        const timeout = AbortSignal.timeout(timeoutMs);
        let res: Response;
        let text: string;
        try {
          res = await doFetch(req.url, {
            method,
            headers: { 'User-Agent': userAgent, ...req.headers, ...auth },
            body: req.body,
            ...(req.redirect ? { redirect: req.redirect } : {}),
            signal: req.signal ? AbortSignal.any([req.signal, timeout]) : timeout,
          });
          text = await res.text();
        } catch (err) {
          if (req.signal?.aborted) throw req.signal.reason;
          const timedOut = timeout.aborted;
          if (transientAttempts < retries) {
            const delay = backoff(transientAttempts++);
            log?.warn(`${timedOut ? 'timeout' : 'network error'} on ${method} ${req.url}, retry ${transientAttempts} in ${delay} ms`);
            await sleep(delay);
            continue;
          }
          log?.warn(`${method} ${req.url} failed for good after ${attempts} attempt(s): ${timedOut ? 'timeout' : (err as Error).message}`);
          if (timedOut) {
            throw new PlatformTimeoutError(
              `The platform did not answer within ${Math.round(timeoutMs / 1000)} s (${attempts} attempt${attempts === 1 ? '' : 's'}) at ${req.url}. It may be overloaded or down: try again later, and ask the LMS administrator if it keeps happening.`,
              req.url,
              { attempts },
              { key: 'grades.syncError.timeout', params: { seconds: Math.round(timeoutMs / 1000), attempts, url: req.url } },
            );
          }
          throw new PlatformUnreachableError(
            `The platform could not be reached at ${req.url} (${(err as Error).message}). Check that the LMS is up and that the tool's server can reach it.`,
            req.url,
            { attempts },
            { key: 'grades.syncError.unreachable', params: { url: req.url, reason: (err as Error).message } },
          );
        }

        if (res.status === 401 && req.authorize && !refreshed) {
          refreshed = true;
          log?.info(`401 on ${req.url}: fetching a new credential`);
          continue;
        }
        if (isRateLimited(res.status, res.headers, text)) {
          if (rateLimitAttempts < maxRateLimitRetries) {
            const delay = parseRetryAfter(res.headers.get('retry-after'), nowMs()) ?? backoff(rateLimitAttempts);
            rateLimitAttempts++;
            log?.warn(`rate limited (${res.status}) on ${req.url}, retry ${rateLimitAttempts} in ${delay} ms`);
            await sleep(delay);
            continue;
          }
          log?.warn(`${method} ${req.url}: still rate limited after ${attempts} attempts`);
          throw new PlatformRateLimitError(
            `The platform kept refusing requests for exceeding its rate limit at ${req.url}; try again later.`,
            req.url,
            { status: res.status, attempts },
            { key: 'grades.syncError.rateLimited', params: { url: req.url } },
          );
        }
        if ((res.status >= 500 || res.status === 408) && transientAttempts < retries) {
          const delay = backoff(transientAttempts++);
          log?.warn(`${res.status} on ${method} ${req.url}, retry ${transientAttempts} in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        if (!res.ok) log?.warn(`${method} ${req.url}: final answer ${res.status} after ${attempts} attempt(s)`);
        return { url: req.url, status: res.status, ok: res.ok, headers: res.headers, text, attempts };
      }
    },
  };
}

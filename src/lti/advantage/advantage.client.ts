/**
 * An HTTP client for the two LTI Advantage services the grade import reads: AGS (line items and
 * results) and NRPS (the roster). It does not know ltijs: it receives a `TokenProvider`, so that
 * tests and the sandbox can hand it tokens of their own.
 *
 * What it copes with (see research/platforms.md):
 * - every page, following `rel="next"`, including Moodle's `rel=“next”` with typographic quotes;
 * - no `limit` on AGS calls (Moodle pages wrongly with it), `limit=50` on NRPS (Canvas's cap);
 * - Canvas's `403 Forbidden (Rate Limit Exceeded)` and 429: back off (Retry-After when given);
 * - 5xx, network errors and timeouts: bounded retries with exponential backoff and jitter;
 * - 401: one fresh token, one retry; a refused scope: a PlatformError naming the service;
 * - each item validated on its own: malformed ones are returned as item errors, never as data.
 */
import { AppError, PlatformError } from '../../errors';
import type { Logger } from '../../logger';
import { parseLinkHeader } from './link-header';
import { describeMissingScope, SCOPES } from './scopes';
import {
  LineItemSchema,
  MemberSchema,
  ResultSchema,
  toLineItem,
  toMember,
  toResult,
  type AdvantageItemError,
  type AgsLineItem,
  type AgsResult,
  type NrpsMember,
} from './advantage.schemas';
import type { z } from 'zod';

/**
 * Returns a Bearer access token for the course's platform, for the given scopes.
 * `refresh: true` asks for a new token (the cached one was refused with 401).
 * When the platform refuses a scope, throw a PlatformError (or any AppError) whose
 * `details.oauthError` is the OAuth error code (`invalid_scope` is read as "scope not granted").
 */
export type TokenProvider = (scopes: string[], opts?: { refresh?: boolean }) => Promise<string>;

export interface AdvantageClientOptions {
  getToken: TokenProvider;
  fetch?: typeof fetch;
  /** Waits between retries; tests inject an instant one. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); drives the jitter. */
  random?: () => number;
  /** Retries after 5xx, network errors and timeouts (default 4). */
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
  /**
   * `limit` sent on AGS line item and result requests. Default: none, because Moodle pages (with
   * typographic quotes) only when asked; Canvas pages by 10 unless asked, so 50 (its maximum)
   * saves four requests in five there.
   */
  agsPageSize?: number;
  logger?: Logger;
}

/** A complete listing: the valid items, with the malformed ones reported beside them. */
export type Listing<T> = T[] & { itemErrors: AdvantageItemError[] };

/** Called after each page with its valid items and its malformed ones. */
export type OnPage<T> = (items: T[], itemErrors: AdvantageItemError[]) => Promise<void> | void;

export interface ListOptions<T> {
  onPage?: OnPage<T>;
  /** Stops the listing between pages and aborts the request in flight. */
  signal?: AbortSignal;
}

export interface AdvantageClient {
  /** All line items of the container, every page. */
  listLineItems(lineItemsUrl: string, onPage?: OnPage<AgsLineItem>, opts?: { signal?: AbortSignal }): Promise<Listing<AgsLineItem>>;
  /** All results of one line item, every page; `userId` narrows to one learner (AGS `user_id`). */
  listResults(lineItemUrl: string, opts?: ListOptions<AgsResult> & { userId?: string }): Promise<Listing<AgsResult>>;
  /** The whole roster, every page (50 per page). */
  listMembers(membershipsUrl: string, opts?: ListOptions<NrpsMember>): Promise<Listing<NrpsMember>>;
}

export const MEDIA_TYPES = {
  lineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  resultContainer: 'application/vnd.ims.lis.v2.resultcontainer+json',
  membershipContainer: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json',
} as const;

/** Canvas caps NRPS pages at 50 (MAX_PAGE_SIZE); asking for more only looks like a bug. */
const NRPS_PAGE_SIZE = 50;
const MAX_PAGES = 100_000;
const MAX_RETRY_AFTER_MS = 120_000;
const OAUTH_SCOPE_ERRORS = new Set(['invalid_scope', 'unauthorized_scope', 'insufficient_scope']);

/** The results endpoint of a line item: `/results` appended to the path, query string kept. */
export function resultsUrlOf(lineItemUrl: string, userId?: string): string {
  const url = new URL(lineItemUrl);
  url.pathname = url.pathname.replace(/\/+$/, '') + '/results';
  if (userId !== undefined) url.searchParams.set('user_id', userId);
  return url.toString();
}

/** `url` with `limit=n` unless it already has a limit (or n is undefined). */
function withLimit(url: string, n: number | undefined): string {
  if (n === undefined) return url;
  const u = new URL(url);
  if (!u.searchParams.has('limit')) u.searchParams.set('limit', String(n));
  return u.toString();
}

/** The memberships URL with `limit=50` unless the platform already put a limit in it. */
export function membershipsPageUrl(membershipsUrl: string): string {
  const url = new URL(membershipsUrl);
  if (!url.searchParams.has('limit')) url.searchParams.set('limit', String(NRPS_PAGE_SIZE));
  return url.toString();
}

/** Whether a token provider's error means "this scope is not granted". */
export function isScopeRefusal(err: unknown): boolean {
  if (!(err instanceof AppError)) return false;
  const code = err.details?.oauthError;
  return typeof code === 'string' && OAUTH_SCOPE_ERRORS.has(code);
}

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
function isRateLimited(status: number, headers: Headers, body: string): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return /rate limit exceeded/i.test(body) || headers.get('x-rate-limit-remaining')?.trim() === '0';
}

function truncate(value: unknown): unknown {
  const json = JSON.stringify(value);
  if (json === undefined || json.length <= 2000) return value;
  return json.slice(0, 2000) + '…';
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates a client; one per sync run is the intended use (it caches tokens per scope set). */
export function createAdvantageClient(opts: AdvantageClientOptions): AdvantageClient {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const maxRetries = opts.maxRetries ?? 4;
  const maxRateLimitRetries = opts.maxRateLimitRetries ?? 10;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const userAgent = opts.userAgent ?? 'lti-certificates/0.1 (grade sync)';
  const log = opts.logger;
  const tokens = new Map<string, Promise<string>>();

  /** Exponential backoff with "equal jitter": never zero, never more than the cap. */
  function backoff(attempt: number): number {
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    return Math.round(cap / 2 + random() * (cap / 2));
  }

  async function token(scopes: string[], refresh: boolean): Promise<string> {
    const key = scopes.join(' ');
    if (refresh) tokens.delete(key);
    let pending = tokens.get(key);
    if (!pending) {
      pending = opts.getToken(scopes, refresh ? { refresh: true } : undefined);
      tokens.set(key, pending);
      // A failed request must not poison the cache for the next call.
      pending.catch(() => tokens.delete(key));
    }
    try {
      return await pending;
    } catch (err) {
      if (isScopeRefusal(err)) {
        throw new PlatformError(describeMissingScope(scopes[0]!), { scope: scopes[0], reason: 'scope_not_granted' });
      }
      throw err;
    }
  }

  /** Fetches one page, with the retry policy; returns the parsed JSON and the Link header. */
  async function getPage(url: string, accept: string, scopes: string[], signal?: AbortSignal): Promise<{ body: unknown; link: string | null }> {
    let transientAttempts = 0;
    let rateLimitAttempts = 0;
    let refreshed = false;
    for (;;) {
      signal?.throwIfAborted();
      const bearer = await token(scopes, refreshed);
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      let text: string;
      try {
        res = await doFetch(url, {
          headers: { Authorization: `Bearer ${bearer}`, Accept: accept, 'User-Agent': userAgent },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        text = await res.text();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const timedOut = timeout.aborted;
        if (transientAttempts < maxRetries) {
          const delay = backoff(transientAttempts++);
          log?.warn(`${timedOut ? 'timeout' : 'network error'} on ${url}, retry ${transientAttempts} in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        throw new PlatformError(
          timedOut
            ? `The platform did not answer within ${Math.round(timeoutMs / 1000)} s (${maxRetries + 1} attempts) at ${url}.`
            : `The platform could not be reached at ${url} (${(err as Error).message}).`,
          { url, reason: timedOut ? 'timeout' : 'unreachable' },
        );
      }

      if (res.ok) {
        try {
          return { body: JSON.parse(text), link: res.headers.get('link') };
        } catch {
          throw new PlatformError(`The platform answered ${url} with something that is not JSON (starting "${text.slice(0, 60)}").`, {
            url,
            reason: 'not_json',
          });
        }
      }
      if (res.status === 401 && !refreshed) {
        // Tokens expire mid-sync (Canvas: 1 h); one fresh token, one retry.
        refreshed = true;
        log?.info(`401 on ${url}: fetching a new token`);
        continue;
      }
      if (isRateLimited(res.status, res.headers, text)) {
        if (rateLimitAttempts < maxRateLimitRetries) {
          const delay = parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? backoff(rateLimitAttempts);
          rateLimitAttempts++;
          log?.warn(`rate limited (${res.status}) on ${url}, retry ${rateLimitAttempts} in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        throw new PlatformError(`The platform kept refusing requests for exceeding its rate limit at ${url}; try again later.`, {
          url,
          status: res.status,
          reason: 'rate_limited',
        });
      }
      if ((res.status >= 500 || res.status === 408) && transientAttempts < maxRetries) {
        const delay = backoff(transientAttempts++);
        log?.warn(`${res.status} on ${url}, retry ${transientAttempts} in ${delay} ms`);
        await sleep(delay);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        throw new PlatformError(describeMissingScope(scopes[0]!), { url, status: res.status, scope: scopes[0], reason: 'scope_not_granted' });
      }
      throw new PlatformError(`The platform answered ${res.status} for ${url}.`, { url, status: res.status, reason: 'http_error' });
    }
  }

  async function listAll<Raw, T>(
    startUrl: string,
    accept: string,
    scopes: string[],
    extract: (body: unknown) => unknown,
    schema: z.ZodType<Raw>,
    map: (raw: Raw) => T,
    kind: AdvantageItemError['kind'],
    onPage?: OnPage<T>,
    signal?: AbortSignal,
  ): Promise<Listing<T>> {
    const all = [] as unknown as Listing<T>;
    all.itemErrors = [];
    const seen = new Set<string>();
    let url: string | undefined = startUrl;
    while (url) {
      if (seen.has(url) || seen.size >= MAX_PAGES) {
        log?.warn(`paging stopped: ${url} was already fetched`);
        break;
      }
      seen.add(url);
      const { body, link } = await getPage(url, accept, scopes, signal);
      const raw = extract(body);
      if (!Array.isArray(raw)) {
        throw new PlatformError(`The platform answered ${url} with JSON that is not a ${accept} container.`, { url, reason: 'not_a_container' });
      }
      const items: T[] = [];
      const errors: AdvantageItemError[] = [];
      for (const entry of raw) {
        const parsed = schema.safeParse(entry);
        if (parsed.success) items.push(map(parsed.data));
        else errors.push({ kind, message: describeIssues(parsed.error), item: truncate(entry), url });
      }
      if (onPage) await onPage(items, errors);
      for (const item of items) all.push(item);
      all.itemErrors.push(...errors);
      url = parseLinkHeader(link, url).get('next');
    }
    return all;
  }

  return {
    async listLineItems(lineItemsUrl, onPage, o) {
      const run = (scopes: string[]) =>
        listAll(withLimit(lineItemsUrl, opts.agsPageSize), MEDIA_TYPES.lineItemContainer, scopes, (b) => b, LineItemSchema, toLineItem, 'invalid_line_item', onPage, o?.signal);
      try {
        return await run([SCOPES.lineItemReadonly]);
      } catch (err) {
        // Some platforms grant only the full `lineitem` scope (ltijs #268): try it before giving up.
        if (err instanceof PlatformError && err.details?.reason === 'scope_not_granted') {
          try {
            return await run([SCOPES.lineItem]);
          } catch (second) {
            if (second instanceof PlatformError && second.details?.reason === 'scope_not_granted') throw err;
            throw second;
          }
        }
        throw err;
      }
    },
    listResults(lineItemUrl, o) {
      return listAll(
        withLimit(resultsUrlOf(lineItemUrl, o?.userId), opts.agsPageSize),
        MEDIA_TYPES.resultContainer,
        [SCOPES.resultReadonly],
        (b) => b,
        ResultSchema,
        toResult,
        'invalid_result',
        o?.onPage,
        o?.signal,
      );
    },
    listMembers(membershipsUrl, o) {
      return listAll(
        membershipsPageUrl(membershipsUrl),
        MEDIA_TYPES.membershipContainer,
        [SCOPES.membershipReadonly],
        (b) => (b && typeof b === 'object' ? (b as { members?: unknown }).members : undefined),
        MemberSchema,
        toMember,
        'invalid_member',
        o?.onPage,
        o?.signal,
      );
    },
  };
}

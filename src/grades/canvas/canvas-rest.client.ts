/**
 * The Canvas REST API as the tool reads it: GET only, with the teacher's OAuth2 token.
 *
 * - Paging (doc/api/pagination.md, lib/api.rb `paginate`): `per_page` up to 100 (Canvas's maximum:
 *   `Api::MAX_PER_PAGE`), then the `Link` header's `rel="next"` until there is none. A next link that
 *   was already read, or more than `maxPages` pages, is a paging loop: an error, never an endless sync.
 * - Throttling (doc/api/throttling.md, app/middleware/request_throttle.rb): each token has a leaky
 *   bucket (high-water mark 600, leaking 10 per second, 50 reserved up front per request in flight).
 *   Every answer says `X-Rate-Limit-Remaining`; when it drops below `lowWater` the client waits for
 *   the bucket to drain back before the next request, so Canvas rarely has to say
 *   `403 Forbidden (Rate Limit Exceeded)` — and when it does, the shared retry policy waits and retries.
 *   Requests go one at a time (Canvas: "any API client that makes no more than one simultaneous
 *   request is unlikely to be throttled").
 * - 401 "Invalid access token.": one refresh of the token and one retry; still 401 → the grant is
 *   revoked. 401 "Insufficient scopes on access token." → the scope is missing from the key.
 * - An answer that is not JSON (a login page, a proxy's error page) is a bad response.
 */
import type { PlatformHttp, PlatformResponse } from '../../http/retry-policy';
import { PlatformBadResponseError, PlatformHttpError } from '../../http/platform-errors';
import { inEnglish } from '../../i18n/english';
import type { MessageRef } from '../../errors';
import { CanvasGrantRevokedError, CanvasNotAllowedError, CanvasPagingLoopError, CanvasScopeMissingError } from './canvas-errors';

export const CANVAS_PER_PAGE = 100;

export interface CanvasTokenSource {
  /** The current access token; `refresh` true after Canvas said it is invalid. */
  accessToken(refresh: boolean): Promise<string>;
}

export interface CanvasPacing {
  /** Wait when `X-Rate-Limit-Remaining` falls below this (default 150: three requests' up-front cost). */
  lowWater?: number;
  /** How fast the bucket drains, per second (Canvas default `request_throttle.outflow` = 10). */
  outflowPerSecond?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface CanvasRestOptions {
  /** Canvas's address, e.g. https://school.instructure.com (no /api/v1). */
  baseUrl: string;
  http: PlatformHttp;
  tokens: CanvasTokenSource;
  pacing?: CanvasPacing;
  /** Longest listing followed (default 10,000 pages: 1,000,000 records). */
  maxPages?: number;
  /** Called once per HTTP request (tests, benchmark). */
  onCall?: (url: string, res: { status: number; remaining: number | null; cost: number | null }) => void;
  /** SSRF guard for every URL (Link headers included). */
  checkUrl?: (url: string) => Promise<void>;
}

export type Query = Record<string, string | number | boolean | readonly (string | number)[] | undefined>;

/** The scope of a Canvas API path, as its developer key lists it (`url:GET|/api/v1/courses/:course_id/...`). */
export type ScopeOf = string;

export interface CanvasRestClient {
  get<T>(path: string, query: Query, scope: ScopeOf, opts?: { signal?: AbortSignal }): Promise<T>;
  /** Every page of a listing. */
  list<T>(path: string, query: Query, scope: ScopeOf, opts?: { signal?: AbortSignal; onPage?: (items: T[]) => Promise<void> | void }): Promise<T[]>;
  /** Requests made so far. */
  readonly calls: number;
}

/** Builds a query string the way Canvas reads arrays: `student_ids[]=all&per_page=100`. */
export function canvasQuery(query: Query): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) parts.push(`${encodeURIComponent(name)}[]=${encodeURIComponent(String(v))}`);
    else parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.join('&');
}

/** The `rel="next"` target of a Link header (RFC 8288), or undefined. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

function errorMessages(text: string): string[] {
  try {
    const body = JSON.parse(text) as { errors?: { message?: string }[] | Record<string, unknown>; message?: string };
    if (Array.isArray(body.errors)) return body.errors.map((e) => String(e?.message ?? '')).filter(Boolean);
    if (typeof body.message === 'string') return [body.message];
  } catch {
    /* not JSON */
  }
  return [];
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createCanvasRestClient(opts: CanvasRestOptions): CanvasRestClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const lowWater = opts.pacing?.lowWater ?? 150;
  const outflow = opts.pacing?.outflowPerSecond ?? 10;
  const sleep = opts.pacing?.sleep ?? defaultSleep;
  const maxPages = opts.maxPages ?? 10_000;
  let calls = 0;
  /** Waits this long before the next request (the bucket is nearly full). */
  let waitMs = 0;

  async function send(url: string, scope: string, signal?: AbortSignal): Promise<PlatformResponse> {
    await opts.checkUrl?.(url);
    let refreshed = false;
    for (;;) {
      if (waitMs > 0) {
        const ms = waitMs;
        waitMs = 0;
        await sleep(ms);
      }
      const token = await opts.tokens.accessToken(refreshed);
      const res = await opts.http.send({ url, method: 'GET', headers: { Accept: 'application/json', Authorization: `Bearer ${token}` }, signal, redirect: 'manual' });
      calls++;
      const remaining = Number.parseFloat(res.headers.get('x-rate-limit-remaining') ?? '');
      const cost = Number.parseFloat(res.headers.get('x-request-cost') ?? '');
      opts.onCall?.(url, { status: res.status, remaining: Number.isFinite(remaining) ? remaining : null, cost: Number.isFinite(cost) ? cost : null });
      // Slow down before the bucket is empty: wait for it to drain back to the low-water mark.
      if (Number.isFinite(remaining) && remaining < lowWater) waitMs = Math.min(30_000, Math.ceil(((lowWater - remaining) / outflow) * 1000));
      if (res.status === 401) {
        const messages = errorMessages(res.text);
        if (messages.some((m) => /insufficient scopes/i.test(m))) throw new CanvasScopeMissingError(scope);
        if (messages.some((m) => /not authorized/i.test(m))) throw new CanvasNotAllowedError(scope.replace(/^url:GET\|/, 'GET '));
        if (!refreshed) {
          refreshed = true;
          continue;
        }
        throw new CanvasGrantRevokedError(messages[0] ?? 'the access token is refused');
      }
      if (res.status === 403) throw new CanvasNotAllowedError(scope.replace(/^url:GET\|/, 'GET '));
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        const ref = { key: 'grades.syncError.canvas.redirect', params: { url, status: res.status, ...(location ? { location } : {}) } };
        throw new PlatformBadResponseError(inEnglish(ref), url, undefined, ref);
      }
      if (!res.ok) {
        const ref = { key: 'grades.syncError.canvas.httpError', params: { url, status: res.status } };
        throw new PlatformHttpError(inEnglish(ref), url, res.status, undefined, ref);
      }
      return res;
    }
  }

  function parse<T>(res: PlatformResponse): T {
    try {
      // Canvas can prefix JSON with `while(1);` against JSON hijacking (non-API requests).
      return JSON.parse(res.text.replace(/^while\(1\);/, '')) as T;
    } catch {
      const type = res.headers.get('content-type');
      const ref: MessageRef = { key: 'grades.syncError.canvas.notJson', params: { url: res.url, ...(type ? { type } : {}), start: res.text.slice(0, 60).replace(/\s+/g, ' ') } };
      throw new PlatformBadResponseError(inEnglish(ref), res.url, undefined, ref);
    }
  }

  const urlOf = (path: string, query: Query) => {
    const q = canvasQuery(query);
    return `${base}${path}${q ? `?${q}` : ''}`;
  };

  return {
    get calls() {
      return calls;
    },
    async get<T>(path: string, query: Query, scope: string, o: { signal?: AbortSignal } = {}): Promise<T> {
      return parse<T>(await send(urlOf(path, query), scope, o.signal));
    },
    async list<T>(path: string, query: Query, scope: string, o: { signal?: AbortSignal; onPage?: (items: T[]) => Promise<void> | void } = {}): Promise<T[]> {
      const out: T[] = [];
      const seen = new Set<string>();
      let url: string | undefined = urlOf(path, { ...query, per_page: CANVAS_PER_PAGE });
      let pages = 0;
      while (url) {
        if (seen.has(url) || pages >= maxPages) {
          const ref = { key: 'grades.syncError.canvas.pagingLoop', params: { path, url, why: seen.has(url) ? 'loop' : 'tooMany', maxPages } };
          throw new CanvasPagingLoopError(inEnglish(ref), url, undefined, ref);
        }
        seen.add(url);
        pages++;
        const res = await send(url, scope, o.signal);
        const page = parse<T[]>(res);
        if (!Array.isArray(page)) {
          const ref = { key: 'grades.syncError.canvas.notList', params: { url } };
          throw new PlatformBadResponseError(inEnglish(ref), url, undefined, ref);
        }
        out.push(...page);
        await o.onPage?.(page);
        const next = nextLink(res.headers.get('link'));
        url = next ? new URL(next, url).toString() : undefined;
      }
      return out;
    },
  };
}

/**
 * An HTTP client for the two LTI Advantage services the grade import reads: AGS (line items and
 * results) and NRPS (the roster). It does not know ltijs: it receives a `TokenProvider`, so that
 * tests and the sandbox can hand it tokens of their own.
 *
 * What it copes with (see research/platforms.md):
 * - every page, following `rel="next"`, including Moodle's `rel=“next”` with typographic quotes;
 * - no `limit` on AGS calls (Moodle pages wrongly with it), `limit=50` on NRPS (Canvas's cap);
 * - retries, rate limits (Canvas's 403), timeouts and the one token refresh after a 401: the shared
 *   policy in src/http/retry-policy.ts;
 * - a refused scope: a ScopeNotGrantedError naming the service and what to switch on;
 * - each item validated on its own: malformed ones are returned as item errors, never as data.
 */
import {
  PlatformBadResponseError,
  PlatformHttpError,
  ScopeNotGrantedError,
  TokenRefusedError,
} from '../../http/platform-errors';
import { createPlatformHttp, type PlatformHttp, type RetryPolicyOptions } from '../../http/retry-policy';
import { inEnglish } from '../../i18n/english';
import type { Logger } from '../../logger';
import { parseLinkHeader } from './link-header';
import { platformFetch } from './transport';
import { describeRefusal, refusalRef, serviceOfScope } from './refusals';
import { describeMissingScope, missingScopeRef, SCOPES } from './scopes';
import {
  LineItemSchema,
  MemberSchema,
  readPlainResult,
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
 * When the platform refuses the token, throw a `TokenRefusedError` with the OAuth error code
 * (`invalid_scope` is read as "scope not granted").
 */
export type TokenProvider = (scopes: string[], opts?: { refresh?: boolean }) => Promise<string>;

export interface AdvantageClientOptions extends RetryPolicyOptions {
  getToken: TokenProvider;
  /**
   * Called with every URL (first pages and next pages) before a token is asked for or a request
   * sent: the SSRF guard (url-guard.ts). Throwing refuses the URL; nothing is fetched.
   */
  checkUrl?: (url: string) => Promise<void>;
  /** The shared retry policy; built from the options above when not given. */
  http?: PlatformHttp;
  /**
   * `limit` sent on AGS line item and result requests. Default: none, because Moodle pages (with
   * typographic quotes) only when asked; Canvas pages by 10 unless asked, so 50 (its maximum)
   * saves four requests in five there.
   */
  agsPageSize?: number;
  /** The course's platform family (`moodle`, `canvas`, `chamilo`…), for advice only that LMS needs. */
  platformFamily?: string;
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
  /** Creates a column of the tool's own in the LMS gradebook; returns it with its URL (`id`). */
  createLineItem(lineItemsUrl: string, item: LineItemInput): Promise<AgsLineItem>;
  /** Changes a column the tool owns (label, maximum). */
  updateLineItem(lineItemUrl: string, item: LineItemInput): Promise<AgsLineItem>;
  /** Deletes a column the tool owns. */
  deleteLineItem(lineItemUrl: string): Promise<void>;
  /** Posts a learner's score to a column. */
  submitScore(lineItemUrl: string, score: ScoreInput): Promise<void>;
}

export const MEDIA_TYPES = {
  lineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  resultContainer: 'application/vnd.ims.lis.v2.resultcontainer+json',
  membershipContainer: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json',
  lineItem: 'application/vnd.ims.lis.v2.lineitem+json',
  score: 'application/vnd.ims.lis.v1.score+json',
} as const;

/** A column the tool writes (the `lineitem` scope). */
export interface LineItemInput {
  label: string;
  scoreMaximum: number;
  resourceId?: string;
  tag?: string;
  resourceLinkId?: string;
}

/** A score the tool posts (the `score` scope). Canvas requires scoreMaximum with scoreGiven (422 otherwise). */
export interface ScoreInput {
  userId: string;
  scoreGiven: number;
  scoreMaximum: number;
  timestamp: Date;
  comment?: string;
}

/** Canvas caps NRPS pages at 50 (MAX_PAGE_SIZE); asking for more only looks like a bug. */
const NRPS_PAGE_SIZE = 50;
const MAX_PAGES = 100_000;
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
  return err instanceof TokenRefusedError && err.oauthError !== undefined && OAUTH_SCOPE_ERRORS.has(err.oauthError);
}

/**
 * What an error status of an AGS/NRPS call means, in words that say what to fix. 401/403 (after
 * the one token refresh) is a scope the platform does not grant this tool.
 */
/** What a refused write means: Chamilo's 500 before the gradebook exists, else as for reads. */
function writeRefusalOf(method: string, status: number, url: string, scope: string, body: string, platformFamily?: string): Error {
  if (method === 'POST' && status >= 500 && platformFamily === 'chamilo' && scope === SCOPES.lineItem) {
    // Chamilo 1.11.28 (observed): creating an evaluation needs the course gradebook, which Chamilo
    // creates the first time a teacher opens it; until then the POST dies with 500.
    return new PlatformHttpError(
      'Chamilo refused to create the column (500): it does this until the course gradebook has been opened once. Open the course in Chamilo as a teacher, click Assessments (the gradebook) once, then create the column again.',
      url,
      status,
      { body: body.slice(0, 500) },
    );
  }
  return refusalOf(status, url, scope, body, platformFamily);
}

function refusalOf(status: number, url: string, scope: string, body: string, platformFamily?: string): Error {
  if (status === 401 || status === 403) return new ScopeNotGrantedError(describeMissingScope(scope), url, scope, status, missingScopeRef(scope));
  return new PlatformHttpError(describeRefusal(status, url, serviceOfScope(scope), platformFamily), url, status, { body: body.slice(0, 500) }, refusalRef(status, url, serviceOfScope(scope), platformFamily));
}

function truncate(value: unknown): unknown {
  const json = JSON.stringify(value);
  if (json === undefined || json.length <= 2000) return value;
  return json.slice(0, 2000) + '…';
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

const MAX_REDIRECTS = 3;

/** The platform answered 2xx with something the service does not specify: said in the reader's language (grades.syncError.ags.*). */
function badResponse(url: string, key: string, params: Record<string, string | number>): PlatformBadResponseError {
  const ref = { key, params };
  return new PlatformBadResponseError(inEnglish(ref), url, undefined, ref);
}

/** Creates a client; one per sync run is the intended use (it caches tokens per scope set). */
export function createAdvantageClient(opts: AdvantageClientOptions): AdvantageClient {
  const http = opts.http ?? createPlatformHttp({ ...opts, fetch: opts.fetch ?? platformFetch, userAgent: opts.userAgent ?? 'lti-certificates/0.1 (grade sync)' });
  const log = opts.logger;
  const tokens = new Map<string, Promise<string>>();

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
      if (isScopeRefusal(err)) throw new ScopeNotGrantedError(describeMissingScope(scopes[0]!), undefined, scopes[0]!, undefined, missingScopeRef(scopes[0]!));
      throw err;
    }
  }

  /** Fetches one page with the shared retry policy; returns the parsed JSON and the Link header. */
  async function getPage(url: string, accept: string, scopes: string[], signal?: AbortSignal): Promise<{ body: unknown; link: string | null }> {
    // Redirects are followed here, not by fetch, so that each target passes the URL check
    // before the Bearer token goes there (a platform must not bounce us to 169.254.169.254).
    let current = url;
    for (let hop = 0; ; hop++) {
      await opts.checkUrl?.(current);
      const res = await http.send({
        url: current,
        headers: { Accept: accept },
        signal,
        redirect: 'manual',
        authorize: async (refresh) => ({ Authorization: `Bearer ${await token(scopes, refresh)}` }),
      });
      const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
      if (location) {
        if (hop >= MAX_REDIRECTS) throw badResponse(url, 'grades.syncError.ags.redirectLoop', { url, max: MAX_REDIRECTS });
        current = new URL(location, current).toString();
        continue;
      }
      if (res.ok) {
        try {
          return { body: JSON.parse(res.text), link: res.headers.get('link') };
        } catch {
          throw badResponse(current, 'grades.syncError.ags.notJson', { url: current, start: res.text.slice(0, 60) });
        }
      }
      throw refusalOf(res.status, current, scopes[0]!, res.text, opts.platformFamily);
    }
  }

  /** Sends a write (POST/PUT/DELETE) with the shared policy; POST is not retried after a 5xx. */
  async function write(method: 'POST' | 'PUT' | 'DELETE', url: string, scope: string, contentType: string | undefined, body: unknown, accept?: string): Promise<unknown> {
    await opts.checkUrl?.(url);
    const res = await http.send({
      url,
      method,
      headers: { ...(contentType ? { 'Content-Type': contentType } : {}), ...(accept ? { Accept: accept } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      // A write is never sent on to where a redirect points (the token would go with it).
      redirect: 'manual',
      authorize: async (refresh) => ({ Authorization: `Bearer ${await token([scope], refresh)}` }),
    });
    if (!res.ok) throw writeRefusalOf(method, res.status, url, scope, res.text, opts.platformFamily);
    if (!res.text) return undefined;
    try {
      return JSON.parse(res.text);
    } catch {
      return undefined;
    }
  }

  function parseLineItem(body: unknown, url: string): AgsLineItem {
    const parsed = LineItemSchema.safeParse(body);
    if (!parsed.success) throw badResponse(url, 'grades.syncError.ags.badLineItem', { url, detail: describeIssues(parsed.error) });
    return toLineItem(parsed.data);
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
    /** `map(schema.parse(entry))` for the common shape without the schema, else undefined. */
    plain?: (entry: unknown) => T | undefined,
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
        throw badResponse(url, 'grades.syncError.ags.notContainer', { url, accept });
      }
      const items: T[] = [];
      const errors: AdvantageItemError[] = [];
      for (const entry of raw) {
        const quick = plain?.(entry);
        if (quick !== undefined) {
          items.push(quick);
          continue;
        }
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
        if (err instanceof ScopeNotGrantedError) {
          try {
            return await run([SCOPES.lineItem]);
          } catch (second) {
            if (second instanceof ScopeNotGrantedError) throw err;
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
        readPlainResult,
      );
    },
    async createLineItem(lineItemsUrl, item) {
      const body = await write('POST', lineItemsUrl, SCOPES.lineItem, MEDIA_TYPES.lineItem, item, MEDIA_TYPES.lineItem);
      return parseLineItem(body, lineItemsUrl);
    },
    async updateLineItem(lineItemUrl, item) {
      const body = await write('PUT', lineItemUrl, SCOPES.lineItem, MEDIA_TYPES.lineItem, item, MEDIA_TYPES.lineItem);
      return body === undefined ? { id: lineItemUrl, ...item } : parseLineItem(body, lineItemUrl);
    },
    async deleteLineItem(lineItemUrl) {
      await write('DELETE', lineItemUrl, SCOPES.lineItem, undefined, undefined);
    },
    async submitScore(lineItemUrl, score) {
      const url = new URL(lineItemUrl);
      url.pathname = url.pathname.replace(/\/+$/, '') + '/scores';
      // Chamilo answers 415 unless Accept is exactly the score media type.
      await write('POST', url.toString(), SCOPES.score, MEDIA_TYPES.score, {
        userId: score.userId,
        scoreGiven: score.scoreGiven,
        scoreMaximum: score.scoreMaximum,
        activityProgress: 'Completed',
        gradingProgress: 'FullyGraded',
        timestamp: score.timestamp.toISOString(),
        ...(score.comment !== undefined ? { comment: score.comment } : {}),
      }, MEDIA_TYPES.score);
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

export { parseRetryAfter } from '../../http/retry-policy';

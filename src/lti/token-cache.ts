/**
 * Service access tokens (AGS, NRPS), cached in this process per issuer + client id + granted
 * scopes until shortly before they expire. Every instance keeps its own: a platform issues as many
 * client-credentials tokens as asked, so nothing needs sharing between instances, and no token is
 * ever written to the database.
 *
 * One token for both AGS reads: asked for `lineitem.readonly` or `result.readonly`, the cache asks
 * the platform for the two together, and either is then served from that one token. Platforms
 * grant what they can of a request (Moodle mod/lti/token.php keeps the permitted part of the
 * requested scopes) or refuse it whole (Canvas's client-credentials grant answers invalid_scope
 * when one scope is not on the developer key): a refusal, or a token without the scope asked for,
 * falls back to asking for that scope alone, and the pair is not asked for again for that client.
 */
import { TokenRefusedError } from '../http/platform-errors';
import { SCOPE } from './claims';

/** Scopes asked for together (one token serves the page's line item listing and its results). */
export const READ_SCOPES: readonly string[] = [SCOPE.lineItemReadonly, SCOPE.resultReadonly];
/** A token is not used in its last minute (or last tenth of a short life): a request must not outlive it. */
const MARGIN_MS = 60_000;
/** When the platform names no lifetime (expires_in is RECOMMENDED, RFC 6749 §5.1): an hour, as Moodle's and Canvas's. */
const DEFAULT_LIFETIME_S = 3600;

export interface IssuedToken {
  token: string;
  scopes: string[];
  expiresInSeconds?: number;
}

export interface TokenCacheDeps {
  now: () => number;
  fetchToken(issuer: string, clientId: string, scopes: string[]): Promise<IssuedToken>;
}

interface Entry {
  token: string;
  scopes: Set<string>;
  usableUntil: number;
}

export interface TokenCache {
  get(issuer: string, clientId: string, scopes: string[], opts?: { refresh?: boolean }): Promise<{ token: string; scopes: string[] }>;
  /** Tokens held (tests). */
  size(): number;
  clear(): void;
}

export function createTokenCache(deps: TokenCacheDeps): TokenCache {
  const entries = new Map<string, Entry[]>();
  const pending = new Map<string, Promise<Entry>>();
  /** Clients that refused the pair, or granted it without one of its scopes. */
  const noPair = new Set<string>();

  const covering = (list: Entry[] | undefined, scopes: string[], now: number) =>
    list?.find((e) => e.usableUntil > now && scopes.every((s) => e.scopes.has(s)));

  async function fetchEntry(issuer: string, clientId: string, scopes: string[]): Promise<Entry> {
    const key = `${issuer}\n${clientId}\n${[...scopes].sort().join(' ')}`;
    let p = pending.get(key);
    if (!p) {
      p = deps.fetchToken(issuer, clientId, scopes).then((t) => {
        const now = deps.now();
        const lifeMs = (t.expiresInSeconds && t.expiresInSeconds > 0 ? t.expiresInSeconds : DEFAULT_LIFETIME_S) * 1000;
        const entry: Entry = { token: t.token, scopes: new Set(t.scopes), usableUntil: now + lifeMs - Math.min(MARGIN_MS, lifeMs / 10) };
        const client = `${issuer}\n${clientId}`;
        const list = (entries.get(client) ?? []).filter((e) => e.usableUntil > now);
        list.push(entry);
        entries.set(client, list);
        return entry;
      });
      pending.set(key, p);
      void p.then(
        () => pending.delete(key),
        () => pending.delete(key),
      );
    }
    return p;
  }

  return {
    async get(issuer, clientId, scopes, opts) {
      const client = `${issuer}\n${clientId}`;
      if (opts?.refresh) {
        // the platform refused a token for these scopes (401): forget every token that serves them
        const list = entries.get(client)?.filter((e) => !scopes.some((s) => e.scopes.has(s)));
        if (list) entries.set(client, list);
      } else {
        const hit = covering(entries.get(client), scopes, deps.now());
        if (hit) return { token: hit.token, scopes: [...hit.scopes] };
      }
      const pairable = scopes.length === 1 && READ_SCOPES.includes(scopes[0]!) && !noPair.has(client);
      if (pairable) {
        try {
          const pair = await fetchEntry(issuer, clientId, [...READ_SCOPES]);
          // granted in part: the pair is not asked for again, the part granted is still used
          if (!READ_SCOPES.every((s) => pair.scopes.has(s))) noPair.add(client);
          if (scopes.every((s) => pair.scopes.has(s))) return { token: pair.token, scopes: [...pair.scopes] };
        } catch (err) {
          if (!(err instanceof TokenRefusedError)) throw err;
        }
        noPair.add(client);
      }
      const entry = await fetchEntry(issuer, clientId, scopes);
      return { token: entry.token, scopes: [...entry.scopes] };
    },
    size: () => [...entries.values()].reduce((n, l) => n + l.length, 0),
    clear() {
      entries.clear();
      noPair.clear();
    },
  };
}

/**
 * Tool sessions: what a validated launch leaves behind so that the pages that follow know who
 * is asking. The session token travels in the URL path (`/app/<token>/…`), not in a cookie:
 * an LMS shows the tool in a cross-site iframe, where browsers block or partition cookies.
 * Because the token is never sent automatically by the browser, a forged cross-site form cannot
 * carry it — that is our protection against cross-site request forgery; pages send it only to
 * our own origin, and `Referrer-Policy: same-origin` keeps it out of other sites' logs.
 *
 * We store only a SHA-256 hash of the token, with the typed Launch, and let MongoDB expire it.
 */
import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { Schema, type Connection, type Model } from 'mongoose';
import type { Launch } from './launch';

/** How long a launch stays usable without a new launch from the LMS. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

interface SessionDoc {
  _id: string;
  launch: Launch;
  createdAt: Date;
  expiresAt: Date;
}

const schema = new Schema<SessionDoc>(
  {
    _id: { type: String },
    launch: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sessions', versionKey: false },
);
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

function sessionModel(conn: Connection): Model<SessionDoc> {
  return (conn.models.Session as Model<SessionDoc>) ?? conn.model<SessionDoc>('Session', schema);
}

const hash = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Sessions this process resolved or created in the last SESSION_CACHE_MS: a page and the
 * downloads, assets and posts that follow it cost no database read. A session never changes once
 * written, so the only thing a cached copy can miss is its deletion by another instance (privacy
 * erasure), for SESSION_CACHE_MS at most; forgetCachedSessions() clears this process's copies.
 */
export const SESSION_CACHE_MS = 60_000;
const MAX_CACHED = 10_000;
const cache = new Map<string, { conn: Connection; launch: Launch; expiresAt: Date; cachedAt: number }>();

function remember(conn: Connection, id: string, launch: Launch, expiresAt: Date): void {
  if (cache.size >= MAX_CACHED) {
    // the oldest tenth goes (Map keeps insertion order)
    let n = MAX_CACHED / 10;
    for (const key of cache.keys()) {
      cache.delete(key);
      if (--n <= 0) break;
    }
  }
  cache.set(id, { conn, launch, expiresAt, cachedAt: Date.now() });
}

/** Drops this process's cached sessions (all, or those whose launch matches). */
export function forgetCachedSessions(match?: (launch: Launch) => boolean): void {
  for (const [id, entry] of cache) if (!match || match(entry.launch)) cache.delete(id);
}

/** Stores the launch and returns a fresh 256-bit session token. */
export async function createSession(
  conn: Connection,
  launch: Launch,
  deps: { now: () => Date; randomBytes?: (n: number) => Buffer } = { now: () => new Date() },
): Promise<string> {
  const token = (deps.randomBytes ?? nodeRandomBytes)(32).toString('base64url');
  const now = deps.now();
  const id = hash(token);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await sessionModel(conn).create({ _id: id, launch, createdAt: now, expiresAt });
  remember(conn, id, launch, expiresAt);
  return token;
}

/** The launch behind a token, or null when unknown or expired (expiry is checked here too: the TTL sweep is lazy). */
export async function resolveSession(conn: Connection, token: string, now: Date): Promise<Launch | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const id = hash(token);
  const hit = cache.get(id);
  if (hit && hit.conn === conn && Date.now() - hit.cachedAt < SESSION_CACHE_MS) return hit.expiresAt <= now ? null : hit.launch;
  const doc = await sessionModel(conn).findById(id).lean();
  if (!doc || doc.expiresAt <= now) {
    cache.delete(id);
    return null;
  }
  remember(conn, id, doc.launch, doc.expiresAt);
  return doc.launch;
}

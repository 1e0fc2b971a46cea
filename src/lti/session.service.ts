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

/** Stores the launch and returns a fresh 256-bit session token. */
export async function createSession(
  conn: Connection,
  launch: Launch,
  deps: { now: () => Date; randomBytes?: (n: number) => Buffer } = { now: () => new Date() },
): Promise<string> {
  const token = (deps.randomBytes ?? nodeRandomBytes)(32).toString('base64url');
  const now = deps.now();
  await sessionModel(conn).create({ _id: hash(token), launch, createdAt: now, expiresAt: new Date(now.getTime() + SESSION_TTL_MS) });
  return token;
}

/** The launch behind a token, or null when unknown or expired (expiry is checked here too: the TTL sweep is lazy). */
export async function resolveSession(conn: Connection, token: string, now: Date): Promise<Launch | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const doc = await sessionModel(conn).findById(hash(token)).lean();
  if (!doc || doc.expiresAt <= now) return null;
  return doc.launch;
}

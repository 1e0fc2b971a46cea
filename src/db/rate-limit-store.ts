/**
 * express-rate-limit counters in MongoDB, so that every instance behind a load balancer counts
 * the same hits: with one counter per process, three instances would let a client through three
 * times as often, and a client bounced between them would never be locked out.
 *
 * Like express-rate-limit's own MemoryStore, a client's window starts at its first hit: one
 * document `<prefix>|<key>` holds the hits and the window's end, and one atomic pipeline upsert
 * counts a hit or, when the window has ended, starts a new one at 1 — one database command per
 * counted request, on every engine. A TTL index removes a document once its window has ended
 * (collection `ratelimits`).
 */
import type { Connection } from 'mongoose';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { createLogger } from '../logger';

const log = createLogger('db:rate-limit');

const COLLECTION = 'ratelimits';

interface CounterDoc {
  _id: string;
  hits: number;
  expiresAt: Date;
}

export interface MongoRateLimitStoreOptions {
  /** Names the limiter: two limiters never share counters. */
  prefix: string;
  now?: () => Date;
}

/** The collection's TTL index (idempotent; the first store of a process creates it). */
const indexed = new WeakMap<Connection, Promise<unknown>>();
function ensureIndex(conn: Connection): Promise<unknown> {
  let p = indexed.get(conn);
  if (!p) {
    p = conn
      .collection<CounterDoc>(COLLECTION)
      .createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expiresAt_ttl' })
      .catch((err: unknown) => {
        indexed.delete(conn);
        throw err;
      });
    indexed.set(conn, p);
  }
  return p;
}

export class MongoRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private failing = false;
  private readonly now: () => Date;

  constructor(
    private readonly conn: Connection,
    opts: MongoRateLimitStoreOptions,
  ) {
    this.prefix = opts.prefix;
    this.now = opts.now ?? (() => new Date());
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    // not awaited by express-rate-limit; a failure is retried by the next store's init
    void ensureIndex(this.conn).catch(() => undefined);
  }

  private get counters() {
    return this.conn.collection<CounterDoc>(COLLECTION);
  }

  private id(key: string): string {
    return `${this.prefix}|${key}`;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const doc = await this.counters.findOne({ _id: this.id(key) }, { projection: { hits: 1, expiresAt: 1 } });
    return doc && doc.expiresAt > this.now() ? { totalHits: doc.hits, resetTime: doc.expiresAt } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = this.now();
    try {
      return await this.count(key, now);
    } catch (err) {
      // The database is unreachable (or failing): let the request through to its route, which
      // answers 503 when it needs the database, rather than turning a limit check into a 500.
      if (!this.failing) log.warn(`rate limit ${this.prefix}: counting failed, requests pass uncounted until the database answers`, err);
      this.failing = true;
      return { totalHits: 1, resetTime: new Date(now.getTime() + this.windowMs) };
    }
  }

  private async count(key: string, now: Date): Promise<ClientRateLimitInfo> {
    const live = { $gt: ['$expiresAt', now] };
    const doc = await this.counters.findOneAndUpdate(
      { _id: this.id(key) },
      [
        {
          $set: {
            hits: { $cond: [live, { $add: ['$hits', 1] }, 1] },
            expiresAt: { $cond: [live, '$expiresAt', new Date(now.getTime() + this.windowMs)] },
          },
        },
      ],
      { upsert: true, returnDocument: 'after', projection: { hits: 1, expiresAt: 1 }, includeResultMetadata: false },
    );
    this.failing = false;
    return { totalHits: doc?.hits ?? 1, resetTime: doc?.expiresAt ?? new Date(now.getTime() + this.windowMs) };
  }

  async decrement(key: string): Promise<void> {
    await this.counters.updateOne({ _id: this.id(key), hits: { $gt: 0 }, expiresAt: { $gt: this.now() } }, { $inc: { hits: -1 } }).catch(() => undefined);
  }

  async resetKey(key: string): Promise<void> {
    await this.counters.deleteOne({ _id: this.id(key) });
  }

  async resetAll(): Promise<void> {
    const escaped = this.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await this.counters.deleteMany({ _id: { $regex: `^${escaped}\\|` } });
  }
}

/** A store for one limiter named `prefix` on `conn` (each rateLimit() needs its own instance). */
export function sharedRateLimitStore(conn: Connection, prefix: string, now?: () => Date): MongoRateLimitStore {
  return new MongoRateLimitStore(conn, { prefix, now });
}

/**
 * Rate limits count in MongoDB: two instances of the same limiter on one database (two servers
 * behind a load balancer) count the same client's hits together, one command per hit, and a
 * window that has ended starts again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { sharedRateLimitStore } from '../../src/db/rate-limit-store';
import { useTestDatabase } from '../support/db';

describe('rate limits shared by every instance (MongoDB store)', () => {
  const db = useTestDatabase();
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });

  /** One "instance": its own express app and limiter, on the shared database. */
  async function instance(prefix: string, limit: number, windowMs = 60_000, now?: () => Date): Promise<string> {
    const app = express();
    app.use(rateLimit({ windowMs, limit, standardHeaders: 'draft-7', legacyHeaders: false, store: sharedRateLimitStore(db.connection, prefix, now) }));
    app.get('/', (_req, res) => void res.send('ok'));
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  it('lets a client through `limit` times in all across two instances, then answers 429 on both', async () => {
    const a = await instance('shared-a', 6);
    const b = await instance('shared-a', 6);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(i % 2 ? a : b)).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 200]);
    expect((await fetch(a)).status).to.equal(429);
    const res = await fetch(b);
    expect(res.status).to.equal(429);
    expect(res.headers.get('ratelimit')).to.match(/remaining=0/);
    const docs = await db.connection.collection('ratelimits').find({ _id: { $regex: '^shared-a\\|' } as never }).toArray();
    expect(docs, 'one counter for the client, shared').to.have.length(1);
    expect(docs[0]?.hits).to.equal(8);
    expect(docs[0]?.expiresAt).to.be.instanceOf(Date);
  });

  it('keeps two limiters apart, and starts a new window once the old one has ended', async () => {
    // near the real time: the engine's TTL sweep runs on the real clock and would delete counters of a past window
    let t = new Date(Date.now() + 60_000);
    const clock = () => t;
    const a = await instance('window-a', 2, 10_000, clock);
    const other = await instance('window-b', 2, 10_000, clock);
    expect([(await fetch(a)).status, (await fetch(a)).status, (await fetch(a)).status]).to.deep.equal([200, 200, 429]);
    expect((await fetch(other)).status, 'another limiter counts apart').to.equal(200);
    t = new Date(t.getTime() + 10_001);
    expect((await fetch(a)).status, 'a new window').to.equal(200);
  });

  it('keeps its counters in a collection with a TTL index', async () => {
    await instance('ttl', 1);
    await fetch((await instance('ttl', 1)) as string);
    const indexes = await db.connection.collection('ratelimits').indexes();
    expect(indexes.find((i) => i.key.expiresAt === 1)?.expireAfterSeconds).to.equal(0);
  });
});

/**
 * A course sync writes each column's results while the next columns are fetched. What a teacher
 * relies on must hold all the same: every column either whole or untouched, a failure named in
 * the run, the next run completing the job, and nothing written when nothing changed.
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import type { Database } from '../../src/db/connect';
import { createAdvantageClient, type TokenProvider } from '../../src/lti/advantage';
import { lineItemModel } from '../../src/grades/line-item.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { syncCourse, type SyncProgress } from '../../src/grades/sync.service';
import { createAgsSource } from '../../src/grades/sources';
import { connectTestDatabase } from '../support/db';
import { lineItem, roster, startFakeLms, type FakeLms } from './support/fake-lms';

const COLUMNS = 9; // more than the 4 requests and 2 writes a sync has in flight
const LEARNERS = 7;

describe('Course sync, writing while it fetches', () => {
  let db: Database;
  let lms: FakeLms;
  const getToken: TokenProvider = async () => 'token';

  before(async () => {
    db = await connectTestDatabase({ monitorCommands: true });
  });
  after(async () => {
    await db.close();
  });
  beforeEach(async () => {
    lms = await startFakeLms();
    lms.members = roster(LEARNERS);
    lms.lineItems = Array.from({ length: COLUMNS }, (_, c) => lineItem(`c${c + 1}`, `Quiz ${c + 1}`, 20, LEARNERS, (i) => (i + c) % 21));
  });
  afterEach(async () => {
    await lms.close();
  });

  function setup() {
    const course = { _id: new Types.ObjectId(), services: { lineItemsUrl: lms.lineItemsUrl, membershipsUrl: lms.membershipsUrl, agsScopes: [] } };
    const client = createAdvantageClient({ getToken, sleep: async () => undefined, maxRetries: 1 });
    const sync = (extra: Partial<Parameters<typeof syncCourse>[0]> = {}) =>
      syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 't1' }, now: () => new Date(), ...extra });
    return { course, sync };
  }

  /** Runs `fn`, returning the commands it sent on the wire (name and collection). */
  async function commandsOf<T>(fn: () => Promise<T>): Promise<{ value: T; commands: { name: string; collection?: string }[] }> {
    const commands: { name: string; collection?: string }[] = [];
    const listener = (e: { commandName: string; command: Record<string, unknown> }) => {
      const target = e.command[e.commandName];
      commands.push({ name: e.commandName, collection: typeof target === 'string' ? target : undefined });
    };
    const client = db.connection.getClient();
    client.on('commandStarted', listener as never);
    try {
      return { value: await fn(), commands };
    } finally {
      client.off('commandStarted', listener as never);
    }
  }

  /** Stored results per column label. */
  async function storedPerColumn(courseId: Types.ObjectId): Promise<Map<string, number>> {
    const items = await lineItemModel(db.connection).find({ courseId }).lean();
    const out = new Map<string, number>();
    for (const li of items) out.set(li.label, await resultModel(db.connection).countDocuments({ courseId, lineItemId: li._id }));
    return out;
  }

  it('inserts a first sync without reading any result back, and a sync that finds nothing new writes only its run record', async () => {
    const { course, sync } = setup();
    const first = await commandsOf(() => sync());
    expect(first.value.status).to.equal('succeeded');
    expect(first.value.counts.results).to.equal(COLUMNS * LEARNERS);
    expect(first.commands.filter((c) => c.collection === 'results').map((c) => c.name)).to.not.include('find');
    expect([...(await storedPerColumn(course._id)).values()]).to.deep.equal(Array(COLUMNS).fill(LEARNERS));

    const second = await commandsOf(() => sync());
    expect(second.value.counts.changed).to.equal(0);
    const writes = second.commands.filter((c) => ['insert', 'update', 'delete', 'findAndModify'].includes(c.name) && c.collection !== 'syncruns');
    expect(writes, JSON.stringify(writes)).to.deep.equal([]);
  });

  it('stores every other column whole when one column keeps failing halfway, names it in the run, and the next run completes it', async () => {
    const { course, sync } = setup();
    // Quiz 6's second results page fails every time: none of Quiz 6 may be stored.
    lms.failWhen = (req) => (req.path.includes('/c6/lineitem/results') && req.query.from === '3' ? 503 : undefined);
    const first = await sync();
    expect(first.status).to.equal('partial');
    expect(first.errors.map((e) => e.kind)).to.deep.equal(['results_failed']);
    expect(first.errors[0]!.message).to.match(/503/).and.to.include('/c6/');
    const stored = await storedPerColumn(course._id);
    expect(stored.get('Quiz 6')).to.equal(0);
    for (let c = 1; c <= COLUMNS; c++) if (c !== 6) expect(stored.get(`Quiz ${c}`), `Quiz ${c}`).to.equal(LEARNERS);
    const run = await syncRunModel(db.connection).findById(first.runId).lean();
    expect(run).to.include({ status: 'partial' });
    expect(run!.progress).to.deep.equal({ items: { done: COLUMNS - 1, total: COLUMNS }, learners: { done: LEARNERS + 1, total: LEARNERS + 1 } });

    lms.failWhen = undefined;
    const second = await sync();
    expect(second.status).to.equal('succeeded');
    expect(second.counts.changed).to.equal(LEARNERS);
    expect([...(await storedPerColumn(course._id)).values()]).to.deep.equal(Array(COLUMNS).fill(LEARNERS));
    expect(await resultModel(db.connection).countDocuments({ courseId: course._id })).to.equal(COLUMNS * LEARNERS);
  });

  it('stopped in the middle, says so in the run, leaves each column whole or untouched, and the next run completes without duplicates', async () => {
    const { course, sync } = setup();
    const ctrl = new AbortController();
    const onProgress = (p: SyncProgress) => {
      if (p.items.done === 2) ctrl.abort();
    };
    const first = await sync({ signal: ctrl.signal, onProgress });
    expect(first.status).to.equal('failed');
    expect(first.errors.map((e) => e.kind)).to.include('aborted');
    const stored = [...(await storedPerColumn(course._id)).values()];
    expect(stored.every((n) => n === 0 || n === LEARNERS), String(stored)).to.equal(true);
    // the 2 columns done, and at most the 2 writes under way when it stopped
    expect(stored.filter((n) => n === LEARNERS).length).to.be.within(2, 4);
    expect((await syncRunModel(db.connection).findById(first.runId).lean())!.status).to.equal('failed');

    const second = await sync();
    expect(second.status).to.equal('succeeded');
    expect([...(await storedPerColumn(course._id)).values()]).to.deep.equal(Array(COLUMNS).fill(LEARNERS));
    expect(await resultModel(db.connection).countDocuments({ courseId: course._id })).to.equal(COLUMNS * LEARNERS);
  });
});

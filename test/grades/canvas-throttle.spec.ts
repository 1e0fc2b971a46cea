/**
 * Canvas's throttling against the Canvas grade source, over real HTTP to the sandbox's Canvas and
 * a real database: the leaky bucket of app/middleware/request_throttle.rb (each token's bucket, a
 * fixed up-front cost while a request runs, then its real cost; 403 "Rate Limit Exceeded" once full).
 * The client slows down when X-Rate-Limit-Remaining runs low, so Canvas need not refuse anything;
 * and a client that does not slow down still never fails a sync for it (the shared retry policy).
 * Time is one fake clock shared by the bucket and the client's waits.
 */
import { expect } from 'chai';
import { resultModel } from '../../src/grades/result.model';
import { syncCourse } from '../../src/grades/sync.service';
import { startTestApp, type TestApp } from '../support/app';
import { canvasHarness } from './support/canvas-harness';

describe('Canvas throttling (leaky bucket) and paging', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const defaults = () => ({ ...t.sandbox.canvas.throttle.settings });
  let saved: ReturnType<typeof defaults>;
  beforeEach(() => {
    saved = defaults();
  });
  afterEach(() => {
    t.sandbox.canvas.throttle.settings = saved;
  });

  const course = () =>
    t.sandbox.store.createCourse({ title: `Throttled ${Math.random().toString(36).slice(2, 6)}`, quirks: 'canvas', learners: 250, items: 12, itemModule: 'assign', scoreMaximum: 10, permittedScopes: [] });

  // Expensive pages (0.5 per submission record: a grouped page of 100 students × 12 = 600 → 601):
  // a few pages fill the 600 bucket; it drains 10 per second.
  const heavy = { hwm: 600, maximum: 800, outflowPerSecond: 10, upFrontCost: 50, baseCost: 1, costPerRecord: 0.5 };

  it('slows down before the bucket is empty: every grade arrives, with the fewest calls and (almost) no refusal', async () => {
    const created = course();
    const h = await canvasHarness({ conn: t.db.connection, sandbox: t.sandbox, created, throttle: heavy });
    const summary = await syncCourse({ conn: t.db.connection, source: await h.source(), course: h.course, startedBy: { userId: 'test' }, now: () => new Date() });
    expect(summary.status, JSON.stringify(summary.errors)).to.equal('succeeded');
    // course + groups + assignments + 3 enrollment pages + 3 grouped submission pages
    expect(h.calls.total - h.calls.throttled).to.equal(9);
    expect(h.calls.byPath).to.deep.include({ '/students/submissions': 3, '/enrollments': 3 });
    expect(h.calls.throttled, 'refused requests').to.be.at.most(1);
    expect(h.waitedMs(), 'it waited for the bucket').to.be.greaterThan(0);
    const stored = await resultModel(t.db.connection).countDocuments({ courseId: h.course._id, source: 'canvas', scoreGiven: { $ne: null } });
    expect(stored).to.be.greaterThan(250 * 12 * 0.8);
  });

  it('a client that never slows down is refused with 403 (Rate Limit Exceeded), waits, retries, and the sync still succeeds', async () => {
    const created = course();
    const h = await canvasHarness({ conn: t.db.connection, sandbox: t.sandbox, created, throttle: heavy, lowWater: 0 });
    const summary = await syncCourse({ conn: t.db.connection, source: await h.source(), course: h.course, startedBy: { userId: 'test' }, now: () => new Date() });
    expect(summary.status, JSON.stringify(summary.errors)).to.equal('succeeded');
    expect(h.calls.throttled, 'Canvas refused some requests').to.be.greaterThan(0);
    expect(h.calls.total - h.calls.throttled).to.equal(9);
  });
});

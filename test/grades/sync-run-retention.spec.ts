import { expect } from 'chai';
import { Types } from 'mongoose';
import { RunRecorder } from '../../src/grades/sync-recorder';
import { RUN_RETENTION_DAYS, syncRunModel } from '../../src/grades/sync-run.model';
import { sharedTestEngine, useTestDatabase } from '../support/db';

const DAY = 24 * 60 * 60 * 1000;

describe('sync run documents expire', () => {
  const db = useTestDatabase({ indexes: [syncRunModel] });

  /** Run documents expire counted from when they are written, on the real clock (the TTL monitor's). */
  async function run(scope: 'learner' | 'course', at: Date, changed: number) {
    const r = new RunRecorder({ conn: db.connection, courseId: new Types.ObjectId(), source: 'ags', scope, userId: scope === 'learner' ? 'u1' : undefined, startedBy: { userId: 'u1' }, now: () => at });
    await r.start();
    r.counts.changed = changed;
    return r.finish();
  }

  it('keeps a learner refresh that changed nothing (one per launch) for a day only', async () => {
    const at = new Date();
    const summary = await run('learner', new Date('2025-05-03T10:00:00Z'), 0);
    expect(summary.status).to.equal('succeeded');
    const doc = await syncRunModel(db.connection).findById(summary.runId).lean();
    expect(doc!.expiresAt.getTime() - at.getTime()).to.be.within(1 * DAY, 1 * DAY + 5000);
  });

  it('keeps a learner refresh that changed a grade for 7 days, a course sync for 90', async () => {
    const at = new Date();
    const learner = await syncRunModel(db.connection).findById((await run('learner', at, 1)).runId).lean();
    const course = await syncRunModel(db.connection).findById((await run('course', at, 0)).runId).lean();
    expect(RUN_RETENTION_DAYS).to.deep.equal({ course: 90, learner: 7, 'learner-unchanged': 1 });
    expect(learner!.expiresAt.getTime() - at.getTime()).to.be.within(7 * DAY, 7 * DAY + 5000);
    expect(course!.expiresAt.getTime() - at.getTime()).to.be.within(90 * DAY, 90 * DAY + 5000);
  });

  it('deletes runs past their retention through the TTL index, and only those', async function () {
    const old = await run('course', new Date(), 3);
    const recent = await run('course', new Date(), 3);
    // 91 days later, as far as this document is concerned
    await syncRunModel(db.connection).updateOne({ _id: old.runId }, { $set: { expiresAt: new Date(Date.now() - DAY) } });
    const indexes = await syncRunModel(db.connection).collection.indexes();
    expect(indexes.find((i) => i.key.expiresAt === 1)).to.include({ expireAfterSeconds: 0 });
    const offline = sharedTestEngine().offline;
    if (!offline) return this.skip(); // mongod's TTL monitor runs once a minute: the index above is what counts
    offline.sweepExpired();
    expect(await syncRunModel(db.connection).countDocuments({ _id: old.runId })).to.equal(0);
    expect(await syncRunModel(db.connection).countDocuments({ _id: recent.runId })).to.equal(1);
  });
});

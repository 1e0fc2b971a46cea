/**
 * The Moodle grade source through the generic sync, against the sandbox's Moodle: what the
 * columns become, the fewest calls, a repeated sync that writes nothing, suspended learners'
 * grades kept, and the refusals recorded in the run in words that say what to fix.
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import { lineItemModel } from '../../../src/grades/line-item.model';
import { createMoodleHttp } from '../../../src/grades/moodle/moodle-http';
import { createMoodleWsClient } from '../../../src/grades/moodle/moodle-ws.client';
import { resultModel } from '../../../src/grades/result.model';
import { createMoodleSource } from '../../../src/grades/sources/moodle.source';
import { syncCourse } from '../../../src/grades/sync.service';
import { SANDBOX_WS_CAPABILITIES } from '../../../src/sandbox/moodle-ws.site';
import { useTestDatabase } from '../../support/db';
import { startSandboxLms, type SandboxLms } from '../support/sandbox-lms';

describe('Moodle grade source (sync through web services)', () => {
  const db = useTestDatabase({ indexes: [lineItemModel, resultModel] });
  let lms: SandboxLms;
  let calls: string[];

  before(async () => {
    lms = await startSandboxLms();
  });
  after(async () => lms.close());

  const setup = (opts: { capabilities?: string[]; readCompletion?: boolean } = {}) => {
    const c = lms.sandbox.store.createCourse({ title: 'Source course', quirks: 'moodle', learners: 4, items: 3, scoreMaximum: 10, score: (l, i) => (l === 3 && i === 2 ? null : 5 + l) });
    const token = lms.sandbox.moodleWs.createToken({ capabilities: opts.capabilities }).token;
    calls = [];
    const client = createMoodleWsClient({ baseUrl: lms.baseUrl, token, http: createMoodleHttp({ maxRetries: 0 }), onCall: (f) => calls.push(f) });
    const course = { _id: new Types.ObjectId() };
    const sync = () =>
      syncCourse({
        conn: db.connection,
        source: createMoodleSource({ client, moodleCourseId: c.course.id, withRoster: false, readCompletion: opts.readCompletion ?? false }),
        course,
        startedBy: { userId: 'test' },
        now: () => new Date(),
      });
    return { c, course, sync };
  };

  it('stores every grade item and the course total in one call, ungraded as null', async () => {
    const { c, course, sync } = setup();
    const summary = await sync();
    expect(summary.status).to.equal('succeeded');
    expect(calls).to.deep.equal(['gradereport_user_get_grade_items']);
    const items = await lineItemModel(db.connection).find({ courseId: course._id, source: 'moodle' }).lean();
    expect(items.map((i) => [i.label, i.kind, i.scoreMaximum])).to.deep.equal([
      ['Activity 1', 'activity', 10],
      ['Activity 2', 'activity', 10],
      ['Activity 3', 'activity', 10],
      ['Course total', 'course-total', 30],
    ]);
    const act3 = items.find((i) => i.label === 'Activity 3')!;
    const ungraded = await resultModel(db.connection).findOne({ courseId: course._id, lineItemId: act3._id, userId: c.learnerIds[3] }).lean();
    expect(ungraded!.scoreGiven).to.equal(null);
  });

  it('a second sync with nothing changed writes nothing; one regrade changes one result and the total', async () => {
    const { c, sync } = setup();
    await sync();
    const second = await sync();
    expect(second.counts.changed).to.equal(0);
    lms.sandbox.store.setScore(c.course.id, c.lineItemIds[0]!, c.learnerIds[1]!, 10);
    const third = await sync();
    expect(third.counts.changed).to.equal(2); // Activity 1 and the course total
  });

  it('keeps the grades of a learner whose enrolment was suspended (Moodle stops listing them)', async () => {
    const { c, course, sync } = setup();
    await sync();
    lms.sandbox.store.setMemberStatus(c.course.id, c.learnerIds[0]!, 'Inactive');
    const again = await sync();
    expect(again.status).to.equal('succeeded');
    const kept = await resultModel(db.connection).find({ courseId: course._id, userId: c.learnerIds[0] }).lean();
    expect(kept).to.have.length(4);
    expect(kept.map((r) => r.scoreGiven).sort((a, b) => a! - b!)).to.deep.equal([5, 5, 5, 15]);
  });

  it('records a missing capability as a failed run that names it', async () => {
    const { sync } = setup({ capabilities: Object.keys(SANDBOX_WS_CAPABILITIES).filter((x) => x !== 'moodle/grade:viewall') });
    const summary = await sync();
    expect(summary.status).to.equal('failed');
    expect(summary.errors.map((e) => e.message).join(' ')).to.contain('lacks the capability moodle/grade:viewall');
  });

  it('says once that completion tracking is off, and still syncs the grades', async () => {
    const { course, sync } = setup({ readCompletion: true });
    const summary = await sync();
    expect(summary.status).to.equal('partial');
    expect(summary.errors.filter((e) => e.kind === 'moodle_completion_unavailable')).to.have.length(1);
    expect(await lineItemModel(db.connection).countDocuments({ courseId: course._id, source: 'moodle' })).to.equal(4);
  });

  it('reads completion as a column of its own when tracking is on: one call per learner, the probe reused', async () => {
    const { c, course, sync } = setup({ readCompletion: true });
    lms.sandbox.moodleWs.setCompletion(c.course.id, { enabled: true, passPercent: 60 });
    const summary = await sync();
    expect(summary.status).to.equal('succeeded');
    expect(calls.filter((f) => f === 'core_completion_get_course_completion_status')).to.have.length(4);
    const column = await lineItemModel(db.connection).findOne({ courseId: course._id, externalId: 'moodle:completion' }).lean();
    const results = await resultModel(db.connection).find({ courseId: course._id, lineItemId: column!._id }).lean();
    // Learner l has 5+l on each item: 50%, 60%, 70%, 80% (the last over two graded items).
    expect(Object.fromEntries(results.map((r) => [r.userId, r.scoreGiven]))).to.deep.equal({
      [c.learnerIds[0]!]: 0,
      [c.learnerIds[1]!]: 1,
      [c.learnerIds[2]!]: 1,
      [c.learnerIds[3]!]: 1,
    });
  });
});

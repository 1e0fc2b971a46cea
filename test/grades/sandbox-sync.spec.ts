import { expect } from 'chai';
import { Types } from 'mongoose';
import { createAdvantageClient, type AdvantageClientOptions } from '../../src/lti/advantage';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { syncCourse, syncLearner } from '../../src/grades/sync.service';
import { SCOPE } from '../../src/sandbox/lti-vocabulary';
import type { QuirkMode } from '../../src/sandbox/sandbox';
import { useTestDatabase } from '../support/db';
import { startSandboxLms, type SandboxLms } from './support/sandbox-lms';
import { createAgsSource } from '../../src/grades/sources';

const LEARNERS = 60;
const ITEMS = 4;

describe('Grade sync against the sandbox LMS', () => {
  const db = useTestDatabase();
  let lms: SandboxLms;
  let clock: Date;
  const teacher = { userId: 'teacher', name: 'Teacher' };

  before(async () => {
    clock = new Date();
    lms = await startSandboxLms({ now: () => clock });
  });
  after(async () => {
    await lms.close();
  });

  function courseIn(mode: QuirkMode) {
    const created = lms.sandbox.store.createCourse({ title: `${mode} course`, quirks: mode, learners: LEARNERS, items: ITEMS, scoreMaximum: 20 });
    const course = { _id: new Types.ObjectId(), services: lms.servicesOf(created.course.id) };
    const expectedResults = created.lineItemIds.reduce((n, id) => n + lms.sandbox.store.listResults(created.course.id, id).length, 0);
    return { created, course, expectedResults };
  }

  function clientFor(extra: Partial<AdvantageClientOptions> = {}) {
    return createAdvantageClient({ getToken: lms.getToken, baseDelayMs: 100, maxDelayMs: 2000, ...extra });
  }

  async function stored(courseId: Types.ObjectId) {
    return {
      members: await memberModel(db.connection).countDocuments({ courseId }),
      items: await lineItemModel(db.connection).countDocuments({ courseId, removedAt: null }),
      results: await resultModel(db.connection).countDocuments({ courseId }),
    };
  }

  const modes: Array<{
    mode: QuirkMode;
    setup?: (courseId: string) => void;
    afterFirst?: (courseId: string) => void;
    client?: Partial<AdvantageClientOptions>;
    why: string;
  }> = [
    // Asking 7 per page makes Moodle page its AGS answers, with rel=“next” in typographic quotes.
    { mode: 'moodle', client: { agsPageSize: 7 }, why: 'typographic-quote paging on AGS' },
    // Canvas pages with full Link relations and caps NRPS at 50; 4 requests per second forces 403 Rate Limit Exceeded.
    // (Throttled on the first run only, to keep the suite fast.)
    {
      mode: 'canvas',
      setup: (id) => lms.sandbox.store.setRateLimit(id, { requestsPerSecond: 4 }),
      afterFirst: (id) => lms.sandbox.store.setRateLimit(id, null),
      client: { agsPageSize: 30 },
      why: 'rate limited',
    },
    { mode: 'chamilo', why: 'exact media types, limit+page paging' },
  ];

  for (const { mode, setup, afterFirst, client: clientOpts, why } of modes) {
    describe(`${mode} mode (${why})`, () => {
      it('imports the full roster and every result, re-runs without a write, and changes one record for one changed score', async function () {
        this.timeout(60_000);
        const { created, course, expectedResults } = courseIn(mode);
        setup?.(created.course.id);
        const client = clientFor(clientOpts);
        const run = () => syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now: () => clock });

        lms.sandbox.store.clearRequestLog();
        const first = await run();
        expect(first.status, JSON.stringify(first.errors)).to.equal('succeeded');
        expect(await stored(course._id)).to.deep.equal({ members: LEARNERS + 1, items: ITEMS, results: expectedResults });
        expect(first.counts).to.include({ members: LEARNERS + 1, items: ITEMS, results: expectedResults });
        const log = lms.sandbox.store.requestLog;
        if (mode === 'canvas') expect(log.filter((r) => r.status === 403).length, 'some requests were throttled').to.be.above(0);
        if (mode === 'moodle') expect(log.filter((r) => r.path.endsWith('/results')).length).to.be.above(ITEMS);
        afterFirst?.(created.course.id);

        const second = await run();
        expect(second.status).to.equal('succeeded');
        expect(second.counts.changed).to.equal(0);

        const learner = created.learnerIds[3]!;
        const item = created.lineItemIds[1]!;
        const before = lms.sandbox.store.getResult(created.course.id, item, learner);
        const newScore = before?.scoreGiven === 20 ? 19 : 20;
        clock = new Date(clock.getTime() + 60_000);
        lms.sandbox.store.setScore(created.course.id, item, learner, newScore);
        const third = await run();
        expect(third.counts.changed).to.equal(1);
        const sub = lms.sandbox.store.subjectOf(created.course, lms.sandbox.store.requireUser(learner));
        const li = await lineItemModel(db.connection).findOne({ courseId: course._id, externalId: new RegExp(`/lineitems/${item}$`) }).lean();
        const r = await resultModel(db.connection).findOne({ courseId: course._id, lineItemId: li!._id, userId: sub }).lean();
        expect(r!.scoreGiven).to.equal(newScore);
        if (before) expect(r!.history.map((h) => h.scoreGiven)).to.deep.equal([before.scoreGiven]);
        expect(await stored(course._id)).to.deep.equal({ members: LEARNERS + 1, items: ITEMS, results: expectedResults + (before ? 0 : 1) });
      });
    });
  }

  it("refreshes one learner's results with user_id in Canvas mode (UUID subs)", async () => {
    const { created, course } = courseIn('canvas');
    lms.sandbox.store.setRateLimit(created.course.id, null);
    const client = clientFor({ agsPageSize: 50 });
    await syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now: () => clock });
    const learner = lms.sandbox.store.requireUser(created.learnerIds[5]!);
    lms.sandbox.store.setScore(created.course.id, created.lineItemIds[0]!, learner.id, 13);
    lms.sandbox.store.clearRequestLog();
    const summary = await syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: learner.ltiId }, now: () => clock, userId: learner.ltiId });
    expect(summary.status).to.equal('succeeded');
    const resultCalls = lms.sandbox.store.requestLog.filter((r) => r.path.endsWith('/results'));
    expect(resultCalls).to.have.length(ITEMS);
    expect(resultCalls.every((r) => r.query.user_id === learner.ltiId)).to.equal(true);
    const li = await lineItemModel(db.connection).findOne({ courseId: course._id, externalId: new RegExp(`/lineitems/${created.lineItemIds[0]}$`) }).lean();
    expect(await resultModel(db.connection).findOne({ lineItemId: li!._id, userId: learner.ltiId }).lean()).to.include({ scoreGiven: 13 });
  });

  it('retries 5xx answers and a reset connection, and still completes', async () => {
    const { created, course, expectedResults } = courseIn('standard');
    lms.sandbox.store.injectFaults(created.course.id, { path: /\/results/, status: 503, times: 2 });
    lms.sandbox.store.injectFaults(created.course.id, { path: /\/memberships/, status: 'reset', times: 1 });
    const summary = await syncCourse({ conn: db.connection, source: createAgsSource({ client: clientFor(), course }), course, startedBy: teacher, now: () => clock });
    expect(summary.status, JSON.stringify(summary.errors)).to.equal('succeeded');
    expect((await stored(course._id)).results).to.equal(expectedResults);
  });

  it('gets a new token when the platform no longer accepts the cached one', async () => {
    const { course } = courseIn('standard');
    const client = clientFor();
    await syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now: () => clock });
    const calls = lms.getToken.calls;
    clock = new Date(clock.getTime() + 2 * 3600_000); // the sandbox's tokens live one hour
    const summary = await syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now: () => clock });
    expect(summary.status).to.equal('succeeded');
    expect(lms.getToken.calls).to.be.above(calls);
  });

  it('tells the teacher which service to enable when the course does not grant results', async () => {
    const { created, course } = courseIn('moodle');
    lms.sandbox.store.setPermittedScopes(created.course.id, [SCOPE.lineItemReadonly, SCOPE.nrps]);
    const summary = await syncCourse({ conn: db.connection, source: createAgsSource({ client: clientFor(), course }), course, startedBy: teacher, now: () => clock });
    expect(summary.status).to.equal('partial');
    expect(summary.errors).to.have.length(ITEMS);
    expect(summary.errors[0]!.message).to.match(/^The platform did not grant 'result.readonly' \(AGS: read results\)\. Ask the LMS administrator/);
    expect((await stored(course._id)).members).to.equal(LEARNERS + 1);
  });
});

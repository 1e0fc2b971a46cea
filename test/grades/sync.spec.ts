import { expect } from 'chai';
import { Types } from 'mongoose';
import { TokenRefusedError } from '../../src/http/platform-errors';
import { createAdvantageClient, type TokenProvider } from '../../src/lti/advantage';
import { loadCourseGrades } from '../../src/grades/course-grades.service';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { syncCourse, syncLearner, type SyncProgress } from '../../src/grades/sync.service';
import { useTestDatabase } from '../support/db';
import { lineItem, roster, startFakeLms, type FakeLms } from './support/fake-lms';
import { createAgsSource } from '../../src/grades/sources';
import { createTranslator } from '../../src/i18n';

const MAY_3 = new Date('2025-05-03T09:00:00Z');
const MAY_12 = new Date('2025-05-12T09:00:00Z');
const MAY_20 = new Date('2025-05-20T09:00:00Z');

describe('Grade sync over AGS and NRPS', () => {
  const db = useTestDatabase();
  let lms: FakeLms;
  let clock: Date;
  const now = () => clock;
  const getToken: TokenProvider = async () => 'token';
  const teacher = { userId: 't1', name: 'Teacher' };

  function setup() {
    const course = { _id: new Types.ObjectId(), services: { lineItemsUrl: lms.lineItemsUrl, membershipsUrl: lms.membershipsUrl, agsScopes: [] } };
    const client = createAdvantageClient({ getToken, sleep: async () => undefined, maxRetries: 1 });
    return { course, client, sync: (extra: Partial<Parameters<typeof syncCourse>[0]> = {}) => syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now, ...extra }) };
  }

  /** A course of 7 learners (3 per roster page) and 2 line items of 7 results each (3 per page). */
  function seed() {
    lms.members = roster(7);
    lms.lineItems = [lineItem('a', 'Quiz 1', 20, 7, (i) => 10 + i), lineItem('b', 'Essay', 100, 7, (i) => 50 + i * 5)];
  }

  async function snapshot(courseId: Types.ObjectId) {
    const [items, members, results] = await Promise.all([
      lineItemModel(db.connection).find({ courseId }).lean(),
      memberModel(db.connection).find({ courseId }).lean(),
      resultModel(db.connection).find({ courseId }).lean(),
    ]);
    const stamp = (d: { _id: unknown; updatedAt?: Date }) => `${String(d._id)}@${d.updatedAt?.toISOString()}`;
    return { items, members, results, stamps: new Set([...items, ...members, ...results].map(stamp)) };
  }

  beforeEach(async () => {
    lms = await startFakeLms();
    clock = MAY_3;
  });
  afterEach(async () => {
    await lms.close();
  });

  it('imports the whole roster, every line item and every result on the first run', async () => {
    seed();
    const { course, sync } = setup();
    const summary = await sync();
    expect(summary.status).to.equal('succeeded');
    expect(summary.counts).to.deep.equal({ items: 2, results: 14, members: 8, changed: 2 + 14 + 8, unchanged: 0, errors: 0 });
    const s = await snapshot(course._id);
    expect(s.members).to.have.length(8);
    expect(s.members.filter((m) => m.isLearner)).to.have.length(7);
    expect(s.members.find((m) => m.userId === 't1')).to.include({ isLearner: false, status: 'active' });
    expect(s.items.map((i) => i.label).sort()).to.deep.equal(['Essay', 'Quiz 1']);
    expect(s.items[0]).to.include({ source: 'ags', tag: 'grade' });
    expect(s.results).to.have.length(14);
    const quiz = s.items.find((i) => i.label === 'Quiz 1')!;
    const u3 = s.results.find((r) => r.userId === 'u3' && String(r.lineItemId) === String(quiz._id))!;
    expect(u3).to.include({ scoreGiven: 13, scoreMaximum: 20, source: 'ags' });
    expect(u3.changedAt.toISOString()).to.equal(MAY_3.toISOString());
    expect(u3.history).to.deep.equal([]);
    const run = await syncRunModel(db.connection).findById(summary.runId).lean();
    expect(run).to.include({ status: 'succeeded', source: 'ags', scope: 'course' });
    expect(run!.startedBy).to.deep.equal(teacher);
    expect(run!.counts.results).to.equal(14);
    expect(run!.finishedAt!.toISOString()).to.equal(MAY_3.toISOString());
  });

  it('writes nothing on a second identical run', async () => {
    seed();
    const { course, sync } = setup();
    await sync();
    const before = await snapshot(course._id);
    clock = MAY_12;
    const summary = await sync();
    expect(summary.status).to.equal('succeeded');
    expect(summary.counts.changed).to.equal(0);
    expect(summary.counts.unchanged).to.equal(2 + 14 + 8);
    const after = await snapshot(course._id);
    expect([...after.stamps]).to.have.members([...before.stamps]);
    expect(after.results.every((r) => r.changedAt.getTime() === MAY_3.getTime() && r.history.length === 0)).to.equal(true);
    expect(await syncRunModel(db.connection).countDocuments({ courseId: course._id })).to.equal(2);
  });

  it('changes exactly one record when one score changes, keeping the old value in its history', async () => {
    seed();
    const { course, sync } = setup();
    lms.lineItems[1]!.results.set('u2', { userId: 'u2', resultScore: 85, resultMaximum: 100 });
    await sync();
    const before = await snapshot(course._id);
    clock = MAY_12;
    lms.lineItems[1]!.results.set('u2', { userId: 'u2', resultScore: 95, resultMaximum: 100 });
    const summary = await sync();
    expect(summary.counts.changed).to.equal(1);
    const after = await snapshot(course._id);
    const changed = [...after.stamps].filter((s) => !before.stamps.has(s));
    expect(changed).to.have.length(1);
    const essay = after.items.find((i) => i.label === 'Essay')!;
    const r = after.results.find((x) => x.userId === 'u2' && String(x.lineItemId) === String(essay._id))!;
    expect(changed[0]).to.match(new RegExp(`^${String(r._id)}@`));
    expect(r.scoreGiven).to.equal(95);
    expect(r.changedAt.toISOString()).to.equal(MAY_12.toISOString());
    // "85% on 3 May, 95% since 12 May"
    expect(r.history).to.deep.equal([{ scoreGiven: 85, scoreMaximum: 100, from: MAY_3, to: MAY_12, source: 'ags' }]);
  });

  it('marks a learner who left the roster, without deleting anything, and welcomes them back', async () => {
    seed();
    const { course, sync } = setup();
    await sync();
    clock = MAY_12;
    lms.members = lms.members.filter((m) => m.user_id !== 'u5');
    const summary = await sync();
    expect(summary.counts.changed).to.equal(1);
    const gone = await memberModel(db.connection).findOne({ courseId: course._id, userId: 'u5' }).lean();
    expect(gone).to.include({ status: 'left' });
    expect(gone!.leftAt!.toISOString()).to.equal(MAY_12.toISOString());
    expect(await resultModel(db.connection).countDocuments({ courseId: course._id, userId: 'u5' })).to.equal(2);

    clock = MAY_20;
    lms.members = roster(7);
    await sync();
    const back = await memberModel(db.connection).findOne({ courseId: course._id, userId: 'u5' }).lean();
    expect(back).to.include({ status: 'active', leftAt: null });
  });

  it('marks a line item gone from AGS as removed and keeps its results', async () => {
    seed();
    const { course, sync } = setup();
    await sync();
    clock = MAY_12;
    lms.lineItems = lms.lineItems.slice(0, 1);
    const summary = await sync();
    expect(summary.counts.changed).to.equal(1);
    const essay = await lineItemModel(db.connection).findOne({ courseId: course._id, label: 'Essay' }).lean();
    expect(essay!.removedAt!.toISOString()).to.equal(MAY_12.toISOString());
    expect(await resultModel(db.connection).countDocuments({ lineItemId: essay!._id })).to.equal(7);
    const grades = await loadCourseGrades(db.connection, course._id);
    expect(grades.lineItems.map((li) => li.label)).to.deep.equal(['Quiz 1']);
    expect(grades.resultsByUser.get('u1')!.size).to.equal(1);
  });

  it('records a page that fails halfway, keeps what was stored correct, and completes on the next run without duplicates', async () => {
    seed();
    const { course, sync } = setup();
    // The roster's second page and the Essay's second results page fail every time.
    lms.failWhen = (req) =>
      (req.path === '/ctx/memberships' && req.query.from === '3') || (req.path.includes('/b/lineitem/results') && req.query.from === '3') ? 503 : undefined;
    const first = await sync();
    expect(first.status).to.equal('partial');
    expect(first.errors.map((e) => e.kind).sort()).to.deep.equal(['results_failed', 'roster_failed']);
    expect(first.errors[0]!.message).to.match(/503/);
    let s = await snapshot(course._id);
    expect(s.members.map((m) => m.userId).sort()).to.deep.equal(['u1', 'u2', 'u3']);
    expect(s.results).to.have.length(7);
    expect(s.results.every((r) => r.scoreMaximum === 20)).to.equal(true);
    const run = await syncRunModel(db.connection).findById(first.runId).lean();
    expect(run!.status).to.equal('partial');
    expect(run!.counts.errors).to.equal(2);

    lms.failWhen = undefined;
    clock = MAY_12;
    const second = await sync();
    expect(second.status).to.equal('succeeded');
    s = await snapshot(course._id);
    expect(s.members).to.have.length(8);
    expect(s.results).to.have.length(14);
    expect(s.members.every((m) => m.status === 'active')).to.equal(true);
    expect(new Set(s.results.map((r) => `${String(r.lineItemId)}/${r.userId}`)).size).to.equal(14);
  });

  it('records malformed results as errors with the item and never stores them', async () => {
    seed();
    lms.lineItems[0]!.results.set('u1', { userId: 'u1', resultScore: 25, resultMaximum: 20 });
    lms.lineItems[0]!.results.set('u2', { resultScore: 5, resultMaximum: 20 });
    lms.lineItems[0]!.results.set('u3', { userId: 'u3', resultScore: 30 });
    const { course, sync } = setup();
    const summary = await sync();
    expect(summary.status).to.equal('partial');
    expect(summary.counts.errors).to.equal(3);
    expect(summary.errors.map((e) => e.kind)).to.deep.equal(['invalid_result', 'invalid_result', 'invalid_result']);
    expect(summary.errors.map((e) => e.item)).to.deep.include({ userId: 'u1', resultScore: 25, resultMaximum: 20 });
    expect(summary.errors.some((e) => /above the maximum 20/.test(e.message))).to.equal(true);
    const quiz = await lineItemModel(db.connection).findOne({ courseId: course._id, label: 'Quiz 1' }).lean();
    const stored = await resultModel(db.connection).find({ lineItemId: quiz!._id }).lean();
    expect(stored.map((r) => r.userId).sort()).to.deep.equal(['u4', 'u5', 'u6', 'u7']);
  });

  it('fails the run with a message naming the service when the platform refuses the scopes', async () => {
    seed();
    const course = { _id: new Types.ObjectId(), services: { lineItemsUrl: lms.lineItemsUrl, membershipsUrl: lms.membershipsUrl, agsScopes: [] } };
    const refusing: TokenProvider = async () => {
      throw new TokenRefusedError('invalid_scope', 'invalid_scope');
    };
    const client = createAdvantageClient({ getToken: refusing, sleep: async () => undefined });
    const summary = await syncCourse({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: teacher, now });
    expect(summary.status).to.equal('failed');
    expect(summary.errors.map((e) => e.message)).to.satisfy((m: string[]) =>
      m.some((x) => x.startsWith("The platform did not grant 'contextmembership.readonly' (NRPS")) &&
      m.some((x) => x.startsWith("The platform did not grant 'lineitem.readonly' (AGS: read grade columns)")),
    );
  });

  it('reports progress for learners and items', async () => {
    seed();
    const { sync } = setup();
    const seen: SyncProgress[] = [];
    await sync({ onProgress: (p) => void seen.push(structuredClone(p)) });
    expect(seen[0]!.learners.done).to.equal(3);
    const last = seen[seen.length - 1]!;
    expect(last).to.deep.equal({ items: { done: 2, total: 2 }, learners: { done: 8, total: 8 } });
  });

  it('stops between steps when aborted, recording the run as failed', async () => {
    seed();
    const { sync } = setup();
    const ctrl = new AbortController();
    ctrl.abort();
    const summary = await sync({ signal: ctrl.signal });
    expect(summary.status).to.equal('failed');
    expect(summary.errors.map((e) => e.kind)).to.include('aborted');
    // the teacher reads why in their language; the stored run keeps the key beside the English
    const stored = (await syncRunModel(db.connection).findOne({}).sort({ _id: -1 }).lean())!;
    const aborted = stored.errors.find((e) => e.kind === 'aborted')!;
    expect(aborted.message).to.equal('The sync was stopped before it finished; what was stored so far is correct, and the next sync completes it.');
    expect(createTranslator('de')(aborted.key!, aborted.params)).to.equal(
      'Die Synchronisation wurde angehalten, bevor sie fertig war; was bis dahin gespeichert wurde, ist korrekt, und die nächste Synchronisation vervollständigt es.',
    );
  });

  describe('syncLearner', () => {
    it("refreshes one learner's results with the AGS user_id filter and touches nobody else", async () => {
      seed();
      const { course, client, sync } = setup();
      await sync();
      const before = await snapshot(course._id);
      clock = MAY_12;
      lms.lineItems[0]!.results.set('u4', { userId: 'u4', resultScore: 20, resultMaximum: 20 });
      lms.lineItems[0]!.results.set('u5', { userId: 'u5', resultScore: 0, resultMaximum: 20 });
      lms.seen.length = 0;
      const summary = await syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'u4' }, now, userId: 'u4' });
      expect(summary.status).to.equal('succeeded');
      expect(summary.counts.changed).to.equal(1);
      const resultCalls = lms.seen.filter((r) => r.path.endsWith('/results'));
      expect(resultCalls).to.have.length(2);
      expect(resultCalls.every((r) => r.query.user_id === 'u4')).to.equal(true);
      const after = await snapshot(course._id);
      const changed = after.results.filter((r) => !before.stamps.has(`${String(r._id)}@${r.updatedAt?.toISOString()}`));
      expect(changed.map((r) => [r.userId, r.scoreGiven])).to.deep.equal([['u4', 20]]);
      const run = await syncRunModel(db.connection).findById(summary.runId).lean();
      expect(run).to.include({ scope: 'learner', userId: 'u4' });
    });

    it('leaves no stale shortcut behind: a course sync after a learner refresh still matches the LMS', async () => {
      seed();
      const { course, client, sync } = setup();
      await sync();
      clock = MAY_12;
      lms.lineItems[0]!.results.set('u4', { userId: 'u4', resultScore: 20, resultMaximum: 20 });
      await syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'u4' }, now, userId: 'u4' });
      // The LMS goes back to exactly what the first course sync saw.
      clock = MAY_20;
      lms.lineItems[0]!.results.set('u4', { userId: 'u4', resultScore: 14, resultMaximum: 20 });
      const summary = await sync();
      expect(summary.counts.changed).to.equal(1);
      const quiz = await lineItemModel(db.connection).findOne({ courseId: course._id, label: 'Quiz 1' }).lean();
      const r = await resultModel(db.connection).findOne({ lineItemId: quiz!._id, userId: 'u4' }).lean();
      expect(r!.scoreGiven).to.equal(14);
      expect(r!.history.map((h) => h.scoreGiven)).to.deep.equal([14, 20]);
    });

    it('clears a score the LMS no longer reports for that learner, keeping it in history', async () => {
      seed();
      const { course, client, sync } = setup();
      await sync();
      clock = MAY_12;
      lms.lineItems[0]!.results.delete('u6');
      await syncLearner({ conn: db.connection, source: createAgsSource({ client, course }), course, startedBy: { userId: 'u6' }, now, userId: 'u6' });
      const quiz = await lineItemModel(db.connection).findOne({ courseId: course._id, label: 'Quiz 1' }).lean();
      const r = await resultModel(db.connection).findOne({ lineItemId: quiz!._id, userId: 'u6' }).lean();
      expect(r!.scoreGiven).to.equal(null);
      expect(r!.history).to.deep.equal([{ scoreGiven: 16, scoreMaximum: 20, from: MAY_3, to: MAY_12, source: 'ags' }]);
    });
  });

  describe('loadCourseGrades', () => {
    it('returns current line items, members and results keyed by user and line item', async () => {
      seed();
      const { course, sync } = setup();
      await sync();
      const grades = await loadCourseGrades(db.connection, course._id, { userIds: ['u2', 'u3'] });
      expect(grades.lineItems).to.have.length(2);
      expect([...grades.membersByUser.keys()].sort()).to.deep.equal(['u2', 'u3']);
      const quiz = grades.lineItems.find((li) => li.label === 'Quiz 1')!;
      expect(grades.resultsByUser.get('u3')!.get(String(quiz._id))).to.include({ scoreGiven: 13, scoreMaximum: 20 });
      expect(grades.resultsByUser.has('u4')).to.equal(false);
    });
  });
});

/**
 * Platform refusals the teacher can act on, through the sandbox LMS: the words on the teacher
 * page say what to fix, and the learner page never says grades are on their way after a failure.
 */
import { expect } from 'chai';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs, sandboxCourse, toolCourse } from '../support/e2e';

describe('Platform refusals', function () {
  this.timeout(90_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const drain = () => t.app.ctx.jobs.drain();

  describe('Chamilo with the tool placed through deep linking (AGS 500, NRPS 400)', () => {
    it('tells the teacher what it means and what to do, and tells the learner only that the newest grades could not be fetched', async () => {
      const c = sandboxCourse(t, { quirks: 'chamilo', scores: [[9, 9]] });
      t.sandbox.store.setPlacedByDeepLinking(c.course.id, true);
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      await drain();
      const course = await toolCourse(t, c);
      const run = await syncRunModel(t.db.connection).findOne({ courseId: course._id, scope: 'course', source: 'ags' }).sort({ startedAt: -1 }).lean();
      expect(run?.status).to.equal('failed');
      expect(run!.errors.map((e) => e.kind).sort()).to.deep.equal(['line_items_failed', 'roster_failed']);
      for (const e of run!.errors) expect(e.message).to.include('placed in the course through deep linking').and.include('add it again with deep linking switched off');

      const page = await teacher.browser.open(`${teacher.app}/teacher`);
      expect(page.html).to.include('data-sync-status="failed"');
      expect(page.html).to.include('add it again with deep linking switched off');

      const learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect(learner.page.html).to.include('data-refresh="failed"');
      expect(learner.page.html).to.not.include('on their way');
    });
  });
});

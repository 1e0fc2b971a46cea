/**
 * Grade sources as one concept, through the sandbox LMS: which columns an "all activities"
 * certificate counts, where each comes from, and the tool's own launcher column.
 */
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, launchAs, sandboxCourse, syncGrades, toolCourse } from '../support/e2e';

function cardItems(html: string): string[] {
  return [...html.matchAll(/<tr data-item[\s\S]*?<\/tr>/g)].map((m) => m[0]);
}

describe('Grade sources in the product', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const drain = () => t.app.ctx.jobs.drain();

  describe('GET /app/:session/learner (Moodle: the teacher gave the launching activity a grade column)', () => {
    it("never counts the tool's own launcher column, and shows each activity's source", async () => {
      const c = sandboxCourse(t, { quirks: 'moodle', scores: [[9, 8]] });
      // Moodle: "Allow the tool to add grades" ticked on the activity the tool is launched from.
      t.sandbox.store.setLinkGrades(c.course.id, c.course.resourceLinks[0]!.id, true, 100);
      await launchAs(t, c.course.id, c.teacherIds[0]!);
      await drain();
      const course = await toolCourse(t, c);
      await syncGrades(t, course);
      await defineCertificate(t, course._id);
      const { page } = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const rows = cardItems(page.html);
      expect(rows.map((r) => /Activity \d+|Certificates/.exec(r)?.[0])).to.deep.equal(['Activity 1', 'Activity 2']);
      expect(rows.every((r) => r.includes('data-source="ags"') && r.includes('>AGS</span>'))).to.equal(true);
      expect(page.html).to.include('Your score: 85%');
    });
  });

  describe('GET /app/:session/teacher/definitions/:id/edit after a new column arrived', () => {
    it('lists the new column as new since, leaves it uncounted, and counts it once the teacher accepts it', async () => {
      const c = sandboxCourse(t, { scores: [[9, 9]] });
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      await drain();
      const course = await toolCourse(t, c);
      await syncGrades(t, course);
      const def = await defineCertificate(t, course._id);
      // The teacher adds a third tool activity with a grade column; a sync brings it.
      const link = t.sandbox.store.addResourceLink(c.course.id, { title: 'Final project' });
      t.sandbox.store.setLinkGrades(c.course.id, link.id, true, 20);
      await syncGrades(t, course);

      let learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect(cardItems(learner.page.html)).to.have.length(2);
      expect(learner.page.html).to.include('Your score: 90%');

      const edit = await teacher.browser.open(`${teacher.app}/teacher/definitions/${def._id}/edit`);
      expect(edit.status).to.equal(200);
      const notice = /<div class="notice warn" id="new-columns">[\s\S]*?<\/div>/.exec(edit.html)?.[0] ?? '';
      expect(notice).to.include('Final project').and.include('name="acceptNewColumns"');
      expect(edit.html).to.match(/Final project<\/label> <span class="badge source" data-source="ags"[^>]*>AGS<\/span> <span class="badge new-since"/);

      // Accepting: the form as it was, plus the tick.
      const fields: Record<string, string> = {};
      for (const m of edit.html.matchAll(/<input[^>]*name="([^"]+)"[^>]*>/g)) {
        const tag = m[0];
        const name = m[1]!;
        if (/type="(checkbox|radio)"/.test(tag) && !/\schecked/.test(tag) && name !== 'acceptNewColumns') continue;
        fields[name] = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
      }
      for (const m of edit.html.matchAll(/<select[^>]*name="([^"]+)"[\s\S]*?<\/select>/g)) fields[m[1]!] = /<option value="([^"]*)"[^>]*selected/.exec(m[0])?.[1] ?? '';
      for (const m of edit.html.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g)) fields[m[1]!] = m[2]!;
      fields.acceptNewColumns = 'on';
      const saved = await teacher.browser.open(`${teacher.app}/teacher/definitions/${def._id}`, { form: fields });
      expect(saved.status, saved.html.slice(0, 500)).to.equal(200);
      expect(saved.url).to.match(/notice=saved$/);

      learner = await launchAs(t, c.course.id, c.learnerIds[0]!);
      expect(cardItems(learner.page.html)).to.have.length(3);
      expect(learner.page.html).to.include('not graded yet');
    });
  });
});

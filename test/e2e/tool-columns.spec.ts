/**
 * Columns of the tool's own in the LMS gradebook (AGS `lineitem` scope), through the sandbox LMS:
 * created, renamed and deleted from the teacher page, graded in the LMS, read back by a sync.
 */
import { expect } from 'chai';
import { lineItemModel } from '../../src/grades/line-item.model';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs, sandboxCourse, syncGrades, toolCourse } from '../support/e2e';

describe('Tool-owned columns: /app/:session/teacher/columns', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const drain = () => t.app.ctx.jobs.drain();

  it('creates "Final project" (max 20) in the LMS gradebook, where the teacher grades it; a sync brings the grades; rename and delete reach the LMS', async () => {
    const c = sandboxCourse(t, { quirks: 'moodle', scores: [[9]] });
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    await drain();
    const columns = `${teacher.app}/teacher/columns`;
    expect((await teacher.browser.open(columns)).html).to.include('data-no-columns');

    const created = await teacher.browser.open(columns, { form: { label: 'Final project', scoreMaximum: '20' } });
    expect(created.status).to.equal(200);
    expect(created.url).to.match(/notice=created$/);
    const inLms = t.sandbox.store.listLineItems(c.course.id).find((i) => i.label === 'Final project');
    expect(inLms).to.include({ scoreMaximum: 20, module: 'manual', clientId: t.sandbox.registration.clientId });
    expect(created.html).to.match(/<tr data-column-id="[0-9a-f]{24}">[\s\S]*value="Final project"[\s\S]*value="20"/);

    // The teacher grades it in the LMS; the next sync brings the grade.
    t.sandbox.store.setScore(c.course.id, inLms!.id, c.learnerIds[0]!, 18);
    const course = await toolCourse(t, c);
    await syncGrades(t, course);
    const stored = await lineItemModel(t.db.connection).findOne({ courseId: course._id, label: 'Final project' }).lean();
    expect(stored).to.include({ source: 'ags', ownedByTool: true, scoreMaximum: 20 });

    const columnId = /<tr data-column-id="([0-9a-f]{24})">/.exec(created.html)![1]!;
    const renamed = await teacher.browser.open(`${columns}/${columnId}`, { form: { label: 'Final project (group)', scoreMaximum: '20' } });
    expect(renamed.url).to.match(/notice=saved$/);
    expect(t.sandbox.store.getLineItem(c.course.id, inLms!.id)?.label).to.equal('Final project (group)');

    const deleted = await teacher.browser.open(`${columns}/${columnId}/delete`, { form: {} });
    expect(deleted.url).to.match(/notice=deleted$/);
    expect(t.sandbox.store.getLineItem(c.course.id, inLms!.id)).to.equal(undefined);
    expect(deleted.html).to.include('data-no-columns');
    expect((await lineItemModel(t.db.connection).findById(stored!._id).lean())?.removedAt).to.be.instanceOf(Date);
  });

  it("Chamilo: says to open the course gradebook once when Chamilo refuses with 500, and stores nothing until it works", async () => {
    const c = sandboxCourse(t, { quirks: 'chamilo', scores: [[9]] });
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    await drain();
    const columns = `${teacher.app}/teacher/columns`;
    const refused = await teacher.browser.open(columns, { form: { label: 'Final project', scoreMaximum: '20' } });
    expect(refused.status).to.equal(502);
    expect(refused.html).to.include('data-column-error').and.include('until the course gradebook has been opened once');
    // The form keeps what the teacher typed; nothing was created anywhere.
    expect(refused.html).to.include('value="Final project"');
    expect(t.sandbox.store.listLineItems(c.course.id).some((i) => i.label === 'Final project')).to.equal(false);
    expect(await lineItemModel(t.db.connection).countDocuments({ label: 'Final project', courseId: (await toolCourse(t, c))._id })).to.equal(0);

    // The teacher opens the gradebook in Chamilo once; now it works.
    await fetch(`${t.sandbox.issuer}/courses/${c.course.id}/gradebook`);
    const created = await teacher.browser.open(columns, { form: { label: 'Final project', scoreMaximum: '20' } });
    expect(created.url).to.match(/notice=created$/);
    expect(t.sandbox.store.listLineItems(c.course.id).some((i) => i.label === 'Final project')).to.equal(true);
  });
});

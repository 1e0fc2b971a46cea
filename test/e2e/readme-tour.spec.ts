/**
 * The README's five-minute tour, through the routes a real platform offers: the demo course's
 * ten activities are quizzes and assignments of the sandbox Moodle's gradebook, which the tool
 * does not see over AGS; they arrive through Moodle's own gradebook export.
 */
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, launchAs, toolCourse } from '../support/e2e';
import type { Launched } from '../support/e2e';

describe('README tour: Digital Literacy (Moodle) through the gradebook export', function () {
  this.timeout(90_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  async function exportFromSandbox(courseId: string): Promise<Buffer> {
    const res = await fetch(`${t.sandbox.issuer}/courses/${courseId}/gradebook/export?format=moodle&display=real,percentage`);
    expect(res.status).to.equal(200);
    return Buffer.from(await res.arrayBuffer());
  }

  async function importFile(teacher: Launched, file: Buffer): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file)], { type: 'text/csv' }), 'DIGLIT-MOODLE Grades.csv');
    const up = await fetch(`${teacher.app}/teacher/grades/import`, { method: 'POST', body: form, redirect: 'manual' });
    expect(up.status, await up.clone().text()).to.equal(303);
    const previewUrl = new URL(up.headers.get('location')!, teacher.app).toString();
    const preview = await teacher.browser.open(previewUrl);
    expect(preview.html).to.include('data-format="moodle"');
    expect(preview.html).to.not.match(/data-action="apply" disabled/);
    const applied = await teacher.browser.request(`${previewUrl}/apply`, { method: 'POST', form: {} });
    expect(applied.status).to.equal(303);
    return preview.html;
  }

  it("Bilbo's 85% with one activity not graded, then 95% after a regrade, with every grade from Moodle's export", async () => {
    const demo = t.sandbox.demo!;
    const courseId = demo.courseIds.moodle;
    const gandalf = await launchAs(t, courseId, demo.gandalf.id);
    await t.app.ctx.jobs.drain();
    const course = await toolCourse(t, { course: t.sandbox.store.getCourse(courseId)!, teacherIds: [], learnerIds: [], lineItemIds: [] });

    // Over AGS the tool sees none of the ten activities, as in a real Moodle.
    const before = await launchAs(t, courseId, demo.bilbo.id);
    expect(before.page.html).to.not.include('Activity 1');

    const preview = await importFile(gandalf, await exportFromSandbox(courseId));
    // Maxima from the Percentage columns, learners by e-mail.
    expect(preview).to.include('data-maximum-from="derived"');
    await defineCertificate(t, course._id);

    let bilbo = await launchAs(t, courseId, demo.bilbo.id);
    const rows = [...bilbo.page.html.matchAll(/<tr data-item[\s\S]*?<\/tr>/g)].map((m) => m[0]);
    expect(rows).to.have.length(10);
    expect(rows.every((r) => r.includes('data-source="csv"'))).to.equal(true);
    // Bilbo's locale is nl-NL: the page is in Dutch.
    expect(bilbo.page.html).to.include('85%').and.include('Nog 1 van de 10 activiteiten niet beoordeeld');

    // The teacher grades Activity 10 in the LMS and imports the new export.
    const activity10 = t.sandbox.store.listLineItems(courseId).find((i) => i.label === 'Activity 10')!;
    t.sandbox.store.setScore(courseId, activity10.id, demo.bilbo.id, 10);
    await importFile(gandalf, await exportFromSandbox(courseId));
    bilbo = await launchAs(t, courseId, demo.bilbo.id);
    expect(bilbo.page.html).to.include('95%');
    expect(bilbo.page.html).to.include('data-claim');
  });
});

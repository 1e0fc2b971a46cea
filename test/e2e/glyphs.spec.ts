/**
 * The glyph check: a character that no font of the design has (it would print as an empty box)
 * is named to the teacher — on the preview instead of "prints correctly", for the shown texts and
 * for the names of the course's learners — and on the issue path: the learner's claim still
 * issues the certificate, and the teacher reads which characters in the audit log and on the
 * certificate's page. Names in the scripts we ship fonts for raise nothing.
 */
import { expect } from 'chai';
import type { DefinitionDoc } from '../../src/certificates/definition.model';
import type { CourseDoc } from '../../src/courses/course.model';
import { issueModel } from '../../src/certificates/issue.model';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, launchAs, sandboxCourse, syncGrades, toolCourse, type Launched } from '../support/e2e';
import { all, maybe, parseHtml } from '../support/html';

const FULL = [10, 10, 10];

describe('The glyph check: characters no font has are named, and the certificate still issues', function () {
  this.timeout(120_000);
  let t: TestApp;
  let c: ReturnType<typeof sandboxCourse>;
  let course: CourseDoc;
  let teacher: Launched;
  let definition: DefinitionDoc;
  const subject = (i: number) => t.sandbox.store.subjectOf(c.course, t.sandbox.store.getUser(c.learnerIds[i]!)!);

  before(async () => {
    t = await startTestApp();
    c = sandboxCourse(t, { scores: [FULL, FULL, FULL], title: 'Ornithology' });
    t.sandbox.store.getUser(c.learnerIds[0]!)!.name = 'Ana 🦩 Lima';
    t.sandbox.store.getUser(c.learnerIds[1]!)!.name = '王小明 محمد';
    t.sandbox.store.getUser(c.learnerIds[2]!)!.name = 'Zoë Ñúñez';
    teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    course = await toolCourse(t, c);
    await syncGrades(t, course);
    definition = await defineCertificate(t, course._id, { title: 'Bird Certificate', requireAllGraded: false });
  });

  it('the preview names the learner whose name has a character no font has, instead of "prints correctly"', async () => {
    const page = await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${definition._id}`);
    expect(page.status).to.equal(200);
    const doc = parseHtml(page.html);
    expect(maybe(doc, '[data-preview-ok]')).to.equal(null);
    const notice = maybe(doc, '[data-preview-glyphs]')!;
    expect(notice.textContent).to.include('Some characters cannot be printed');
    const flagged = all(doc, '[data-glyph-learner]');
    expect(flagged.map((li) => li.getAttribute('data-glyph-learner'))).to.deep.equal([subject(0)]);
    expect(flagged[0]!.textContent).to.include('Ana 🦩 Lima: 🦩 (U+1F9A9)');
    // The sample data itself prints.
    expect(all(doc, '[data-glyph-field]')).to.have.length(0);
  });

  it('the preview names the field of the shown certificate: the learner name, or a title with a private-use character', async () => {
    const asAna = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${definition._id}&learner=${encodeURIComponent(subject(0))}`)).html);
    expect(all(asAna, '[data-glyph-field]').map((li) => [li.getAttribute('data-glyph-field'), li.textContent])).to.deep.equal([['learnerName', "Learner's name: 🦩 (U+1F9A9)"]]);
    const odd = await defineCertificate(t, course._id, { title: 'Award \u{10FFFD}', requireAllGraded: false });
    const page = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/templates/preview?definitionId=${odd._id}&learner=${encodeURIComponent(subject(1))}`)).html);
    expect(all(page, '[data-glyph-field]').map((li) => li.textContent)).to.deep.equal(['Title: \u{10FFFD} (U+10FFFD)']);
  });

  it('a learner whose name has one claims and gets the certificate; the teacher reads which character in the audit log and on its page', async () => {
    const ana = await launchAs(t, c.course.id, c.learnerIds[0]!);
    const res = await ana.browser.request(`${ana.app}/learner/claim`, { form: { definitionId: String(definition._id) } });
    expect(res.status).to.equal(303);
    const issued = await issueModel(t.db.connection).findOne({ courseId: course._id, userId: subject(0) }).lean();
    expect(issued?.learnerName).to.equal('Ana 🦩 Lima');
    const learnerPage = parseHtml((await ana.browser.open(new URL(res.headers.get('location')!, ana.app).toString())).html);
    expect(maybe(learnerPage, '[data-status="active"]')).not.to.equal(null);
    expect(maybe(learnerPage, '[data-missing-glyphs]'), 'the learner is not shown the teacher note').to.equal(null);

    const audit = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/audit`)).html);
    const notes = all(audit, '[data-audit-note]').map((n) => n.textContent);
    expect(notes).to.deep.equal(['Printed without these characters, which no font has: 🦩 (U+1F9A9)']);
    const certificatePage = parseHtml((await teacher.browser.open(`${teacher.app}/certificates/${issued!._id}`)).html);
    expect(maybe(certificatePage, '[data-missing-glyphs]')?.textContent).to.include('🦩 (U+1F9A9)');

    // A name in Chinese and Arabic prints: its claim leaves no note.
    const ming = await launchAs(t, c.course.id, c.learnerIds[1]!);
    expect((await ming.browser.request(`${ming.app}/learner/claim`, { form: { definitionId: String(definition._id) } })).status).to.equal(303);
    const again = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/audit`)).html);
    expect(all(again, '[data-audit-note]')).to.have.length(1);
  });
});

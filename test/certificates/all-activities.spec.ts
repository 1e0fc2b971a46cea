import { expect } from 'chai';
import { readCourseGrades, learnerGrades } from '../../src/certificates/course-grades';
import { createDefinition, getDefinition, updateDefinition } from '../../src/certificates/definition.service';
import { evaluateEligibility, newSinceDefinition } from '../../src/certificates/evaluate';
import { recordToolLink } from '../../src/grades/tool-link.service';
import { buildLineItem, buildResult, seedCourse, T0, teacher } from '../support/builders';
import { useTestDatabase } from '../support/db';

const base = { title: 'Pass', issuerName: 'Academy', thresholdPercent: 80 };

describe('"All activities": which columns a certificate counts', () => {
  const db = useTestDatabase();
  const conn = () => db.connection;

  async function evaluate(courseId: Parameters<typeof readCourseGrades>[1], definitionId: string, userId: string) {
    const d = await getDefinition(conn(), courseId, definitionId);
    const book = await readCourseGrades(conn(), courseId);
    return { d, book, e: evaluateEligibility(d, learnerGrades(book, userId)) };
  }

  it('does not widen when a source brings a new column: it is listed as new since, and counts once the teacher accepts it', async () => {
    const course = await seedCourse(conn(), { scores: [[9, 9]] });
    const user = course.userIds[0]!;
    const def = await createDefinition(conn(), { courseId: course.courseId, input: base, by: teacher, now: T0, publicAllowed: false });
    // A Moodle web-service sync brings a quiz the learner has not taken.
    const quiz = await buildLineItem(conn(), { courseId: course.courseId, source: 'moodle', externalId: 'moodle:item:7', label: 'Quiz 3', scoreMaximum: 10 });
    let { d, book, e } = await evaluate(course.courseId, String(def._id), user);
    expect(e.items.map((i) => i.label)).to.deep.equal(['Activity 1', 'Activity 2']);
    expect(e.eligible).to.equal(true);
    expect(newSinceDefinition(d.items, book.lineItems).map((li) => li.label)).to.deep.equal(['Quiz 3']);

    // An edit that does not accept them keeps the remembered set.
    await updateDefinition(conn(), { courseId: course.courseId, definitionId: String(def._id), input: { ...base, thresholdPercent: 70 }, by: teacher, now: T0, publicAllowed: false });
    ({ e } = await evaluate(course.courseId, String(def._id), user));
    expect(e.items).to.have.length(2);

    await updateDefinition(conn(), { courseId: course.courseId, definitionId: String(def._id), input: { ...base, thresholdPercent: 70 }, by: teacher, now: T0, publicAllowed: false, acceptNewColumns: true });
    ({ d, book, e } = await evaluate(course.courseId, String(def._id), user));
    expect(e.items.map((i) => [i.label, i.sourceLabel])).to.deep.equal([['Activity 1', 'AGS'], ['Activity 2', 'AGS'], ['Quiz 3', 'Moodle']]);
    expect(e.eligible, 'the ungraded quiz now holds the learner back').to.equal(false);
    expect(newSinceDefinition(d.items, book.lineItems)).to.deep.equal([]);
    void quiz;
  });

  it("never counts the tool's own launcher column, whichever source brings it", async () => {
    const course = await seedCourse(conn(), { scores: [[9, 9]] });
    const user = course.userIds[0]!;
    const launcher = await buildLineItem(conn(), { courseId: course.courseId, source: 'ags', externalId: 'https://lms/lineitems/99', label: 'Certificates', scoreMaximum: 100, resourceLinkId: 'rl-1' });
    await buildResult(conn(), { courseId: course.courseId, lineItemId: launcher._id, userId: user, scoreGiven: null, scoreMaximum: 100 });
    await recordToolLink(conn(), course.courseId, 'rl-1', T0);
    const def = await createDefinition(conn(), { courseId: course.courseId, input: base, by: teacher, now: T0, publicAllowed: false });
    expect(def.items).to.deep.equal({ mode: 'all', known: course.lineItemIds });
    const { e } = await evaluate(course.courseId, String(def._id), user);
    expect(e.items.map((i) => i.label)).to.deep.equal(['Activity 1', 'Activity 2']);
    expect(e.eligible).to.equal(true);
  });

  it("counts an activity reached two ways once: Moodle's 'External tool: X (Real)' CSV column and the AGS line item X", async () => {
    const course = await seedCourse(conn(), { scores: [[9]] });
    const user = course.userIds[0]!;
    const ags = await buildLineItem(conn(), { courseId: course.courseId, source: 'ags', externalId: 'https://lms/lineitems/5', label: 'Final project (tool)', scoreMaximum: 20, resourceLinkId: 'rl-5' });
    const csv = await buildLineItem(conn(), { courseId: course.courseId, source: 'csv', externalId: 'moodle:External tool: Final project (tool)', label: 'External tool: Final project (tool) (Real)', scoreMaximum: 20 });
    await buildResult(conn(), { courseId: course.courseId, lineItemId: ags._id, userId: user, scoreGiven: 18, scoreMaximum: 20 });
    await buildResult(conn(), { courseId: course.courseId, lineItemId: csv._id, userId: user, scoreGiven: 18, scoreMaximum: 20 });
    const def = await createDefinition(conn(), { courseId: course.courseId, input: base, by: teacher, now: T0, publicAllowed: false });
    const { e } = await evaluate(course.courseId, String(def._id), user);
    expect(e.items.map((i) => [i.label, i.source])).to.deep.equal([['Activity 1', 'ags'], ['Final project (tool)', 'ags']]);
  });
});

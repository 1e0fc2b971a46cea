import { expect } from 'chai';
import { BILBO_SCORES, SandboxStore } from '../../src/sandbox/sandbox';
import { seedDemoCourses } from '../../src/sandbox/demo-seed';

describe('sandbox LMS: the store and the demo seed', () => {
  describe('the demo story', () => {
    const store = new SandboxStore(() => new Date('2026-01-01T00:00:00Z'));
    const cast = seedDemoCourses(store);

    it('tells it three times, once per platform, with ten activities out of 10', () => {
      expect(store.listCourses().map((c) => [c.title, c.quirks])).to.deep.equal([
        ['Digital Literacy (Moodle)', 'moodle'],
        ['Digital Literacy (Canvas)', 'canvas'],
        ['Digital Literacy (Chamilo)', 'chamilo'],
      ]);
      for (const course of store.listCourses()) {
        const activities = store.listLineItems(course.id).filter((i) => i.module !== 'lti');
        expect(activities.map((i) => [i.label, i.scoreMaximum, i.module])).to.deep.equal(Array.from({ length: 10 }, (_, i) => [`Activity ${i + 1}`, 10, i % 2 === 0 ? 'quiz' : 'assign']));
        // Chamilo adds its own "Certificates" evaluation for the tool (plugin/ims_lti configure.php).
        expect(store.listLineItems(course.id).filter((i) => i.module === 'lti').map((i) => i.label)).to.deep.equal(course.quirks === 'chamilo' ? ['Certificates'] : []);
      }
    });

    it('gives Bilbo (nl-NL) 85% after nine activities and 95% once activity 10 is graded 10/10', () => {
      expect(store.findUserByName('Bilbo Baggins')).to.equal(cast.bilbo);
      expect(cast.bilbo.locale).to.equal('nl-NL');
      const courseId = cast.courseIds.moodle;
      const items = store.listLineItems(courseId);
      expect(items.map((i) => store.getResult(courseId, i.id, cast.bilbo.id)?.scoreGiven ?? null)).to.deep.equal([...BILBO_SCORES]);
      expect(store.courseGrade(courseId, cast.bilbo.id).percent).to.equal(85);
      store.setScore(courseId, items[9].id, cast.bilbo.id, 10);
      expect(store.courseGrade(courseId, cast.bilbo.id).percent).to.equal(95);
      expect(store.courseGrade(cast.courseIds.canvas, cast.bilbo.id).percent, 'other courses untouched').to.equal(85);
    });

    it('has stable ids: Bilbo 101, Gandalf 102, Elrond 103, the Mentor 104; courses 2, 3, 4', () => {
      expect([cast.bilbo.id, cast.gandalf.id, cast.elrond.id, cast.mentor.id]).to.deep.equal(['101', '102', '103', '104']);
      expect(cast.courseIds).to.deep.equal({ moodle: '2', canvas: '3', chamilo: '4' });
      const again = seedDemoCourses(new SandboxStore());
      expect(again.bilbo.ltiId).to.equal(cast.bilbo.ltiId);
    });

    it('has 30 other learners: some complete above 80%, some below, some with missing grades, one inactive', () => {
      const courseId = cast.courseIds.chamilo;
      const items = store.listLineItems(courseId).filter((i) => i.module !== 'lti');
      const rows = cast.learners.map((l) => ({
        percent: store.courseGrade(courseId, l.id).percent,
        complete: items.every((i) => store.getResult(courseId, i.id, l.id)),
        status: store.getMembership(courseId, l.id)!.status,
      }));
      expect(rows).to.have.length(30);
      expect(rows.filter((r) => r.complete && r.percent >= 80 && r.status === 'Active').length).to.be.at.least(5);
      expect(rows.filter((r) => r.complete && r.percent < 80).length).to.be.at.least(5);
      expect(rows.filter((r) => !r.complete).length).to.be.at.least(5);
      expect(rows.filter((r) => r.status === 'Inactive')).to.have.length(1);
      expect(rows.some((r) => r.percent === 80), 'someone exactly at the threshold').to.equal(true);
    });

    it('gives Gandalf Instructor, Elrond TeachingAssistant and Radagast only Mentor', () => {
      const roles = (id: string) => store.getMembership(cast.courseIds.moodle, id)!.roles;
      expect(roles(cast.gandalf.id)).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor']);
      expect(roles(cast.elrond.id)).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant']);
      expect(roles(cast.mentor.id)).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor']);
    });
  });

  describe('createCourse', () => {
    it('builds 5,000 learners × 20 items (100,000 results) well under a second', () => {
      const store = new SandboxStore();
      const started = performance.now();
      const { course, learnerIds, lineItemIds } = store.createCourse({ title: 'Huge', quirks: 'canvas', learners: 5000, items: 20, score: (l, i) => (l + i) % 11 });
      const elapsed = performance.now() - started;
      expect(learnerIds).to.have.length(5000);
      expect(lineItemIds).to.have.length(20);
      expect(lineItemIds.reduce((n, id) => n + store.listResults(course.id, id).length, 0)).to.equal(100_000);
      // Typically 70–150 ms; the bound leaves room for a loaded CI machine (the full suite runs in parallel with builds).
      expect(elapsed, `took ${elapsed.toFixed(0)} ms`).to.be.below(1000);
    });

    it('uses the score function, with null for ungraded', () => {
      const store = new SandboxStore();
      const { course, learnerIds, lineItemIds } = store.createCourse({ title: 'Small', quirks: 'moodle', learners: 2, items: 2, score: (l, i) => (l === 1 && i === 1 ? null : l * 10 + i) });
      expect(store.getResult(course.id, lineItemIds[1], learnerIds[0])?.scoreGiven).to.equal(1);
      expect(store.getResult(course.id, lineItemIds[1], learnerIds[1])).to.equal(undefined);
      store.setScore(course.id, lineItemIds[0], learnerIds[1], null);
      expect(store.getResult(course.id, lineItemIds[0], learnerIds[1])).to.equal(undefined);
    });
  });
});

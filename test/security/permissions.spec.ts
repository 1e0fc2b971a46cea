import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import { memberModel } from '../../src/grades/member.model';
import { teachingRolesOf } from '../../src/grades/teaching-roles.service';
import { can, ACTIONS } from '../../src/lti/permissions';
import { ROLE } from '../../src/sandbox/lti-vocabulary';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, issueFor, launchAs, sandboxCourse, subjectOf, syncGrades, toolCourse, type Launched } from '../support/e2e';

const MOODLE_ADMIN = 'urn:lti:sysrole:ims/lis/Administrator';

describe('Permissions by role', function () {
  this.timeout(60_000);

  describe('can(roles, action)', () => {
    const allowed = (roles: string[]) => ACTIONS.filter((a) => can(roles, a));

    it('Instructor and Administrator may do everything (a Moodle non-editing teacher is an Instructor too)', () => {
      expect(allowed([ROLE.instructor])).to.deep.equal([...ACTIONS]);
      expect(allowed(['Instructor'])).to.deep.equal([...ACTIONS]); // Moodle lti_get_ims_role(), LTI 1.1 style
      expect(allowed([ROLE.administrator])).to.deep.equal([...ACTIONS]);
      expect(allowed(['Learner', MOODLE_ADMIN])).to.deep.equal([...ACTIONS]);
    });

    it('a TeachingAssistant may view, issue, re-issue and delete one, but not delete all, change definitions or connect gradebooks', () => {
      for (const roles of [[ROLE.teachingAssistant], [ROLE.instructor, ROLE.teachingAssistant], ['TeachingAssistant'], ['urn:lti:role:ims/lis/TeachingAssistant']]) {
        expect(allowed(roles), roles.join(' ')).to.deep.equal(['view', 'issue', 'reissue', 'revoke']);
      }
    });

    it('a ContentDeveloper may view and change definitions only; Mentor and Learner nothing', () => {
      expect(allowed([ROLE.contentDeveloper])).to.deep.equal(['view', 'editDefinitions']);
      expect(allowed([ROLE.mentor])).to.deep.equal([]);
      expect(allowed([ROLE.learner, ROLE.institutionInstructor])).to.deep.equal([]);
      expect(allowed([])).to.deep.equal([]);
    });
  });

  describe('POST /teacher/definitions/:id/delete-all', () => {
    let t: TestApp;
    let instructor: Launched;
    let ta: Launched;
    let designer: Launched;
    let definitionId: string;
    let courseId: import('mongoose').Types.ObjectId;

    before(async () => {
      t = await startTestApp();
      const c = sandboxCourse(t, { scores: [[10], [10]], title: 'Who May Delete' });
      const store = t.sandbox.store;
      const taUser = store.addUser({ givenName: 'Tessa', familyName: 'Assist' });
      store.enrol(c.course.id, taUser.id, [ROLE.teachingAssistant]);
      const designerUser = store.addUser({ givenName: 'Dana', familyName: 'Designer' });
      store.enrol(c.course.id, designerUser.id, [ROLE.contentDeveloper]);
      instructor = await launchAs(t, c.course.id, c.teacherIds[0]!);
      ta = await launchAs(t, c.course.id, taUser.id);
      designer = await launchAs(t, c.course.id, designerUser.id);
      const course = await toolCourse(t, c);
      courseId = course._id;
      await syncGrades(t, course);
      const def = await defineCertificate(t, course._id, { title: 'Deletion Certificate' });
      definitionId = String(def._id);
      for (const id of c.learnerIds) await issueFor(t, course._id, def, { userId: subjectOf(t, c, id), name: t.sandbox.store.getUser(id)!.name });
    });

    const active = () => issueModel(t.db.connection).countDocuments({ courseId, status: 'active' });
    const deleteAll = (l: Launched) => l.browser.request(`${l.app}/teacher/definitions/${definitionId}/delete-all`, { form: { reason: 'end of term' } });

    it('refuses a TeachingAssistant (403, saying why) and deletes nothing', async () => {
      expect((await ta.browser.open(`${ta.app}/teacher`)).status).to.equal(200);
      const res = await deleteAll(ta);
      expect(res.status).to.equal(403);
      expect(await res.text()).to.include('deleting all certificates at once is for instructors and administrators');
      expect((await ta.browser.open(`${ta.app}/teacher/definitions/${definitionId}/delete-all`)).status).to.equal(403);
      expect(await active()).to.equal(2);
    });

    it('refuses a ContentDeveloper, who may still change the definition', async () => {
      expect((await deleteAll(designer)).status).to.equal(403);
      expect((await designer.browser.open(`${designer.app}/teacher/definitions/${definitionId}/edit`)).status).to.equal(200);
      expect(await active()).to.equal(2);
    });

    it('lets the Instructor delete all', async () => {
      const res = await deleteAll(instructor);
      expect(res.status).to.equal(303);
      expect(await active()).to.equal(0);
    });
  });
  describe('a Moodle non-editing teacher (Instructor at launch, Learner in the roster)', () => {
    let t: TestApp;
    let nora: Launched;
    let editing: Launched;
    let definitionId: string;
    let courseId: import('mongoose').Types.ObjectId;

    before(async () => {
      t = await startTestApp();
      const c = sandboxCourse(t, { scores: [[10], [10]], title: 'Non-editing', quirks: 'moodle' });
      const noraUser = t.sandbox.store.addUser({ givenName: 'Nora', familyName: 'Nonediting' });
      t.sandbox.store.enrol(c.course.id, noraUser.id, [ROLE.instructor]);
      editing = await launchAs(t, c.course.id, c.teacherIds[0]!);
      nora = await launchAs(t, c.course.id, noraUser.id);
      const course = await toolCourse(t, c);
      courseId = course._id;
      await syncGrades(t, course);
      // What a real Moodle 4.5.6's memberships service says of a non-editing teacher (its NRPS asks
      // for moodle/course:manageactivities): Learner. The sandbox lists everyone as they launch.
      await memberModel(t.db.connection).updateOne({ courseId, userId: subjectOf(t, c, noraUser.id) }, { $set: { roles: [ROLE.learner] } });
      const def = await defineCertificate(t, course._id, { title: 'Non-editing Certificate' });
      definitionId = String(def._id);
      for (const id of c.learnerIds) await issueFor(t, course._id, def, { userId: subjectOf(t, c, id), name: t.sandbox.store.getUser(id)!.name });
    });

    const active = () => issueModel(t.db.connection).countDocuments({ courseId, status: 'active' });
    const deleteAll = (l: Launched) => l.browser.request(`${l.app}/teacher/definitions/${definitionId}/delete-all`, { form: { reason: 'end of term' } });

    it('may view the teacher page but not delete all, as a TeachingAssistant', async () => {
      expect((await nora.browser.open(`${nora.app}/teacher`)).status).to.equal(200);
      const res = await deleteAll(nora);
      expect(res.status).to.equal(403);
      expect(await res.text()).to.include('deleting all certificates at once is for instructors and administrators');
      expect(await active()).to.equal(2);
    });

    it('leaves the editing teacher (Instructor in the roster too) every right', async () => {
      expect((await deleteAll(editing)).status).to.equal(303);
      expect(await active()).to.equal(0);
    });

    it('narrows only Moodle launches whose roster entry says Learner', async () => {
      const base = { courseId: String(courseId), user: { id: 'nobody-known' }, roles: [ROLE.instructor] };
      expect(await teachingRolesOf(t.db.connection, { ...base, platformFamily: 'moodle' })).to.deep.equal([ROLE.instructor]);
      expect(await teachingRolesOf(t.db.connection, { ...base, platformFamily: 'canvas' })).to.deep.equal([ROLE.instructor]);
    });
  });
});

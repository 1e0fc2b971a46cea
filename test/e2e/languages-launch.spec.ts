/**
 * Inside a launch, what the tool itself writes reads in the launch's language (Dutch here): the
 * refusal of a withdrawn certificate's PDF, the grade columns the tool names itself (Canvas's
 * course scores and assignment groups) on the teacher's form, the learner's table and both their
 * reasons, and the text of the link deep linking places in the LMS. Real launches of sandbox
 * users whose LMS language is Dutch, real HTTP, the grades from a real Canvas REST sync.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Types } from 'mongoose';
import { courseModel } from '../../src/courses/course.model';
import { canvasKeyModel } from '../../src/grades/canvas/canvas.model';
import { lineItemModel } from '../../src/grades/line-item.model';
import type { CreatedCourse } from '../../src/sandbox/sandbox';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser, sessionOf } from '../support/browser';
import { defineCertificate, definitionFormFields, launchAs, sandboxCourse, toolCourse } from '../support/e2e';
import { all, cells, form, parseHtml, text } from '../support/html';

const DL_CONTENT_ITEMS = 'https://purl.imsglobal.org/spec/lti-dl/claim/content_items';

describe('Pages inside a launch in the launch language', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  const dutch = (userId: string) => {
    t.sandbox.store.getUser(userId)!.locale = 'nl-NL';
  };

  it("refuses a withdrawn certificate's PDF to a Dutch learner in Dutch (409), and sends no PDF", async () => {
    const c = sandboxCourse(t, { scores: [[10, 10]] });
    const [learnerId] = c.learnerIds as [string];
    dutch(learnerId);
    const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
    const definition = await defineCertificate(t, (await toolCourse(t, c))._id as Types.ObjectId);
    const learner = await launchAs(t, c.course.id, learnerId);
    const claimed = await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(definition._id) } });
    expect(claimed.status).to.equal(303);
    const id = claimed.headers.get('location')!.split('/').pop()!;
    const revoked = await teacher.browser.request(`${teacher.app}/teacher/certificates/${id}/delete`, { form: { reason: 'Issued by mistake' } });
    expect(revoked.status).to.equal(303);

    const res = await learner.browser.request(`${learner.app}/certificates/${id}.pdf`);
    expect(res.status).to.equal(409);
    expect(res.headers.get('content-type')).to.match(/^text\/html/);
    const page = await res.text();
    expect(page).to.match(/<html lang="nl">/);
    expect(text(parseHtml(page), 'main')).to.include('Dit certificaat is vervangen of ingetrokken, dus er is geen PDF van.').and.not.include('This certificate');
  });

});

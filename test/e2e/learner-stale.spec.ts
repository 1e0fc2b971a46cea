/**
 * A learner whose certificate no longer says what their grades say (stale) reads which grades
 * changed since it was issued, in their language, as the teacher does (#15): through a real launch
 * from the sandbox LMS, the grades changed in the LMS afterwards.
 */
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/app';
import { defineCertificate, issueFor, launchAs, sandboxCourse, subjectOf, toolCourse } from '../support/e2e';
import { one, parseHtml, text } from '../support/html';

describe('The learner page of a stale certificate', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  /** A course whose first learner holds a certificate issued on these scores (out of 10 each). */
  async function holder(scores: number[]) {
    const c = sandboxCourse(t, { scores: [scores] });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    await t.app.ctx.jobs.drain(); // the grades the teacher's launch syncs
    const course = await toolCourse(t, c);
    const def = await defineCertificate(t, course._id);
    const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
    const cert = await issueFor(t, course._id, def, { userId: subjectOf(t, c, learner.id), name: learner.name });
    const setScore = (activity: number, score: number) => t.sandbox.store.setScore(c.course.id, c.lineItemIds[activity]!, learner.id, score);
    const staleNotice = async (locale?: string) => {
      if (locale) learner.locale = locale;
      const doc = parseHtml((await launchAs(t, c.course.id, learner.id)).page.html);
      return text(one(doc, `section[data-definition-id="${String(def._id)}"]`), '[data-stale]');
    };
    return { cert, setScore, staleNotice };
  }

  it('names the columns whose grades changed when the score stayed the same', async () => {
    const h = await holder([10, 8, 6]);
    // 80% before and after: Activity 1 down, Activity 3 up.
    h.setScore(0, 6);
    h.setScore(2, 10);
    expect(await h.staleNotice()).to.equal(
      'These grades changed after this certificate was issued: “Activity 1” and “Activity 3”. Your teacher can re-issue it with the current grades.',
    );
  });

  it('names the changed columns beside the old and new score, in Dutch for a Dutch learner', async () => {
    const h = await holder([10, 8, 6]);
    h.setScore(1, 10);
    expect(await h.staleNotice('nl-NL')).to.equal(
      'Deze cijfers zijn veranderd nadat dit certificaat is uitgegeven: “Activity 2”. Er staat 80% op, je score is nu 86,6%. Je docent kan het opnieuw uitgeven met de nieuwe score.',
    );
  });

  it('names three columns and counts the others, in French, German and Spanish', async () => {
    const h = await holder([10, 9, 8, 7, 6]);
    // the same 80%: four grades moved
    h.setScore(0, 9);
    h.setScore(1, 10);
    h.setScore(2, 7);
    h.setScore(3, 8);
    // (French spaces before ':' and inside « » are no-break spaces; the page text reads them as spaces)
    expect(await h.staleNotice('fr-FR')).to.match(/^Ces notes ont changé après la délivrance de ce certificat\s: «\sActivity 1\s», «\sActivity 2\s», «\sActivity 3\s» et 1 autre\. Votre enseignant/);
    expect(await h.staleNotice('de-DE')).to.match(/^Diese Bewertungen haben sich nach der Ausstellung dieses Zertifikats geändert: „Activity 1“, „Activity 2“, „Activity 3“ und 1 weitere\. Ihre Lehrkraft/);
    expect(await h.staleNotice('es-ES')).to.match(/^Estas calificaciones cambiaron después de expedir este certificado: «Activity 1», «Activity 2», «Activity 3» y 1 más\. Su profesor/);
  });
});

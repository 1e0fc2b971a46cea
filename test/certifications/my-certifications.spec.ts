/**
 * "My certifications" (R10), from a course launch: every certification and course certificate
 * that concerns the learner on this platform, pending first, sorted by relevance or publication
 * date, each pending one saying what is left with a "start" link into the LMS.
 */
import { expect } from 'chai';
import { certificationModel } from '../../src/certifications/certification.model';
import { registerProofStatus } from '../../src/certifications/my-certifications.service';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs } from '../support/e2e';
import { all, attr, parseHtml, text } from '../support/html';
import { adminLaunch, buildWorld, programmeForm, type World } from './world';

describe('GET /app/:session/certifications (My certifications, R10)', function () {
  this.timeout(60_000);
  let t: TestApp;
  let w: World;
  const ids: Record<string, string> = {};

  before(async () => {
    t = await startTestApp();
    w = await buildWorld(t, 3);
    const { browser, app } = await adminLaunch(t, w);
    const define = async (key: string, form: Record<string, string | string[]>) => {
      const res = await browser.request(`${app}/certifications/manage`, { form });
      expect(res.status).to.equal(303);
      ids[key] = String((await certificationModel(t.db.connection).findOne({ name: form.name }).sort({ _id: -1 }).lean())!._id);
    };
    const tag = Date.now();
    await define('all3', programmeForm(w.courses, { name: `All three ${tag}` }));
    await define('first', programmeForm(w.courses.slice(0, 1), { name: `First only ${tag}` }));
    await define('external', { name: `First aid ${tag}`, overview: '', issuerName: 'Red Cross', kind: 'external', type: 'recurring', validForMonths: '24', assignEveryone: 'on' });
    // the learner completes the first course
    const l = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
    expect((await l.browser.request(`${l.app}/learner/claim`, { form: { definitionId: String(w.courses[0]!.definition._id) } })).status).to.equal(303);
  });

  const order = (html: string) => all(parseHtml(html), 'li[data-entry]').map((li) => [li.getAttribute('data-entry'), li.getAttribute('data-id'), li.getAttribute('data-state')]);
  const def = (i: number) => String(w.courses[i]!.definition._id);

  it('is linked from the learner page of any course', async () => {
    const { page, session } = await launchAs(t, w.courses[2]!.sandboxId, w.learnerId);
    expect(attr(page.html, '[data-my-certifications]', 'href')).to.equal(`/app/${session}/certifications`);
  });

  it('lists pending ones first, by relevance: the fewest courses left first, then what is held', async () => {
    const { browser, app } = await launchAs(t, w.courses[1]!.sandboxId, w.learnerId);
    const page = await browser.open(`${app}/certifications`);
    expect(page.status).to.equal(200);
    expect(order(page.html)).to.deep.equal([
      ['certification', ids.external, 'pending'],
      ['course-certificate', def(2), 'pending'],
      ['course-certificate', def(1), 'pending'],
      ['certification', ids.all3, 'pending'],
      ['certification', ids.first, 'earned'],
      ['course-certificate', def(0), 'earned'],
    ]);
  });

  it('sorts by publication date on request, pending still first', async () => {
    const { browser, app } = await launchAs(t, w.courses[1]!.sandboxId, w.learnerId);
    const page = await browser.open(`${app}/certifications?sort=published`);
    expect(order(page.html)).to.deep.equal([
      ['certification', ids.external, 'pending'],
      ['certification', ids.all3, 'pending'],
      ['course-certificate', def(2), 'pending'],
      ['course-certificate', def(1), 'pending'],
      ['certification', ids.first, 'earned'],
      ['course-certificate', def(0), 'earned'],
    ]);
    expect(text(parseHtml(page.html), '[data-sort] [aria-current]')).to.equal('publication date');
  });

  it('says what is left of a programme, with a "start" link to each course in the LMS', async () => {
    const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
    const doc = parseHtml((await browser.open(`${app}/certifications`)).html);
    const entry = all(doc, 'li[data-entry]').find((li) => li.getAttribute('data-id') === ids.all3)!;
    expect(text(entry, '[data-left] p')).to.equal('2 more courses to complete (of 3 needed):');
    const left = all(entry, '[data-left] li');
    expect(left.map((li) => li.getAttribute('data-course-id'))).to.deep.equal([String(w.courses[1]!.tool._id), String(w.courses[2]!.tool._id)]);
    // the course's own page on the platform (launch_presentation.return_url of its launches)
    const href = attr(left[0]!, '[data-start]', 'href')!;
    expect(href.startsWith(t.sandbox.issuer)).to.equal(true);
    expect(href).to.contain(w.courses[1]!.sandboxId);
    expect((await fetch(href)).status).to.equal(200);
    // an external one offers the upload form
    const external = all(doc, 'li[data-entry]').find((li) => li.getAttribute('data-id') === ids.external)!;
    expect(attr(external, '[data-start]', 'href')).to.equal(`${app.replace(t.baseUrl, '')}/certifications/${ids.external}/proof`);
  });

  it('says where the learner\'s proof for an external certification stands (proofs\' seam)', async () => {
    const undo = registerProofStatus(t.db.connection, async (_conn, q) => new Map(q.userId === w.subject ? [[ids.external!, { status: 'rejected' as const, reason: 'The scan is unreadable.' }]] : []));
    try {
      const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
      const doc = parseHtml((await browser.open(`${app}/certifications`)).html);
      const external = all(doc, 'li[data-entry]').find((li) => li.getAttribute('data-id') === ids.external)!;
      expect(text(external, '[data-proof]')).to.equal('Your proof was not accepted: The scan is unreadable.');
      expect(attr(external, '[data-start]', 'href')).to.contain('/proof');
    } finally {
      undo();
    }
  });

  it('refuses an unknown sort with 400 naming the parameter', async () => {
    const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
    const res = await browser.request(`${app}/certifications?sort=newest`);
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('sort');
  });

  it('shows another learner only their own certifications (a certification page of someone else\'s award is not theirs)', async () => {
    const other = t.sandbox.store.addUser({ givenName: 'Sam', familyName: `Gamgee ${Date.now()}` });
    t.sandbox.store.enrol(w.courses[0]!.sandboxId, other.id, ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
    const { browser, app } = await launchAs(t, w.courses[0]!.sandboxId, other.id);
    const page = await browser.open(`${app}/certifications`);
    const states = order(page.html).filter(([kind]) => kind === 'certification').map(([, , state]) => state);
    expect(states.every((s) => s === 'pending')).to.equal(true);
    const cert = parseHtml((await browser.open(`${app}/certifications/${ids.first}`)).html);
    expect(all(cert, '[data-code]')).to.have.length(0);
  });
});

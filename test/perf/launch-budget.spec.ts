/**
 * What a launch costs the database and the LMS, counted on the wire (the driver's command
 * monitoring on the tool's and ltijs's connections: test/support/db-commands.ts). The budget is
 * issue #13's: at most 15 database commands for a learner's launch (#14's shared login rate-limit counter included; 16 for a learner's very first launch), login to page, the page's grade
 * refresh included; no write when the refresh found nothing new; one token for the page's AGS calls.
 */
import { expect } from 'chai';
import { backdateLearnerRefreshes, settleLearnerRefreshes } from '../../src/grades/learner-refresh';
import { startTestApp, type TestApp } from '../support/app';
import { countCommands, describeCommands, type SeenCommand } from '../support/db-commands';
import { defineCertificate, launchAs, sandboxCourse, toolCourse } from '../support/e2e';
import { one, parseHtml, text } from '../support/html';

// #13's 15, the login rate-limit counter (#14, shared by every instance: one atomic upsert) included;
// a learner's very first launch also records where mails go (src/mail/recipients.ts): one more
const BUDGET = 15;
const FIRST_LAUNCH_BUDGET = 16;
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);
const BILBO = [9, 9, 9, 9, 9, 10, 10, 10, 10, null];

describe('A learner launch stays within its database budget (#13)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  /** A course with a certificate, its teacher's launch done and its background jobs finished. */
  async function course(scores: Array<Array<number | null>>) {
    const c = sandboxCourse(t, { scores });
    await launchAs(t, c.course.id, c.teacherIds[0]!);
    await defineCertificate(t, (await toolCourse(t, c))._id);
    await t.app.ctx.jobs.drain();
    return c;
  }

  /** A launch, login to page, and the background refresh it started; the commands sent meanwhile. */
  async function countedLaunch(courseId: string, userId: string): Promise<{ html: string; commands: SeenCommand[] }> {
    const { value, commands } = await countCommands(t.db.connection, async () => {
      const launched = await launchAs(t, courseId, userId);
      await settleLearnerRefreshes();
      return launched.page.html;
    });
    return { html: value, commands };
  }

  const score = (html: string) => text(one(parseHtml(html), 'p.score strong'));

  it("a learner's first launch: at most 16 commands, the page refreshed from the LMS", async () => {
    const c = await course([BILBO]);
    const { html, commands } = await countedLaunch(c.course.id, c.learnerIds[0]!);
    expect(score(html)).to.equal('Your score: 85% (needed: 80%)');
    expect(commands.length, describeCommands(commands)).to.be.at.most(FIRST_LAUNCH_BUDGET);
  });

  it('a launch again: at most 15 commands, and nothing written for a refresh that found nothing new', async () => {
    const c = await course([BILBO]);
    await launchAs(t, c.course.id, c.learnerIds[0]!);
    await settleLearnerRefreshes();
    // two minutes later: the page refreshes again (in the background), and finds nothing new
    backdateLearnerRefreshes(2 * 60_000);
    t.sandbox.store.clearRequestLog();
    const { html, commands } = await countedLaunch(c.course.id, c.learnerIds[0]!);
    expect(score(html)).to.equal('Your score: 85% (needed: 80%)');
    expect(t.sandbox.store.requestLog.filter((e) => e.courseId === c.course.id && e.path.endsWith('/results')), 'the refresh asked the LMS').to.have.length(10);
    expect(commands.length, describeCommands(commands)).to.be.at.most(BUDGET);
    // what a launch itself writes: its login (recorded, used up), the deployment and the session (the
    // course only when the launch says something new of it or this process has not written it in
    // the last 30 s; the address mails go to only when it changed: src/mail/recipients.ts)
    const writes = commands.filter((c) => WRITES.has(c.name)).map((c) => `${c.name} ${c.collection}`);
    expect(writes.filter((w) => !w.endsWith(' ratelimits')).sort()).to.deep.equal([
      'findAndModify loginstates',
      'insert loginstates',
      'insert sessions',
      'update deployments',
    ]);
    // ltijs's documents are read once, at login (the registration with its status): no token, key or launch data
    expect(commands.filter((c) => c.via === 'ltijs').map((c) => `${c.name} ${c.collection}`)).to.deep.equal(['aggregate platforms']);
  });

  it('writes the course again when a launch says something new of it, even seconds after the last one', async () => {
    const c = await course([BILBO]);
    await launchAs(t, c.course.id, c.learnerIds[0]!);
    // The teacher renames the course in the LMS; the next launch, moments later, carries the new title.
    t.sandbox.store.getCourse(c.course.id)!.title = 'Digital Literacy (spring)';
    const { commands } = await countedLaunch(c.course.id, c.learnerIds[0]!);
    expect(commands.filter((x) => x.name === 'findAndModify' && x.collection === 'courses')).to.have.length(1);
    expect((await toolCourse(t, c)).title).to.equal('Digital Literacy (spring)');
  });

  it('asks the LMS for one token for the line items and the results, and reuses it on the next launches', async () => {
    const c = await course([BILBO, BILBO]);
    t.app.lti.forgetTokens();
    t.sandbox.store.clearRequestLog();
    for (const learner of c.learnerIds) {
      const { page } = await launchAs(t, c.course.id, learner);
      expect(score(page.html)).to.equal('Your score: 85% (needed: 80%)');
      await settleLearnerRefreshes();
    }
    const log = t.sandbox.store.requestLog.filter((e) => e.path === '/token' || e.courseId === c.course.id);
    const paths = log.map((e) => `${e.method} ${e.path.replace(/\/lineitems\/\d+/, '/lineitems/N')}`);
    // two learners' pages: one token, then each page's listing and its ten results calls
    expect(paths.filter((p) => p === 'POST /token')).to.have.length(1);
    expect(paths[0]).to.equal('POST /token');
    expect(paths.filter((p) => p.endsWith('/lineitems'))).to.have.length(2);
    expect(paths.filter((p) => p.endsWith('/results'))).to.have.length(20);
    expect(log.every((e) => e.status === 200)).to.equal(true);
  });

  it('shows the stored grades at once when the last refresh is recent, says how fresh, and the next page has the new grade', async () => {
    const c = await course([BILBO]);
    const first = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(score(first.page.html)).to.equal('Your score: 85% (needed: 80%)');
    expect(parseHtml(first.page.html).querySelector('[data-refresh]')).to.equal(null);
    await settleLearnerRefreshes();
    // The teacher grades the tenth activity in the LMS; the learner comes back two minutes later.
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, c.learnerIds[0]!, 10);
    backdateLearnerRefreshes(2 * 60_000);
    const second = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(score(second.page.html), 'the stored grades, at once').to.equal('Your score: 85% (needed: 80%)');
    expect(text(one(parseHtml(second.page.html), '[data-refresh="background"]'))).to.equal(
      'Your grades as of 2 minutes ago; we are checking your course for newer ones. Reload in a moment to see them.',
    );
    await settleLearnerRefreshes();
    // (the background refresh was seconds ago: the page does not ask the LMS again, it shows what that found)
    const third = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(score(third.page.html), 'what the background refresh found').to.equal('Your score: 95% (needed: 80%)');
  });

  it('does not ask the LMS again within a minute of the last refresh, and says how fresh the grades shown are', async () => {
    const c = await course([BILBO]);
    await launchAs(t, c.course.id, c.learnerIds[0]!);
    await settleLearnerRefreshes();
    t.sandbox.store.setScore(c.course.id, c.lineItemIds[9]!, c.learnerIds[0]!, 10);
    t.sandbox.store.clearRequestLog();
    const again = await launchAs(t, c.course.id, c.learnerIds[0]!);
    await settleLearnerRefreshes();
    expect(t.sandbox.store.requestLog.filter((e) => e.courseId === c.course.id).map((e) => `${e.method} ${e.path}`), 'AGS calls').to.deep.equal([]);
    expect(score(again.page.html), 'the grades of the refresh moments ago').to.equal('Your score: 85% (needed: 80%)');
    expect(text(one(parseHtml(again.page.html), '[data-refresh="recent"]'))).to.equal(
      'Your grades as of less than a minute ago, just checked with your course. Reload in a minute to check again.',
    );
    // A minute later the page asks the LMS again (in the background: the last refresh is still recent).
    backdateLearnerRefreshes(61_000);
    await launchAs(t, c.course.id, c.learnerIds[0]!);
    await settleLearnerRefreshes();
    expect(t.sandbox.store.requestLog.filter((e) => e.courseId === c.course.id && e.path.endsWith('/results'))).to.have.length(10);
    const later = await launchAs(t, c.course.id, c.learnerIds[0]!);
    expect(score(later.page.html), 'what that refresh found').to.equal('Your score: 95% (needed: 80%)');
    expect(one(parseHtml(later.page.html), '[data-refresh]').getAttribute('data-refresh')).to.equal('recent');
  });
});

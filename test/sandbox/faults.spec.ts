import { expect } from 'chai';
import { SCOPES, startHarness, type Harness } from './harness';

describe('sandbox LMS: injected faults and the request log', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness({ seedDemo: false });
    token = await h.token(`${SCOPES.nrps} ${SCOPES.lineItemReadonly}`);
  });
  after(() => h.close());

  const membershipsUrl = (courseId: string) => `${h.sandbox.issuer}/api/courses/${courseId}/memberships`;

  it('fails one page halfway through a paged read, then recovers', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Flaky', quirks: 'standard', learners: 9, items: 0 });
    h.sandbox.store.injectFaults(course.id, { path: /memberships/, status: 503, times: 1, afterRequests: 1 });
    const first = await h.api(`${membershipsUrl(course.id)}?limit=5`, token);
    expect(first.status).to.equal(200);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')![1];
    expect((await h.api(next, token)).status).to.equal(503);
    const retry = await h.api(next, token);
    expect(retry.status).to.equal(200);
    expect(((await retry.json()) as { members: unknown[] }).members).to.have.length(5);
  });

  it('limits a rule to its course and its path', async () => {
    const a = h.sandbox.store.createCourse({ title: 'A', quirks: 'standard', learners: 1, items: 1 }).course;
    const b = h.sandbox.store.createCourse({ title: 'B', quirks: 'standard', learners: 1, items: 1 }).course;
    h.sandbox.store.injectFaults(a.id, { path: /lineitems/, status: 500, times: 2 });
    expect((await h.api(membershipsUrl(a.id), token)).status).to.equal(200);
    expect((await h.api(`${h.sandbox.issuer}/api/courses/${b.id}/lineitems`, token)).status).to.equal(200);
    expect((await h.api(`${h.sandbox.issuer}/api/courses/${a.id}/lineitems`, token)).status).to.equal(500);
    expect((await h.api(`${h.sandbox.issuer}/api/courses/${a.id}/lineitems`, token)).status).to.equal(500);
    expect((await h.api(`${h.sandbox.issuer}/api/courses/${a.id}/lineitems`, token)).status).to.equal(200);
  });

  it('resets the connection or leaves the request hanging', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Network', quirks: 'standard', learners: 1, items: 0 });
    h.sandbox.store.injectFaults(course.id, { status: 'reset', times: 1 });
    let error: unknown;
    await h.api(membershipsUrl(course.id), token).catch((err: unknown) => (error = err));
    expect(error, 'the connection was reset').to.be.instanceOf(Error);

    h.sandbox.store.injectFaults(course.id, { status: 'timeout', times: 1 });
    const started = Date.now();
    error = undefined;
    await fetch(membershipsUrl(course.id), { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(300) }).catch((err: unknown) => (error = err));
    expect((error as Error)?.name).to.equal('TimeoutError');
    expect(Date.now() - started).to.be.at.least(290);
    expect((await h.api(membershipsUrl(course.id), token)).status).to.equal(200);
  });

  it("can fail the token endpoint ('*' rules apply to every request)", async () => {
    h.sandbox.store.injectFaults('*', { path: /^\/token/, status: 502, times: 1 });
    expect((await h.requestToken(SCOPES.nrps)).status).to.equal(502);
    expect((await h.requestToken(SCOPES.nrps)).status).to.equal(200);
  });

  it('records method, path, query and status of every request', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Logged', quirks: 'standard', learners: 1, items: 0 });
    h.sandbox.store.clearRequestLog();
    await h.api(`${membershipsUrl(course.id)}?limit=1&role=Learner`, token);
    await fetch(membershipsUrl(course.id));
    const log = h.sandbox.store.requestLog.filter((e) => e.courseId === course.id);
    expect(log).to.have.length(2);
    expect(log[0]).to.deep.include({ method: 'GET', path: `/api/courses/${course.id}/memberships`, status: 200, query: { limit: '1', role: 'Learner' } });
    expect(log[1].status).to.equal(401);
  });
});

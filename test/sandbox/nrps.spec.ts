import { expect } from 'chai';
import { SCOPES, startHarness, type Harness } from './harness';

const NRPS = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';

interface Container {
  id: string;
  context: { id: string; label: string; title: string };
  members: { user_id: string; status: string; name: string; roles: string[]; email: string; lis_person_sourcedid: string }[];
}

function nextUrl(link: string | null): string | undefined {
  return /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1];
}

describe('sandbox LMS: Names and Role Provisioning Services', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.token(SCOPES.nrps);
  });
  after(() => h.close());

  const membershipsUrl = (courseId: string) => `${h.sandbox.issuer}/api/courses/${courseId}/memberships`;
  const get = (url: string, t = token) => h.api(url, t, { Accept: NRPS });

  async function readAll(url: string, t = token): Promise<{ pages: Container[]; statuses: number[] }> {
    const pages: Container[] = [];
    const statuses: number[] = [];
    let next: string | undefined = url;
    while (next) {
      const res = await get(next, t);
      statuses.push(res.status);
      pages.push((await res.json()) as Container);
      next = nextUrl(res.headers.get('link'));
    }
    return { pages, statuses };
  }

  it('lists the demo course with context, names, emails, sourced ids and roles', async () => {
    const courseId = h.sandbox.demo!.courseIds.chamilo;
    const res = await get(membershipsUrl(courseId));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.contain(NRPS);
    const body = (await res.json()) as Container;
    expect(body.context).to.deep.equal({ id: courseId, label: 'DIGLIT-CHAMILO', title: 'Digital Literacy (Chamilo)' });
    expect(body.members, "3 staff, Bilbo and 30 others").to.have.length(34);
    const bilbo = body.members.find((m) => m.name === 'Bilbo Baggins')!;
    expect(bilbo).to.deep.include({ user_id: h.sandbox.demo!.bilbo.id, status: 'Active', email: 'bilbo.baggins@shire.example', roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'] });
    expect(body.members.filter((m) => m.status === 'Inactive').map((m) => m.name)).to.deep.equal(['Sméagol Trahald']);
  });

  it('Moodle and Canvas leave inactive enrolments out; Canvas user ids are the launch subs (UUIDs)', async () => {
    const moodle = await readAll(membershipsUrl(h.sandbox.demo!.courseIds.moodle));
    expect(moodle.pages.flatMap((p) => p.members)).to.have.length(33);
    const canvas = await readAll(membershipsUrl(h.sandbox.demo!.courseIds.canvas));
    const members = canvas.pages.flatMap((p) => p.members);
    expect(members).to.have.length(33);
    expect(members.find((m) => m.name === 'Bilbo Baggins')!.user_id).to.equal(h.sandbox.demo!.bilbo.ltiId);
  });

  it('filters by role (short name or URI)', async () => {
    const courseId = h.sandbox.demo!.courseIds.moodle;
    const short = (await (await get(`${membershipsUrl(courseId)}?role=Instructor`)).json()) as Container;
    expect(short.members.map((m) => m.name)).to.deep.equal(['Gandalf the Grey', 'Elrond Half-elven']);
    const uri = (await (await get(`${membershipsUrl(courseId)}?role=${encodeURIComponent('http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor')}`)).json()) as Container;
    expect(uri.members.map((m) => m.name)).to.deep.equal(['Radagast the Brown']);
  });

  // app/controllers/lti/ims/providers/memberships_provider.rb: default_per_page and max_per_page are both MAX_PAGE_SIZE = 50.
  it('Canvas: pages of 50 by default and never more than 50, whatever the limit', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Big Canvas', quirks: 'canvas', learners: 120, items: 0 });
    h.sandbox.store.setRateLimit(course.id, null);
    const byDefault = (await (await get(membershipsUrl(course.id))).json()) as Container;
    expect(byDefault.members).to.have.length(50);
    const { pages } = await readAll(`${membershipsUrl(course.id)}?limit=500`);
    expect(pages.map((p) => p.members.length)).to.deep.equal([50, 50, 21]);
    const ids = pages.flatMap((p) => p.members.map((m) => m.user_id));
    expect(new Set(ids).size).to.equal(121);
  });

  it('standard and Moodle modes page with limit and rel="next"', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Moodle roster', quirks: 'moodle', learners: 9, items: 0 });
    const { pages } = await readAll(`${membershipsUrl(course.id)}?limit=4`);
    expect(pages.map((p) => p.members.length)).to.deep.equal([4, 4, 2]);
  });

  it('Canvas: throttles a token that calls too fast with 403 "Rate Limit Exceeded" and rate headers', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Throttled', quirks: 'canvas', learners: 3, items: 0 });
    h.sandbox.store.setRateLimit(course.id, { requestsPerSecond: 5, requestCost: 0.5 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => get(membershipsUrl(course.id))));
    const refused = responses.filter((r) => r.status === 403);
    expect(responses.filter((r) => r.status === 200)).to.have.length(5);
    expect(refused).to.have.length(3);
    expect(await refused[0].text()).to.equal('403 Forbidden (Rate Limit Exceeded)');
    expect(refused[0].headers.get('x-rate-limit-remaining')).to.equal('0');
    expect(refused[0].headers.get('x-request-cost')).to.equal('0.5');
    expect(responses.find((r) => r.status === 200)!.headers.get('x-rate-limit-remaining')).to.match(/^\d+\.\d$/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await get(membershipsUrl(course.id))).status, 'allowed again after a second').to.equal(200);
  });

  it('Canvas: throttles 20 requests per second per token by default', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Default throttle', quirks: 'canvas', learners: 1, items: 0 });
    const statuses = (await Promise.all(Array.from({ length: 25 }, () => get(membershipsUrl(course.id))))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).to.have.length(20);
    expect(statuses.filter((s) => s === 403)).to.have.length(5);
  });

  it('drops people who were removed from the course', async () => {
    const { course, learnerIds } = h.sandbox.store.createCourse({ title: 'Leavers', quirks: 'standard', learners: 3, items: 0 });
    h.sandbox.store.removeMember(course.id, learnerIds[1]);
    const body = (await (await get(membershipsUrl(course.id))).json()) as Container;
    expect(body.members.map((m) => m.user_id)).to.not.include(learnerIds[1]);
    expect(body.members).to.have.length(3);
  });

  it('Chamilo: answers 406 unless Accept is exactly the membership media type', async () => {
    const courseId = h.sandbox.demo!.courseIds.chamilo;
    expect((await h.api(membershipsUrl(courseId), token, { Accept: 'application/json' })).status).to.equal(406);
  });

  it('refuses a token without the NRPS scope', async () => {
    const ags = await h.token(SCOPES.lineItemReadonly);
    expect((await get(membershipsUrl(h.sandbox.demo!.courseIds.moodle), ags)).status).to.equal(403);
  });
});

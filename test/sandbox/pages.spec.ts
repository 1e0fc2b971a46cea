import { expect } from 'chai';
import { courseLinkOf } from '../../src/courses/course-link';
import { startHarness, type Harness } from './harness';

describe('sandbox LMS: pages', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('lists the three demo courses', async () => {
    const res = await fetch(`${h.sandbox.issuer}/`);
    expect(res.status).to.equal(200);
    const html = await res.text();
    for (const title of ['Digital Literacy (Moodle)', 'Digital Literacy (Canvas)', 'Digital Literacy (Chamilo)']) expect(html).to.contain(title);
  });

  it('shows a course with its people, scores, launch-as buttons into the tool-frame iframe', async () => {
    const { courseIds, bilbo } = h.sandbox.demo!;
    const html = await (await fetch(`${h.sandbox.issuer}/courses/${courseIds.moodle}`)).text();
    expect(html).to.contain('<iframe name="tool-frame" id="tool-frame"');
    expect(html).to.contain('Bilbo Baggins').and.contain('85%');
    const launch = h.sandbox.launchUrl(courseIds.moodle, bilbo.id).replace(/&/g, '&amp;');
    expect(html).to.contain(`target="tool-frame" data-user-id="${bilbo.id}" href="${launch}"`);
    expect(html).to.contain('register-tool');
  });

  it("serves a Chamilo course at /courses/<code>/index.php, where the tool links it from a launch without return URL", async () => {
    const { courseIds, bilbo } = h.sandbox.demo!;
    const claims = await h.launchClaims(h.sandbox.launchUrl(courseIds.chamilo, bilbo.id));
    const presentation = claims['https://purl.imsglobal.org/spec/lti/claim/launch_presentation'] as { return_url?: string };
    const context = claims['https://purl.imsglobal.org/spec/lti/claim/context'] as { label: string };
    expect(presentation).not.to.have.property('return_url');
    const link = courseLinkOf({ platformFamily: 'chamilo', issuer: String(claims.iss), label: context.label })!;
    expect(link).to.equal(`${h.sandbox.issuer}/courses/DIGLIT-CHAMILO/index.php`);
    const res = await fetch(link);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain('Digital Literacy (Chamilo)');
    expect((await fetch(`${h.sandbox.issuer}/courses/NO-SUCH-CODE/index.php`)).status).to.equal(404);
  });

  it('sets a score from the gradebook form (Bilbo reaches 95%)', async () => {
    const { courseIds, bilbo } = h.sandbox.demo!;
    const activity10 = h.sandbox.store.listLineItems(courseIds.canvas)[9];
    const res = await fetch(`${h.sandbox.issuer}/courses/${courseIds.canvas}/scores`, {
      method: 'POST',
      body: new URLSearchParams({ userId: bilbo.id, lineItemId: activity10.id, score: '10' }),
      redirect: 'manual',
    });
    expect(res.status).to.equal(303);
    expect(h.sandbox.store.courseGrade(courseIds.canvas, bilbo.id).percent).to.equal(95);
  });

  it('switches the platform mode of a course', async () => {
    const { course } = h.sandbox.store.createCourse({ title: 'Switch', quirks: 'moodle', learners: 1, items: 1 });
    await fetch(`${h.sandbox.issuer}/courses/${course.id}/quirks`, { method: 'POST', body: new URLSearchParams({ mode: 'canvas' }), redirect: 'manual' });
    expect(h.sandbox.store.getCourse(course.id)!.quirks).to.equal('canvas');
  });

  it('escapes every value it shows', async () => {
    const { course } = h.sandbox.store.createCourse({ title: '<script>alert(1)</script>', quirks: 'standard', learners: 0, items: 0 });
    const user = h.sandbox.store.addUser({ givenName: '"><img src=x onerror=alert(1)>', familyName: "O'Brien" });
    h.sandbox.store.enrol(course.id, user.id, ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
    const html = await (await fetch(`${h.sandbox.issuer}/courses/${course.id}`)).text();
    expect(html).not.to.contain('<script>alert(1)</script>');
    expect(html).not.to.contain('<img src=x');
    expect(html).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;').and.contain('O&#39;Brien');
    const list = await (await fetch(`${h.sandbox.issuer}/`)).text();
    expect(list).not.to.contain('<script>alert(1)</script>');
  });

  it('serves the platform keyset with a kid and RS256', async () => {
    const jwks = (await (await fetch(h.sandbox.registration.jwksUrl)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).to.have.length(1);
    expect(jwks.keys[0]).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0].kid).to.be.a('string');
    expect(jwks.keys[0]).not.to.have.property('d');
  });
});

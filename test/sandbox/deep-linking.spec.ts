import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { FakeToolKey, startHarness, type Harness } from './harness';

const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/';
const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';

describe('sandbox LMS: deep linking', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  async function deepLinkingRequest(courseId: string, userId: string) {
    const claims = await h.launchClaims(h.sandbox.launchUrl(courseId, userId, { deepLinking: true }));
    return claims;
  }

  function response(claims: Record<string, unknown>, items: unknown[], key = h.tool.key) {
    const settings = claims[`${DL}deep_linking_settings`] as { data: string; deep_link_return_url: string };
    const now = Math.floor(Date.now() / 1000);
    return key.sign({
      iss: h.sandbox.registration.clientId,
      aud: h.sandbox.issuer,
      iat: now,
      exp: now + 300,
      nonce: randomUUID(),
      [`${LTI}message_type`]: 'LtiDeepLinkingResponse',
      [`${LTI}version`]: '1.3.0',
      [`${LTI}deployment_id`]: claims[`${LTI}deployment_id`],
      [`${DL}data`]: settings.data,
      [`${DL}content_items`]: items,
    });
  }

  const post = (url: string, jwt: string) => fetch(url, { method: 'POST', body: new URLSearchParams({ JWT: jwt }) });

  it('sends an LtiDeepLinkingRequest whose settings point at /deeplink/return', async () => {
    const claims = await deepLinkingRequest(h.sandbox.demo!.courseIds.moodle, h.sandbox.demo!.gandalf.id);
    expect(claims[`${LTI}message_type`]).to.equal('LtiDeepLinkingRequest');
    expect(claims[`${DL}deep_linking_settings`]).to.deep.include({ deep_link_return_url: `${h.sandbox.issuer}/deeplink/return`, accept_types: ['ltiResourceLink'] });
    expect(claims).not.to.have.property(`${LTI}resource_link`);
  });

  it('places the returned resource link (and its line item) in the course', async () => {
    const { course, teacherIds } = h.sandbox.store.createCourse({ title: 'Picker', quirks: 'moodle', learners: 1, items: 0 });
    const claims = await deepLinkingRequest(course.id, teacherIds[0]);
    const url = (claims[`${DL}deep_linking_settings`] as { deep_link_return_url: string }).deep_link_return_url;
    const jwt = await response(claims, [{ type: 'ltiResourceLink', title: 'Course certificate', url: h.tool.launchUrl, custom: { certificate: 'main' }, lineItem: { scoreMaximum: 1, label: 'Certificate', tag: 'certificate' } }]);
    const res = await post(url, jwt);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.contain('Course certificate');
    const link = h.sandbox.store.getCourse(course.id)!.resourceLinks.find((l) => l.title === 'Course certificate')!;
    expect(link).to.deep.include({ url: h.tool.launchUrl, custom: { certificate: 'main' } });
    const items = h.sandbox.store.listLineItems(course.id);
    expect(items).to.have.length(1);
    expect(items[0]).to.include({ label: 'Certificate', scoreMaximum: 1, resourceLinkId: link.id });

    const launch = await h.launchClaims(h.sandbox.launchUrl(course.id, teacherIds[0], { resourceLinkId: link.id }));
    expect(launch[`${LTI}custom`]).to.deep.equal({ certificate: 'main' });
    expect(launch['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint']).to.have.property('lineitem');
  });

  it('refuses a response signed with a key that is not the tool’s', async () => {
    const claims = await deepLinkingRequest(h.sandbox.demo!.courseIds.moodle, h.sandbox.demo!.gandalf.id);
    const stranger = await FakeToolKey.create();
    stranger.kid = h.tool.key.kid;
    const res = await post(`${h.sandbox.issuer}/deeplink/return`, await response(claims, [], stranger));
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('invalid_signature');
  });
});

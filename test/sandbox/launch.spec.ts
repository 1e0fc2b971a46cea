import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { readAutoPostForm } from '../../src/sandbox/sandbox';
import { startHarness, type Harness } from './harness';

const CLAIM = {
  messageType: 'https://purl.imsglobal.org/spec/lti/claim/message_type',
  version: 'https://purl.imsglobal.org/spec/lti/claim/version',
  deploymentId: 'https://purl.imsglobal.org/spec/lti/claim/deployment_id',
  roles: 'https://purl.imsglobal.org/spec/lti/claim/roles',
  context: 'https://purl.imsglobal.org/spec/lti/claim/context',
  custom: 'https://purl.imsglobal.org/spec/lti/claim/custom',
  platform: 'https://purl.imsglobal.org/spec/lti/claim/tool_platform',
  presentation: 'https://purl.imsglobal.org/spec/lti/claim/launch_presentation',
  resourceLink: 'https://purl.imsglobal.org/spec/lti/claim/resource_link',
  legacy: 'https://purl.imsglobal.org/spec/lti/claim/lti11_legacy_user_id',
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
};

describe('sandbox LMS: launching (GET /launch, GET|POST /auth)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const demo = () => h.sandbox.demo!;

  /** A valid authorization request for a launch started at /launch, with overrides. */
  async function authRequest(overrides: Record<string, string | null> = {}): Promise<Response> {
    const login = await h.loginInitiation(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id));
    const params: Record<string, string | null> = {
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: login.get('client_id'),
      redirect_uri: login.get('target_link_uri'),
      login_hint: login.get('login_hint'),
      lti_message_hint: login.get('lti_message_hint'),
      state: 's',
      nonce: 'n',
      ...overrides,
    };
    const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== null));
    return fetch(`${h.sandbox.registration.authUrl}?${query.toString()}`);
  }

  describe('login initiation', () => {
    it('redirects to the tool login URL with iss, login_hint, target_link_uri, lti_message_hint, client_id and lti_deployment_id', async () => {
      const params = await h.loginInitiation(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id));
      expect(params.get('iss')).to.equal(h.sandbox.issuer);
      expect(params.get('login_hint')).to.equal(demo().bilbo.id);
      expect(params.get('target_link_uri')).to.equal(h.tool.launchUrl);
      expect(params.get('client_id')).to.equal(h.sandbox.registration.clientId);
      expect(params.get('lti_deployment_id')).to.equal('1');
      expect(params.get('lti_message_hint')).to.be.a('string').and.not.equal('');
    });

    it('leaves lti_deployment_id out in Chamilo mode', async () => {
      const params = await h.loginInitiation(h.sandbox.launchUrl(demo().courseIds.chamilo, demo().bilbo.id));
      expect(params.has('lti_deployment_id')).to.equal(false);
      expect(params.get('client_id')).to.equal(h.sandbox.registration.clientId);
    });
  });

  describe('the authorization endpoint', () => {
    it('posts a signed id_token and the state to the redirect_uri in an auto-submitting form', async () => {
      const res = await authRequest();
      expect(res.status).to.equal(200);
      const form = readAutoPostForm(await res.text());
      expect(form.action).to.equal(h.tool.launchUrl);
      expect(form.fields.state).to.equal('s');
      const jwks = createRemoteJWKSet(new URL(h.sandbox.registration.jwksUrl));
      const { payload, protectedHeader } = await jwtVerify(form.fields.id_token, jwks, { issuer: h.sandbox.issuer, audience: h.sandbox.registration.clientId });
      expect(protectedHeader).to.include({ alg: 'RS256' });
      expect(protectedHeader.kid).to.be.a('string');
      expect(payload.nonce).to.equal('n');
    });

    it('refuses a redirect_uri that is not registered for the client, naming it', async () => {
      const res = await authRequest({ redirect_uri: 'https://evil.example/steal' });
      expect(res.status).to.equal(400);
      const html = await res.text();
      expect(html).to.contain('invalid_redirect_uri').and.contain('https://evil.example/steal');
    });

    const refusals: [string, Record<string, string | null>, string][] = [
      ['a scope other than openid', { scope: 'profile' }, 'invalid_scope'],
      ['a response_type other than id_token', { response_type: 'code' }, 'unsupported_response_type'],
      ['an unknown client_id', { client_id: 'who-knows' }, 'unauthorized_client'],
      ['a response_mode other than form_post', { response_mode: 'query' }, 'response_mode'],
      ['a prompt other than none', { prompt: 'login' }, 'prompt'],
      ['a missing nonce', { nonce: null }, 'nonce'],
      ['a forged lti_message_hint', { lti_message_hint: 'garbage' }, 'lti_message_hint'],
      ['a login_hint who is not in the course', { login_hint: '999999' }, 'login_required'],
    ];
    for (const [what, overrides, words] of refusals) {
      it(`refuses ${what} with a 400 page that says so`, async () => {
        const res = await authRequest(overrides);
        expect(res.status).to.equal(400);
        expect(await res.text()).to.contain(words);
      });
    }

    it('answers POST as well as GET', async () => {
      const login = await h.loginInitiation(h.sandbox.launchUrl(demo().courseIds.moodle, demo().gandalf.id));
      const res = await fetch(h.sandbox.registration.authUrl, {
        method: 'POST',
        body: new URLSearchParams({
          scope: 'openid', response_type: 'id_token', response_mode: 'form_post', prompt: 'none', nonce: 'x',
          client_id: login.get('client_id')!, redirect_uri: login.get('target_link_uri')!, login_hint: login.get('login_hint')!, lti_message_hint: login.get('lti_message_hint')!,
        }),
      });
      expect(res.status).to.equal(200);
      expect(readAutoPostForm(await res.text()).fields).to.have.property('id_token');
    });
  });

  describe('id_token claims per platform', () => {
    it('Moodle: numeric sub and context id, full role URIs, Bilbo in Moodle\'s "nl" pack, 60 s lifetime, AGS and NRPS claims', async () => {
      const c = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id));
      expect(c.sub).to.equal(demo().bilbo.id).and.match(/^\d+$/);
      expect((c.exp as number) - (c.iat as number)).to.equal(60);
      expect(c[CLAIM.messageType]).to.equal('LtiResourceLinkRequest');
      expect(c[CLAIM.version]).to.equal('1.3.0');
      expect(c[CLAIM.deploymentId]).to.equal('1');
      expect(c[CLAIM.roles]).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner']);
      expect(c[CLAIM.context]).to.deep.include({ id: demo().courseIds.moodle, title: 'Digital Literacy (Moodle)' });
      expect(c[CLAIM.platform]).to.include({ product_family_code: 'moodle' });
      // Bilbo's language is nl-NL: a real Moodle 4.5.6 sends its pack code "nl" and no top-level locale.
      expect(c[CLAIM.presentation]).to.include({ locale: 'nl', document_target: 'iframe' });
      expect(c).not.to.have.property('locale');
      expect(c).to.include({ name: 'Bilbo Baggins', given_name: 'Bilbo', family_name: 'Baggins', email: 'bilbo.baggins@shire.example' });
      expect(c[CLAIM.ags]).to.deep.include({ lineitems: `${h.sandbox.issuer}/api/courses/${demo().courseIds.moodle}/lineitems` });
      expect((c[CLAIM.ags] as { scope: string[] }).scope).to.have.length(4);
      expect(c[CLAIM.nrps]).to.deep.equal({ context_memberships_url: `${h.sandbox.issuer}/api/courses/${demo().courseIds.moodle}/memberships`, service_versions: ['2.0'] });
      expect(c[CLAIM.resourceLink]).to.have.property('id');
    });

    it('Canvas: UUID sub, opaque context id, institution and system roles, canvas_* custom fields, legacy user id, 1 h lifetime', async () => {
      const c = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.canvas, demo().bilbo.id));
      expect(c.sub).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(c.sub).to.equal(demo().bilbo.ltiId);
      expect((c[CLAIM.context] as { id: string }).id).to.match(/^[0-9a-f]{40}$/);
      expect(c[CLAIM.roles]).to.include.members([
        'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner',
        'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student',
        'http://purl.imsglobal.org/vocab/lis/v2/system/person#User',
      ]);
      expect(c[CLAIM.custom]).to.deep.equal({ canvas_user_id: demo().bilbo.id, canvas_course_id: demo().courseIds.canvas });
      expect(c[CLAIM.legacy]).to.equal(demo().bilbo.legacyId);
      expect((c.exp as number) - (c.iat as number)).to.equal(3600);
      expect(c[CLAIM.platform]).to.include({ product_family_code: 'canvas' });
      expect(c[CLAIM.presentation]).to.include({ locale: 'nl-NL' });
    });

    it('writes the locale as each platform does: Moodle pack codes, Chamilo ISO codes, the BCP 47 tag elsewhere', async () => {
      // What a real Moodle 4.5.6 and Chamilo 1.11.28 sent for these users (test/real-lms/drive-languages.sh).
      const user = demo().bilbo;
      const sent = async (course: string) => (await h.launchClaims(h.sandbox.launchUrl(course, user.id)))[CLAIM.presentation] as { locale?: string };
      const cases = [
        ['es-MX', 'es_mx', 'es', 'es-MX'],
        ['de-DE', 'de', 'de', 'de-DE'],
        ['pt-BR', 'pt_br', 'pt-BR', 'pt-BR'],
        ['en-GB', 'en', 'en', 'en-GB'],
      ] as const;
      try {
        for (const [stored, moodle, chamilo, canvas] of cases) {
          h.sandbox.store.getUser(user.id)!.locale = stored;
          expect((await sent(demo().courseIds.moodle)).locale, `Moodle, ${stored}`).to.equal(moodle);
          expect((await sent(demo().courseIds.chamilo)).locale, `Chamilo, ${stored}`).to.equal(chamilo);
          expect((await sent(demo().courseIds.canvas)).locale, `Canvas, ${stored}`).to.equal(canvas);
        }
      } finally {
        h.sandbox.store.getUser(user.id)!.locale = 'nl-NL';
      }
    });

    it('Chamilo: the NRPS claim only on teacher launches, AGS scope limited to lineitem and lineitem.readonly, 60 s lifetime', async () => {
      const learner = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.chamilo, demo().bilbo.id));
      const teacher = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.chamilo, demo().gandalf.id));
      const assistant = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.chamilo, demo().elrond.id));
      expect(learner).not.to.have.property(CLAIM.nrps);
      expect(teacher).to.have.property(CLAIM.nrps);
      expect(assistant).to.have.property(CLAIM.nrps);
      expect((learner[CLAIM.ags] as { scope: string[] }).scope).to.have.members([
        'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
        'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
      ]);
      expect((teacher.exp as number) - (teacher.iat as number)).to.equal(60);
      // As a real Chamilo 1.11.28 sends it (plugin/ims_lti/auth.php): family_code, no product_family_code.
      expect(teacher[CLAIM.platform]).to.include({ family_code: 'Chamilo LMS' }).and.not.have.property('product_family_code');
      // plugin/ims_lti/auth.php: the ISO code of the user's language ("nl" for Bilbo's nl-NL), no top-level locale.
      expect(learner[CLAIM.presentation]).to.include({ locale: 'nl' });
      expect(learner).not.to.have.property('locale');
    });

    it('sends the Mentor only his Mentor role, and Elrond the TeachingAssistant sub-role', async () => {
      const mentor = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().mentor.id));
      expect(mentor[CLAIM.roles]).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor']);
      const elrond = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().elrond.id));
      expect(elrond[CLAIM.roles]).to.deep.equal(['http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant']);
    });

    it('leaves out the service claims the course does not permit', async () => {
      const { course, learnerIds } = h.sandbox.store.createCourse({ title: 'No services', quirks: 'standard', learners: 1, items: 1 });
      h.sandbox.store.setPermittedScopes(course.id, []);
      const c = await h.launchClaims(h.sandbox.launchUrl(course.id, learnerIds[0]));
      expect(c).not.to.have.property(CLAIM.ags);
      expect(c).not.to.have.property(CLAIM.nrps);
      expect(c[CLAIM.platform]).to.include({ product_family_code: 'sandbox' });
    });

    it('makes the launch deliberately wrong on request (expired, wrong audience, unknown deployment)', async () => {
      const expired = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id, { fault: 'expired' }));
      expect(expired.exp as number).to.be.below(Date.now() / 1000);
      const aud = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id, { fault: 'wrong-audience' }));
      expect(aud.aud).to.not.equal(h.sandbox.registration.clientId);
      const dep = await h.launchClaims(h.sandbox.launchUrl(demo().courseIds.moodle, demo().bilbo.id, { fault: 'unknown-deployment' }));
      expect(dep[CLAIM.deploymentId]).to.not.equal('1');
    });

    it('refuses a launch as someone removed from the course', async () => {
      const { course, learnerIds } = h.sandbox.store.createCourse({ title: 'Leavers', quirks: 'moodle', learners: 2, items: 1 });
      h.sandbox.store.removeMember(course.id, learnerIds[0]);
      const res = await fetch(h.sandbox.launchUrl(course.id, learnerIds[0]), { redirect: 'manual' });
      expect(res.status).to.equal(400);
    });
  });
});

import { expect } from 'chai';
import { SCOPES, startHarness, type Harness } from './harness';

const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration';

describe('sandbox LMS: dynamic registration (Moodle-like)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ seedDemo: false });
  });
  after(() => h.close());

  const registration = () => ({
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: `${h.tool.origin}/dyn/login`,
    redirect_uris: [`${h.tool.origin}/dyn/launch`],
    client_name: 'Certificates (dynamic)',
    jwks_uri: h.tool.keysetUrl,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: `${SCOPES.lineItemReadonly} ${SCOPES.resultReadonly} ${SCOPES.nrps} https://example.org/unknown`,
    [TOOL_CONFIG]: {
      domain: new URL(h.tool.origin).host,
      target_link_uri: `${h.tool.origin}/dyn/launch`,
      claims: ['iss', 'sub', 'name'],
      messages: [{ type: 'LtiResourceLinkRequest' }, { type: 'LtiDeepLinkingRequest', target_link_uri: `${h.tool.origin}/dyn/launch` }],
    },
  });

  const register = (token: string | undefined, body: unknown) =>
    fetch(`${h.sandbox.issuer}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('publishes a Moodle-like openid-configuration', async () => {
    const res = await fetch(`${h.sandbox.issuer}/.well-known/openid-configuration`);
    const config = (await res.json()) as Record<string, unknown>;
    expect(config).to.include({ issuer: h.sandbox.issuer, authorization_endpoint: h.sandbox.registration.authUrl, token_endpoint: h.sandbox.registration.tokenUrl, jwks_uri: h.sandbox.registration.jwksUrl, registration_endpoint: `${h.sandbox.issuer}/register` });
    expect(config.response_types_supported).to.deep.equal(['id_token']);
    expect(config.id_token_signing_alg_values_supported).to.deep.equal(['RS256']);
    expect(config.scopes_supported).to.include(SCOPES.score);
    expect(config['https://purl.imsglobal.org/spec/lti-platform-configuration']).to.deep.include({ product_family_code: 'moodle' });
  });

  it('gives the tool URL with openid_configuration and a registration_token', () => {
    const started = h.sandbox.startDynamicRegistration();
    const url = new URL(started.url);
    expect(`${url.origin}${url.pathname}`).to.equal(h.tool.dynamicRegistrationUrl);
    expect(url.searchParams.get('openid_configuration')).to.equal(`${h.sandbox.issuer}/.well-known/openid-configuration`);
    expect(url.searchParams.get('registration_token')).to.equal(started.token);
  });

  it('registers the tool once per token, answers client_id and deployment_id, and the new client can launch and get tokens', async () => {
    const { token, clientId } = h.sandbox.startDynamicRegistration();
    const res = await register(token, registration());
    expect(res.status).to.equal(200);
    const body = (await res.json()) as Record<string, unknown> & { [TOOL_CONFIG]: Record<string, unknown> };
    expect(body.client_id).to.equal(clientId);
    expect(body[TOOL_CONFIG].deployment_id).to.be.a('string').and.not.equal('1');
    expect(body.scope).to.equal(`${SCOPES.lineItemReadonly} ${SCOPES.resultReadonly} ${SCOPES.nrps}`);

    const reuse = await register(token, registration());
    expect(reuse.status).to.equal(401);

    const { course, learnerIds } = h.sandbox.store.createCourse({ title: 'Dynamic', quirks: 'moodle', learners: 1, items: 1 });
    const login = await h.loginInitiation(h.sandbox.launchUrl(course.id, learnerIds[0], { clientId }));
    expect(login.get('client_id')).to.equal(clientId);
    expect(login.get('lti_deployment_id')).to.equal(body[TOOL_CONFIG].deployment_id);
    const claims = await h.launchClaims(h.sandbox.launchUrl(course.id, learnerIds[0], { clientId }));
    expect(claims.aud).to.equal(clientId);
    expect((claims['https://purl.imsglobal.org/spec/lti-ags/claim/endpoint'] as { scope: string[] }).scope).to.have.members([SCOPES.lineItemReadonly, SCOPES.resultReadonly]);

    const granted = await h.requestToken(`${SCOPES.nrps} ${SCOPES.score}`, await h.assertion({ clientId }));
    expect(granted.status).to.equal(200);
    expect(((await granted.json()) as { scope: string }).scope, 'only what it registered').to.equal(SCOPES.nrps);
  });

  it('refuses a request without a token, or with a token it did not issue', async () => {
    expect((await register(undefined, registration())).status).to.equal(401);
    const other = h.sandbox.startDynamicRegistration().token.split('.');
    const forged = `${other[0]}.${other[1]}.${'A'.repeat(other[2].length)}`;
    expect((await register(forged, registration())).status).to.equal(401);
  });

  it('refuses an invalid registration with 400 and keeps the token usable', async () => {
    const { token } = h.sandbox.startDynamicRegistration();
    for (const broken of [
      { ...registration(), token_endpoint_auth_method: 'client_secret_basic' },
      { ...registration(), grant_types: ['implicit'] },
      { ...registration(), redirect_uris: [] },
      { ...registration(), [TOOL_CONFIG]: { messages: [] } },
    ]) {
      const res = await register(token, broken);
      expect(res.status).to.equal(400);
      expect(await res.json()).to.include({ error: 'invalid_client_metadata' });
    }
    expect((await register(token, registration())).status).to.equal(200);
  });

  it('shows a page that opens the tool in an iframe and listens for org.imsglobal.lti.close', async () => {
    const html = await (await fetch(`${h.sandbox.issuer}/register-tool`)).text();
    expect(html).to.contain('id="registration-frame"').and.contain('org.imsglobal.lti.close').and.contain('registration_token');
    expect(html).to.contain(h.tool.dynamicRegistrationUrl);
  });
});

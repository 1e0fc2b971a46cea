/**
 * Signed Open Badges 3.0 credentials, checked by a verifier that is not ours
 * (test/credentials/independent-verifier.ts) against the running tool over HTTP.
 */
import { expect } from 'chai';
import { certificateSource, credentialFor, credentialUrls, rotateKey } from '../../src/credentials';
import { localDocumentLoader, DocumentNotLocalError } from '../../src/credentials/contexts';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { startTestApp, type TestApp } from '../support/app';
import { buildIssuedCertificate, teacher } from '../support/builders';
import { schemaErrors, verifyIndependently } from './independent-verifier';
import { credentialDeps } from '../../src/web/verify-credentials.routes';

const vmOf = (c: { proof: unknown }) => ([c.proof].flat()[0] as { verificationMethod: string }).verificationMethod;

describe('Open Badges 3.0 credentials', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const deps = () => credentialDeps(t.app.ctx);

  async function freshCredential(name = 'Frodo Baggins') {
    const issue = await buildIssuedCertificate(t.db.connection, { learner: { userId: `u-${Math.random().toString(36).slice(2)}`, name }, now: new Date() });
    const { credential } = await credentialFor(deps(), certificateSource(issue));
    return { issue, credential };
  }

  it('signs a credential that an independent verifier accepts, valid against the OB 3.0 JSON Schema', async () => {
    const { issue, credential } = await freshCredential();
    expect(credential.type).to.deep.equal(['VerifiableCredential', 'OpenBadgeCredential']);
    expect(([credential.proof].flat()[0] as { cryptosuite: string }).cryptosuite).to.equal('eddsa-rdfc-2022');
    const subject = credential.credentialSubject as { name: string; achievement: { name: string; criteria: { narrative: string } }; result: Array<{ value: string }> };
    expect(subject.name).to.equal('Frodo Baggins');
    expect(subject.achievement.name).to.equal(issue.title);
    expect(subject.achievement.criteria.narrative).to.match(/at least 80%/);
    expect(subject.result[0]!.value).to.equal(String(issue.scorePercent));
    expect(schemaErrors(credential)).to.deep.equal([]);
    const r = await verifyIndependently(credential);
    expect(r.errors, JSON.stringify(r.raw, null, 1).slice(0, 3000)).to.deep.equal([]);
    expect(r.signature).to.equal(true);
    expect(r.revoked).to.equal(false);
  });

  it('fails the proof of a tampered credential (another name)', async () => {
    const { credential } = await freshCredential();
    const tampered = structuredClone(credential) as typeof credential & { credentialSubject: { name: string } };
    tampered.credentialSubject.name = 'Sauron';
    const r = await verifyIndependently(tampered);
    expect(r.signature).to.equal(false);
  });

  it('fails the status check once the certificate is revoked', async () => {
    const { issue, credential } = await freshCredential();
    await revokeCertificate(t.db.connection, { courseId: issue.courseId, issueId: issue._id, by: teacher, reason: 'issued by mistake', now: () => new Date() });
    const r = await verifyIndependently(credential);
    expect(r.signature).to.equal(true);
    expect(r.revoked).to.equal(true);
  });

  it('still verifies a credential signed before a key rotation', async () => {
    const { credential: before } = await freshCredential();
    await rotateKey({ ...deps(), urls: credentialUrls(t.config.publicUrl) });
    const { credential: after } = await freshCredential('Samwise Gamgee');
    expect(vmOf(after)).not.to.equal(vmOf(before));
    for (const c of [before, after]) {
      const r = await verifyIndependently(c);
      expect(r.errors).to.deep.equal([]);
      expect(r.signature).to.equal(true);
    }
    const profile = (await (await fetch(`${t.baseUrl}/issuer`)).json()) as { assertionMethod: string[] };
    expect(profile.assertionMethod).to.include(vmOf(before));
  });

  it('loads JSON-LD contexts only from packages: any other URL is refused without a request', async () => {
    const load = localDocumentLoader();
    expect((await load('https://www.w3.org/ns/credentials/v2')).document).to.have.property('@context');
    let refused: unknown;
    await load('http://127.0.0.1:9/evil-context.jsonld').catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(DocumentNotLocalError);
  });
});

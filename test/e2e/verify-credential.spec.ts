/**
 * The verifier page, /verify/credential: paste or upload any Open Badges 3.0 credential and see
 * the proof, the status entry, the issuer and the dates — without the server fetching anything
 * a pasted credential names (the test network guard fails any such attempt).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import { reissueCertificate } from '../../src/certificates/reissue.service';
import { revokeCertificate } from '../../src/certificates/revoke.service';
import { bake, badgePng, certificateSource, credentialFor } from '../../src/credentials';
import { localDocumentLoader } from '../../src/credentials/contexts';
import { credentialDeps } from '../../src/web/verify-credentials.routes';
import { startTestApp, type TestApp } from '../support/app';
import { buildIssuedCertificate, teacher } from '../support/builders';
import { attr, maybe, one, parseHtml, text } from '../support/html';

let ipNo = 1;

describe('POST /verify/credential (the verifier page)', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  async function ours(name = 'Frodo Baggins') {
    const issue = await buildIssuedCertificate(t.db.connection, { learner: { userId: `vc-${randomBytes(4).toString('hex')}`, name }, now: new Date() });
    const { credential, doc } = await credentialFor(credentialDeps(t.app.ctx), certificateSource(issue));
    return { issue, credential, json: doc.json };
  }

  async function submit(fields: { credential?: string; file?: { data: Buffer; name: string; type: string } }) {
    const form = new FormData();
    if (fields.credential !== undefined) form.set('credential', fields.credential);
    if (fields.file) form.set('file', new Blob([new Uint8Array(fields.file.data)], { type: fields.file.type }), fields.file.name);
    const res = await fetch(`${t.baseUrl}/verify/credential`, { method: 'POST', body: form, headers: { 'x-forwarded-for': `198.51.103.${ipNo++}` } });
    const doc = parseHtml(await res.text());
    return { status: res.status, doc, check: maybe(doc, '[data-check]') };
  }

  /** A credential of another issuer, identified by did:key (verifiable without any network). */
  async function didKeyCredential(extra: Record<string, unknown> = {}) {
    const key = await Ed25519Multikey.generate();
    const did = `did:key:${key.publicKeyMultibase}`;
    key.id = `${did}#${key.publicKeyMultibase}`;
    key.controller = did;
    const credential = {
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'],
      id: 'urn:uuid:2f7a1c1e-9a52-4b1e-8d1f-1f4c9b1b1a01',
      type: ['VerifiableCredential', 'OpenBadgeCredential'],
      name: 'Elsewhere Badge',
      issuer: { id: did, type: ['Profile'], name: 'Another Academy' },
      validFrom: '2025-01-01T00:00:00Z',
      credentialSubject: { type: ['AchievementSubject'], name: 'Sam Gamgee', achievement: { id: 'urn:uuid:7d0b6a57-7d0b-4a57-9d0b-6a577d0b6a57', type: ['Achievement'], name: 'Elsewhere Badge', description: 'x', criteria: { narrative: 'y' } } },
      ...extra,
    };
    const suite = new DataIntegrityProof({ signer: key.signer(), cryptosuite: eddsaRdfc2022 });
    return vc.issue({ credential, suite, documentLoader: localDocumentLoader() });
  }

  it('verifies a fresh credential of ours: signature, not revoked, in force, issuer and holder', async () => {
    const { credential, issue } = await ours();
    const { status, check } = await submit({ credential: JSON.stringify(credential) });
    expect(status).to.equal(200);
    expect(check!.getAttribute('data-overall')).to.equal('true');
    expect(attr(check!, '[data-proof]', 'data-proof')).to.equal('verified');
    expect(attr(check!, '[data-status-check]', 'data-status-check')).to.equal('valid');
    expect(text(check!, '[data-issuer]')).to.include('University of Rivendell');
    expect(text(check!, '[data-holder]')).to.equal('Frodo Baggins');
    expect(attr(check!, 'a[data-verify-page]', 'href')).to.equal(`${t.baseUrl}/verify/${issue.code}`);
  });

  it('reads a baked PNG badge the same way', async () => {
    const { json } = await ours();
    const { check } = await submit({ file: { data: bake(badgePng('#1a5fb4'), json), name: 'badge.png', type: 'image/png' } });
    expect(check!.getAttribute('data-overall')).to.equal('true');
  });

  it('says the signature does not match for a tampered credential', async () => {
    const { credential } = await ours();
    const tampered = { ...credential, credentialSubject: { ...(credential.credentialSubject as object), name: 'Gollum' } };
    const { check } = await submit({ credential: JSON.stringify(tampered) });
    expect(check!.getAttribute('data-overall')).to.equal('false');
    expect(attr(check!, '[data-proof]', 'data-proof')).to.equal('invalid');
    expect(text(check!, '[data-proof]')).to.include('changed after signing');
  });

  it('says revoked for a revoked certificate, and superseded with a link to the newer version', async () => {
    const a = await ours();
    await revokeCertificate(t.db.connection, { courseId: a.issue.courseId, issueId: a.issue._id, by: teacher, reason: 'mistake', now: () => new Date() });
    const revoked = await submit({ credential: a.json });
    expect(attr(revoked.check!, '[data-status-check]', 'data-status-check')).to.equal('revoked');
    expect(text(revoked.check!, '[data-status-check]')).to.include('revoked by the issuer');
    const b = await ours('Merry Brandybuck');
    const { certificate: newer } = await reissueCertificate(t.db.connection, { courseId: b.issue.courseId, issueId: b.issue._id, by: teacher, now: () => new Date(), random: randomBytes });
    const superseded = await submit({ credential: b.json });
    expect(attr(superseded.check!, '[data-status-check]', 'data-status-check')).to.equal('revoked');
    expect(text(superseded.check!, '[data-status-check]')).to.include('replaced by a newer version');
    expect(attr(superseded.check!, 'a[data-newer]', 'href')).to.equal(`${t.baseUrl}/verify/${newer.code}`);
  });

  it('verifies another issuer\'s did:key credential offline, and says its status list is not fetched', async () => {
    const other = await didKeyCredential({
      credentialStatus: { id: 'http://169.254.169.254/latest/meta-data#1', type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: '1', statusListCredential: 'http://169.254.169.254/latest/meta-data' },
    });
    const { check } = await submit({ credential: JSON.stringify(other) });
    expect(attr(check!, '[data-proof]', 'data-proof')).to.equal('verified');
    expect(attr(check!, '[data-status-check]', 'data-status-check')).to.equal('not_local');
    expect(text(check!, '[data-status-check]')).to.include('does not fetch');
    expect(text(check!, '[data-issuer]')).to.include('Another Academy');
  });

  it('does not fetch another issuer\'s https key (SSRF): says the key is at an address it does not fetch', async () => {
    const signed = (await didKeyCredential()) as Record<string, unknown> & { proof: Record<string, unknown> };
    signed.proof.verificationMethod = 'http://10.0.0.1:8080/keys/1';
    const { check } = await submit({ credential: JSON.stringify(signed) });
    expect(attr(check!, '[data-proof]', 'data-proof')).to.equal('key_not_local');
    expect(text(check!, '[data-proof]')).to.include('http://10.0.0.1:8080/keys/1');
  });

  it('judges the proof of an expired credential apart from its dates', async () => {
    const expired = await didKeyCredential({ validUntil: '2025-02-01T00:00:00Z' });
    const { check } = await submit({ credential: JSON.stringify(expired) });
    expect(attr(check!, '[data-proof]', 'data-proof')).to.equal('verified');
    expect(attr(check!, '[data-dates]', 'data-dates')).to.equal('expired');
    expect(check!.getAttribute('data-overall')).to.equal('false');
  });

  it('refuses what is not a credential with the reason: not JSON (422), nothing given (400), a PNG without one (422)', async () => {
    const notJson = await submit({ credential: 'hello' });
    expect(notJson.status).to.equal(422);
    expect(attr(notJson.doc, '[data-problem]', 'data-problem')).to.equal('notJson');
    expect((await submit({ credential: '' })).status).to.equal(400);
    const png = await submit({ file: { data: badgePng('#000000'), name: 'plain.png', type: 'image/png' } });
    expect(png.status).to.equal(422);
    expect(text(one(png.doc, '[data-problem]'))).to.include('no Open Badges credential');
  });

  it('GET shows the form, linked from the verification page', async () => {
    const res = await fetch(`${t.baseUrl}/verify/credential`);
    expect(res.status).to.equal(200);
    expect(maybe(parseHtml(await res.text()), 'form[action="/verify/credential"] textarea[name=credential]')).not.to.equal(null);
    const verify = parseHtml(await (await fetch(`${t.baseUrl}/verify`, { headers: { 'x-forwarded-for': `198.51.103.${ipNo++}` } })).text());
    expect(attr(verify, 'a[data-verifier-link]', 'href')).to.equal('/verify/credential');
  });
});

/**
 * An awarded certification is also a signed Open Badges 3.0 credential (#12: "every issued
 * certificate and certification"), checked by the independent verifier against the running tool;
 * its verification page confirms what was certified and shows the holder by their choice.
 */
import { expect } from 'chai';
import { awardModel } from '../../src/certifications/award.model';
import { certificationModel } from '../../src/certifications/certification.model';
import { unbake } from '../../src/credentials/bake';
import { startTestApp, type TestApp } from '../support/app';
import { launchAs } from '../support/e2e';
import { attr, one, parseHtml } from '../support/html';
import { schemaErrors, verifyIndependently } from '../credentials/independent-verifier';
import { adminLaunch, buildWorld, programmeForm, type World } from './world';

describe('Awarded certifications as Open Badges 3.0 credentials', function () {
  this.timeout(90_000);
  let t: TestApp;
  let w: World;
  let certificationId: string;
  let learner: Awaited<ReturnType<typeof launchAs>>;

  before(async () => {
    t = await startTestApp();
    w = await buildWorld(t, 2);
    const { browser, app } = await adminLaunch(t, w);
    const name = `Data Steward ${Date.now()}`;
    expect((await browser.request(`${app}/certifications/manage`, { form: programmeForm(w.courses.slice(0, 1), { name }) })).status).to.equal(303);
    certificationId = String((await certificationModel(t.db.connection).findOne({ name }).lean())!._id);
    learner = await launchAs(t, w.courses[0]!.sandboxId, w.learnerId);
    expect((await learner.browser.request(`${learner.app}/learner/claim`, { form: { definitionId: String(w.courses[0]!.definition._id) } })).status).to.equal(303);
  });

  const award = async () => (await awardModel(t.db.connection).findOne({ certificationId }).sort({ version: -1 }).lean())!;
  const panel = async () => {
    const page = parseHtml((await learner.browser.open(`${learner.app}/certifications/${certificationId}`)).html);
    return { json: attr(page, '[data-credential-json]', 'href')!, png: attr(page, '[data-credential-png]', 'href')!, linkedIn: attr(page, '[data-linkedin]', 'href')!, choice: attr(page, '[data-name-choice]', 'action')! };
  };
  const absolute = (href: string) => new URL(href, t.baseUrl).href;

  it('downloads from the certification page as JSON and as a baked PNG, both verifying independently', async () => {
    const a = await award();
    const links = await panel();
    const res = await learner.browser.request(absolute(links.json));
    expect(res.status).to.equal(200);
    const credential = JSON.parse(await res.text()) as Record<string, unknown> & { credentialSubject: { name: string; achievement: { name: string; criteria: { narrative: string } } } };
    expect(credential.type).to.deep.equal(['VerifiableCredential', 'OpenBadgeCredential']);
    expect(credential.credentialSubject.name).to.equal(a.learnerName);
    expect(credential.credentialSubject.achievement.name).to.equal(a.name);
    expect(credential.credentialSubject.achievement.criteria.narrative).to.contain(w.courses[0]!.tool.title);
    expect(credential.validFrom).to.equal(a.completedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(schemaErrors(credential)).to.deep.equal([]);
    const r = await verifyIndependently(credential);
    expect(r.errors, JSON.stringify(r.raw).slice(0, 2000)).to.deep.equal([]);
    expect(r.signature).to.equal(true);
    expect(r.revoked).to.equal(false);

    const png = await learner.browser.request(absolute(links.png));
    expect(png.status).to.equal(200);
    expect(JSON.parse(unbake(Buffer.from(await png.arrayBuffer()))!)).to.deep.equal(credential);
    const linkedIn = new URL(links.linkedIn);
    expect(linkedIn.searchParams.get('name')).to.equal(a.name);
    expect(linkedIn.searchParams.get('certId')).to.equal(a.code);
  });

  it('confirms what was certified on /verify and shows the holder only while they choose to', async () => {
    const a = await award();
    const shown = (await (await fetch(`${t.baseUrl}/verify/${a.code}.json`)).json()) as { certification: { name: string; learnerName?: string }; credentialUrl?: string };
    expect(shown.certification).to.include({ name: a.name, learnerName: a.learnerName });
    expect((await fetch(`${t.baseUrl}/credentials/${a.code}`)).status).to.equal(200);

    const links = await panel();
    expect((await learner.browser.request(absolute(links.choice), { form: {} })).status).to.equal(303);
    const hidden = (await (await fetch(`${t.baseUrl}/verify/${a.code}.json`)).json()) as { certification: { name: string; learnerName?: string }; credentialUrl?: string };
    expect(hidden.certification.name).to.equal(a.name);
    expect(hidden.certification).not.to.have.property('learnerName');
    expect(hidden).not.to.have.property('credentialUrl');
    const page = parseHtml(await (await fetch(`${t.baseUrl}/verify/${a.code}`)).text());
    expect(one(page, '[data-name-hidden]').text).to.not.equal('');
    expect((await fetch(`${t.baseUrl}/credentials/${a.code}`)).status).to.equal(404);
    expect((await learner.browser.request(absolute(links.choice), { form: { showName: 'on' } })).status).to.equal(303);
    expect((await fetch(`${t.baseUrl}/credentials/${a.code}`)).status).to.equal(200);
  });

  it('fails the status check once the course certificate it rests on is revoked (and is no longer handed out)', async () => {
    const before = await award();
    const links = await panel();
    const credential = JSON.parse(await (await learner.browser.request(absolute(links.json))).text()) as unknown;
    const teacher = await launchAs(t, w.courses[0]!.sandboxId, w.courses[0]!.teacherId);
    const issue = await t.db.connection.collection('certificate_issues').findOne({ definitionId: w.courses[0]!.definition._id, status: 'active' });
    const revoked = await teacher.browser.request(`${teacher.app}/teacher/certificates/${String(issue!._id)}/delete`, { form: { reason: 'issued by mistake' } });
    expect(revoked.status, await revoked.text()).to.be.oneOf([302, 303]);
    expect((await awardModel(t.db.connection).findById(before._id).lean())!.status).to.equal('revoked');
    const r = await verifyIndependently(credential);
    expect(r.signature).to.equal(true);
    expect(r.revoked).to.equal(true);
    expect((await learner.browser.request(absolute(links.json))).status).to.equal(409);
  });
});

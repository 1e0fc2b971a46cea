/**
 * E-mail through the whole tool: the teacher ticks "e-mail the learner" on a certificate, the
 * learner claims it and gets the mail (in their launch's language, linking to the certificate);
 * reminders before expiry; /admin says where mail goes. The tool sends to the test's own SMTP
 * server (test/support/app.ts sets SMTP_URL to it).
 */
import { expect } from 'chai';
import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueModel } from '../../src/certificates/issue.model';
import { createMailService, createSmtpTransport, enqueueMail, outboxModel } from '../../src/mail';
import { startSandboxMailbox } from '../../src/sandbox/mailbox';
import { startTestApp, type TestApp } from '../support/app';
import { HttpBrowser } from '../support/browser';
import { connectTestDatabase } from '../support/db';
import { defineCertificate, issueFor, launchAs, sandboxCourse, subjectOf, toolCourse, definitionFormFields } from '../support/e2e';
import { all, parseHtml, text } from '../support/html';

const DAY = 24 * 3600 * 1000;

const definitionFields = (overrides: Record<string, string> = {}): Record<string, string> => definitionFormFields({ title: 'First aid', ...overrides });

describe('E-mail in the tool', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  const mailTo = (address: string) => t.smtp.messages.filter((m) => m.to.includes(address.toLowerCase()));

  describe('POST /learner/claim on a certificate that mails', () => {
    it('mails the learner in Dutch, with a link to the certificate that opens, when the teacher opted in', async () => {
      const c = sandboxCourse(t, { scores: [[10, 9]] });
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      learner.locale = 'nl-NL';
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      const created = await teacher.browser.open(`${teacher.app}/teacher/definitions`, { form: definitionFields({ mailOnIssue: 'on' }) });
      expect(created.url).to.match(/\?notice=created$/);
      const definitionId = /\/definitions\/([0-9a-f]{24})/.exec(created.url)![1]!;
      // the form shows the choice ticked when opened again
      const editForm = parseHtml((await teacher.browser.open(`${teacher.app}/teacher/definitions/${definitionId}/edit`)).html);
      expect(all(editForm, '#f-mailOnIssue[checked]')).to.have.length(1);

      const l = await launchAs(t, c.course.id, c.learnerIds[0]!);
      const claimed = await l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
      expect(claimed.status).to.be.lessThan(400);
      await t.app.mail.flush();
      const [mail] = await t.smtp.waitFor((m) => m.to.includes(learner.email!.toLowerCase()));
      const issue = (await issueModel(t.db.connection).findOne({ definitionId, userId: subjectOf(t, c, learner.id) }).lean())!;
      expect(mail!.subject).to.equal('Je certificaat: First aid');
      expect(mail!.language).to.equal('nl');
      expect(mail!.text).to.include(`Hallo ${learner.givenName} ${learner.familyName},`).and.include('is uitgereikt op');
      expect(mail!.links).to.deep.equal([`${t.baseUrl}/verify/${issue.code}`]);
      const verify = await fetch(mail!.links[0]!);
      expect(verify.status).to.equal(200);
      expect(await verify.text()).to.include(issue.code);
      // claiming again (a second click) sends nothing more
      await l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
      await t.app.mail.flush();
      expect(mailTo(learner.email!)).to.have.length(1);
    });

    it('sends nothing when the teacher did not opt in', async () => {
      const c = sandboxCourse(t, { scores: [[10, 9]] });
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      const teacher = await launchAs(t, c.course.id, c.teacherIds[0]!);
      const created = await teacher.browser.open(`${teacher.app}/teacher/definitions`, { form: definitionFields() });
      const definitionId = /\/definitions\/([0-9a-f]{24})/.exec(created.url)![1]!;
      const l = await launchAs(t, c.course.id, c.learnerIds[0]!);
      await l.browser.request(`${l.app}/learner/claim`, { form: { definitionId } });
      await t.app.mail.flush();
      expect(await issueModel(t.db.connection).countDocuments({ definitionId })).to.equal(1);
      expect(mailTo(learner.email!)).to.have.length(0);
    });
  });

  describe('reminders before expiry', () => {
    it('mails "expires in 7 days", once however often the scan runs, and "expired today" after expiry', async () => {
      const c = sandboxCourse(t, { scores: [[10, 9]] });
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      await launchAs(t, c.course.id, c.learnerIds[0]!);
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id, { title: 'Forklift licence', validity: { kind: 'recurring', validForMonths: 12 } });
      const issue = await issueFor(t, course._id, def, { userId: subjectOf(t, c, learner.id), name: 'Rosie Cotton' });
      const Issue = issueModel(t.db.connection);
      const expiresAt = new Date(Date.now() + 7 * DAY - 3600_000);
      await Issue.updateOne({ _id: issue._id }, { $set: { expiresAt } });

      await t.app.mail.runReminderScan();
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      const [reminder] = await t.smtp.waitFor((m) => m.to.includes(learner.email!.toLowerCase()));
      expect(reminder!.subject).to.equal('Expires in 7 days: Forklift licence');
      expect(reminder!.links).to.deep.equal([`${t.baseUrl}/verify/${issue.code}`]);

      // a week later it has expired: one more mail, the last
      await Issue.updateOne({ _id: issue._id }, { $set: { expiresAt: new Date(Date.now() - 3600_000) } });
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      const both = await t.smtp.waitFor((m) => m.to.includes(learner.email!.toLowerCase()), 2);
      expect(both.map((m) => m.subject)).to.deep.equal(['Expires in 7 days: Forklift licence', 'Expired today: Forklift licence']);
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      expect(mailTo(learner.email!)).to.have.length(2);
      // and the page it links to says so
      expect(await (await fetch(both[1]!.links[0]!)).text()).to.match(/[Ee]xpired/);
    });

    it('sends no reminder for a revoked certificate', async () => {
      const c = sandboxCourse(t, { scores: [[10, 9]] });
      const learner = t.sandbox.store.getUser(c.learnerIds[0]!)!;
      await launchAs(t, c.course.id, c.learnerIds[0]!);
      const course = await toolCourse(t, c);
      const def = await defineCertificate(t, course._id, { validity: { kind: 'recurring', validForMonths: 12 } });
      const issue = await issueFor(t, course._id, def, { userId: subjectOf(t, c, learner.id), name: 'Lotho Sackville' });
      await issueModel(t.db.connection).updateOne({ _id: issue._id }, { $set: { expiresAt: new Date(Date.now() + 2 * DAY), status: 'revoked' }, $unset: { activeKey: 1 } });
      await t.app.mail.runReminderScan();
      await t.app.mail.flush();
      expect(await outboxModel(t.db.connection).countDocuments({ key: { $regex: String(issue._id) } })).to.equal(0);
    });
  });

  describe('GET /admin', () => {
    it('says where mail goes and how the outbox stands', async () => {
      const admin = new HttpBrowser();
      await admin.request(`${t.baseUrl}/admin/login`, { form: { secret: t.config.adminSecret } });
      const doc = parseHtml((await admin.open(`${t.baseUrl}/admin`)).html);
      expect(text(doc, '#mail')).to.include(`Mail is sent through smtp://127.0.0.1:${t.smtp.port} as Certificates <certificates@tool.test>`);
      expect(text(doc, '#mail')).to.include('Reminders 30, 7, 0 days before expiry');
    });
  });

  describe('the sandbox mailbox', () => {
    it('is linked from the sandbox home page, and says where mail goes when SMTP_URL is set', async () => {
      const home = parseHtml(await (await fetch(`${t.baseUrl}/sandbox/`)).text());
      expect(all(home, 'a#mailbox-link').map((a) => a.getAttribute('href'))).to.deep.equal([`${t.baseUrl}/sandbox/mailbox`]);
      const page = await fetch(`${t.baseUrl}/sandbox/mailbox`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include('With <code>SMTP_URL</code> set, mail goes to that server instead');
    });

    it('shows the mail the tool would have sent, to whom and in which language', async () => {
      const mailbox = await startSandboxMailbox();
      const transport = createSmtpTransport(mailbox.server.url);
      const web = express().use('/sandbox/mailbox', mailbox.router);
      const server = createServer(web);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      // a database of its own: the shared app's outbox job would send this mail to the test's SMTP server
      const db = await connectTestDatabase();
      try {
        const conn = db.connection;
        const service = createMailService({ conn, now: () => new Date(), transport, destination: 'the sandbox mailbox', from: 'Certificates <c@tool.test>', publicUrl: t.baseUrl, reminderDays: [7] });
        service.start();
        const to = `mailbox.${Date.now()}@example.org`;
        await enqueueMail(conn, { key: `mailbox:${to}`, template: 'proof.approved', to: { email: to, name: 'Merry Brandybuck', locale: 'nl' }, params: { title: 'Zwemdiploma', completedAt: new Date('2026-11-20T00:00:00Z'), link: '/x' }, now: new Date() });
        await service.flush();
        await mailbox.server.waitFor((m) => m.to.includes(to));
        const page = parseHtml(await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox/mailbox?to=${encodeURIComponent(to)}`)).text());
        const card = all(page, 'article.mail');
        expect(card).to.have.length(1);
        expect(text(card[0]!, 'h2')).to.equal('Bewijs goedgekeurd: Zwemdiploma');
        expect(text(card[0]!, 'p.muted')).to.include(to).and.include('language nl');
        await service.stop();
      } finally {
        await db.close();
        transport.close();
        server.close();
        await mailbox.close();
      }
    });
  });
});

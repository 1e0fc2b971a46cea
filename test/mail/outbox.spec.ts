/**
 * The outbox (src/mail/outbox.ts): an event recorded any number of times is sent once, two
 * senders never send the same message, failures are retried with backoff and permanent ones
 * stop; delivered to an SMTP server of the test's own, which parses what arrived.
 */
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { deliverDue, enqueueMail, outboxModel, recipientModel, createSmtpTransport, createMailService, currentReminder } from '../../src/mail';
import { startCaptureServer, type CaptureServer } from '../../src/mail/capture-server';
import type { Database } from '../../src/db/connect';
import { connectTestDatabase } from '../support/db';

const FROM = 'Certificates <certificates@tool.test>';
const PUBLIC_URL = 'https://certificates.example.edu';
const DAY = 24 * 3600 * 1000;

describe('The mail outbox', function () {
  this.timeout(30_000);
  let db: Database;
  let conn: Connection;
  let smtp: CaptureServer;
  let transport: ReturnType<typeof createSmtpTransport>;
  let n = 0;
  /** A fresh address per test: tests never see each other's mail. */
  const address = () => `learner${++n}.${Date.now()}@example.org`;
  const deliver = (now = new Date(), extra: Partial<Parameters<typeof deliverDue>[1]> = {}) =>
    deliverDue(conn, { transport, from: FROM, publicUrl: PUBLIC_URL, now: () => now, backoffMs: 60_000, ...extra });
  const record = (key: string, email: string, extra: Partial<Parameters<typeof enqueueMail>[1]> = {}) =>
    enqueueMail(conn, { key, template: 'proof.rejected', to: { email, name: 'Frodo Baggins' }, params: { title: 'First aid', reason: 'The scan is unreadable.', link: '/proofs/1' }, now: new Date(), ...extra });

  before(async () => {
    db = await connectTestDatabase();
    conn = db.connection;
    await outboxModel(conn).createIndexes();
    await recipientModel(conn).createIndexes();
    smtp = await startCaptureServer();
    transport = createSmtpTransport(smtp.url);
  });
  after(async () => {
    transport.close();
    await smtp.close();
    await db.close();
  });

  it('sends an event recorded three times (at once) exactly once, with its link on the public URL', async () => {
    const to = address();
    const results = await Promise.all([1, 2, 3].map(() => record(`proof.rejected:${to}`, to)));
    expect(results.filter((r) => r.queued && !r.duplicate)).to.have.length(1);
    await deliver();
    await deliver();
    const got = await smtp.waitFor((m) => m.to.includes(to));
    await new Promise((r) => setTimeout(r, 100));
    expect(smtp.messages.filter((m) => m.to.includes(to))).to.have.length(1);
    expect(got[0]!.subject).to.equal('Proof not accepted: First aid');
    expect(got[0]!.text).to.include('Hello Frodo Baggins,').and.include('Reason: The scan is unreadable.');
    expect(got[0]!.links).to.deep.equal([`${PUBLIC_URL}/proofs/1`]);
    expect(got[0]!.from).to.equal('certificates@tool.test');
    expect((await outboxModel(conn).findOne({ key: `proof.rejected:${to}` }).lean())!.status).to.equal('sent');
  });

  it('sends each of 40 messages once when two instances send at the same time', async () => {
    const to = Array.from({ length: 40 }, address);
    for (const a of to) await record(`bulk:${a}`, a);
    const other = createSmtpTransport(smtp.url);
    try {
      const [a, b] = await Promise.all([deliver(new Date(), { parallel: 3 }), deliver(new Date(), { parallel: 3, transport: other })]);
      expect(a.sent + b.sent).to.equal(40);
    } finally {
      other.close();
    }
    const arrived = smtp.messages.filter((m) => to.includes(m.to[0]!));
    expect(arrived).to.have.length(40);
    expect(new Set(arrived.map((m) => m.to[0])).size).to.equal(40);
  });

  it('retries a temporary SMTP refusal (451) after its backoff, and sends it then', async () => {
    const to = address();
    await record(`retry:${to}`, to);
    smtp.failNext(1, 451);
    const t0 = new Date();
    const first = await deliver(t0);
    expect(first).to.include({ sent: 0, retrying: 1 });
    const doc = (await outboxModel(conn).findOne({ key: `retry:${to}` }).lean())!;
    expect(doc).to.include({ status: 'pending', attempts: 1 });
    expect(doc.lastError).to.match(/451|try again/i);
    expect(doc.nextAttemptAt.getTime()).to.equal(t0.getTime() + 60_000);
    // not before the backoff is over
    expect((await deliver(new Date(t0.getTime() + 30_000))).sent).to.equal(0);
    expect((await deliver(new Date(t0.getTime() + 61_000))).sent).to.equal(1);
    expect(smtp.messages.filter((m) => m.to.includes(to))).to.have.length(1);
  });

  it('gives up at once on a permanent refusal (550) and after the last attempt on temporary ones', async () => {
    const to = address();
    await record(`permanent:${to}`, to);
    smtp.failNext(1, 550);
    expect(await deliver()).to.include({ failed: 1 });
    expect((await outboxModel(conn).findOne({ key: `permanent:${to}` }).lean())!.status).to.equal('failed');
    const to2 = address();
    await record(`exhausted:${to2}`, to2);
    smtp.failNext(2, 421);
    let t = Date.now();
    await deliver(new Date(t), { maxAttempts: 2 });
    t += 61_000;
    expect(await deliver(new Date(t), { maxAttempts: 2 })).to.include({ failed: 1 });
    expect((await deliver(new Date(t + DAY), { maxAttempts: 2 })).sent).to.equal(0);
    expect(smtp.messages.filter((m) => m.to.includes(to) || m.to.includes(to2))).to.have.length(0);
  });

  it('takes over a message whose sender died while sending, with the same Message-ID (the at-least-once window)', async () => {
    const to = address();
    await record(`crash:${to}`, to);
    await deliver();
    const sent = (await smtp.waitFor((m) => m.to.includes(to)))[0]!;
    // the process died after the SMTP server accepted it and before "sent" was written:
    const t = new Date();
    await outboxModel(conn).updateOne({ key: `crash:${to}` }, { $set: { status: 'sending', leaseUntil: new Date(t.getTime() - 1000) } });
    expect((await deliver(t)).sent).to.equal(1);
    const copies = await smtp.waitFor((m) => m.to.includes(to), 2);
    expect(copies.map((m) => m.messageId)).to.deep.equal([sent.messageId, sent.messageId]);
  });

  it('does not send a message before another sender\'s lease has run out', async () => {
    const to = address();
    await record(`leased:${to}`, to);
    const t = new Date();
    await outboxModel(conn).updateOne({ key: `leased:${to}` }, { $set: { status: 'sending', leaseUntil: new Date(t.getTime() + 60_000) } });
    expect((await deliver(t)).sent).to.equal(0);
  });

  it('writes in the language of the recipient\'s last launch', async () => {
    const to = address();
    await recipientModel(conn).create({ issuer: 'https://lms.example.nl', userId: 'u-nl', email: to, name: 'Sam Gamgee', locale: 'nl-NL', lastLaunchAt: new Date() });
    await enqueueMail(conn, {
      key: `lang:${to}`,
      template: 'expiry.reminder',
      to: { issuer: 'https://lms.example.nl', userId: 'u-nl', email: 'roster-address@example.org' },
      params: { title: 'EHBO', expiresAt: new Date('2027-03-01T00:00:00Z'), days: 7, link: '/verify/ABCD' },
      now: new Date(),
    });
    await deliver();
    const [m] = await smtp.waitFor((x) => x.to.includes(to));
    expect(m!.subject).to.equal('Verloopt over 7 dagen: EHBO');
    expect(m!.text).to.include('Hallo Sam Gamgee,').and.include('1 maart 2027');
    expect(m!.language).to.equal('nl');
    expect(smtp.messages.some((x) => x.to.includes('roster-address@example.org'))).to.equal(false);
  });

  it('records nothing for someone without an address, and drops a message past its deadline', async () => {
    expect(await enqueueMail(conn, { key: 'nobody', template: 'proof.approved', to: { userId: 'x' }, params: {}, now: new Date() })).to.deep.equal({ queued: false, reason: 'no_address' });
    expect(await outboxModel(conn).countDocuments({ key: 'nobody' })).to.equal(0);
    const to = address();
    const t = new Date();
    await record(`late:${to}`, to, { now: t, sendBy: new Date(t.getTime() + 1000) });
    expect(await deliver(new Date(t.getTime() + 2000))).to.include({ sent: 0, expired: 1 });
    expect((await outboxModel(conn).findOne({ key: `late:${to}` }).lean())!.status).to.equal('expired');
  });

  it('sends nothing at all when mail is off (no SMTP_URL), and says so', async () => {
    const to = address();
    await record(`off:${to}`, to);
    const off = createMailService({ conn, now: () => new Date(), transport: null, destination: null, from: FROM, publicUrl: PUBLIC_URL, reminderDays: [30, 7, 0] });
    off.start();
    await off.flush();
    await off.stop();
    const status = await off.status();
    expect(status.enabled).to.equal(false);
    expect(status.outbox.pending).to.be.greaterThan(0);
    expect(smtp.messages.some((m) => m.to.includes(to))).to.equal(false);
  });

  describe('which reminder is current', () => {
    const exp = new Date('2027-01-31T12:00:00Z');
    const at = (daysBefore: number) => new Date(exp.getTime() - daysBefore * DAY);
    it('is none before the first milestone, then the latest one passed, then none a week after expiry', () => {
      expect(currentReminder(exp, at(31), [30, 7, 0])).to.equal(null);
      expect(currentReminder(exp, at(30), [30, 7, 0])).to.equal(30);
      expect(currentReminder(exp, at(8), [30, 7, 0])).to.equal(30);
      expect(currentReminder(exp, at(7), [30, 7, 0])).to.equal(7);
      expect(currentReminder(exp, at(0), [30, 7, 0])).to.equal(0);
      expect(currentReminder(exp, at(-6), [30, 7, 0])).to.equal(0);
      expect(currentReminder(exp, at(-8), [30, 7, 0])).to.equal(null);
      expect(currentReminder(exp, at(1), [14])).to.equal(14);
    });
  });
});

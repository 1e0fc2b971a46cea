/**
 * Recording mail events (enqueueMail) and sending them (deliverDue), on MongoDB alone.
 *
 * Delivery is at-least-once to the SMTP server, deduplicated by event key:
 * - Recording is an upsert on the unique `key`: the same event recorded twice — two instances,
 *   a retried request, a reminder scan that runs again — is one message.
 * - Sending claims a message with one atomic `findOneAndUpdate` (pending → sending, with a lease),
 *   so two workers never send the same message at the same time.
 * - After the SMTP server accepts it, the message is marked `sent`, fenced by the claim.
 * The window that remains: a process that dies after the SMTP server accepted a message and
 * before the `sent` mark reached the database (a few milliseconds) leaves it `sending`; when its
 * lease runs out another worker sends it again. The copy carries the same Message-ID (derived
 * from the key), which lets mail clients and archives fold the two.
 */
import { createHash } from 'node:crypto';
import type { Connection } from 'mongoose';
import { pickLanguage } from '../i18n';
import type { MessageParams } from '../i18n';
import { outboxModel, type OutboxDoc } from './outbox.model';
import { findRecipient } from './recipients';
import { renderMail, type MailTemplate } from './templates';

const DAY_MS = 24 * 3600 * 1000;

export interface MailInput {
  /** Names the event; the same key is never sent twice. E.g. `certificate.issued:<issueId>`. */
  key: string;
  template: MailTemplate;
  /**
   * The recipient. With `issuer` + `userId` the address and language are what the person's last
   * launch said; `email`, `name` and `locale` are the fallback (e.g. from the roster).
   */
  to: { issuer?: string; userId?: string; email?: string; name?: string; locale?: string };
  params: Record<string, string | number | Date | null | undefined>;
  now: Date;
  /** Not sent after this moment (default: 3 days after `now`). */
  sendBy?: Date;
}

export type EnqueueResult = { queued: true; duplicate: boolean } | { queued: false; reason: 'no_address' };

/** Records one mail event in the outbox (idempotent by `key`). Sending is the outbox job's. */
export async function enqueueMail(conn: Connection, mail: MailInput): Promise<EnqueueResult> {
  const known = mail.to.issuer && mail.to.userId ? await findRecipient(conn, mail.to.issuer, mail.to.userId) : null;
  const email = known?.email ?? mail.to.email;
  if (!email) return { queued: false, reason: 'no_address' };
  const name = known?.name ?? mail.to.name;
  const params: Record<string, string | number | Date | null> = {};
  for (const [k, v] of Object.entries(mail.params)) if (v !== undefined) params[k] = v;
  const doc: Omit<OutboxDoc, '_id'> = {
    key: mail.key,
    template: mail.template,
    to: name ? { email, name } : { email },
    lang: pickLanguage(known?.locale ?? mail.to.locale),
    params,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: mail.now,
    leaseUntil: null,
    sendBy: mail.sendBy ?? new Date(mail.now.getTime() + 3 * DAY_MS),
    lastError: null,
    createdAt: mail.now,
    sentAt: null,
    finishedAt: null,
  };
  const res = await outboxModel(conn).updateOne({ key: mail.key }, { $setOnInsert: doc }, { upsert: true }).catch((err: { code?: number }) => {
    // two recorders racing on one key: the other one's insert won, which is the same message
    if (err.code === 11000) return { upsertedCount: 0 };
    throw err;
  });
  return { queued: true, duplicate: res.upsertedCount === 0 };
}

/** What the worker needs of an SMTP transport (nodemailer's Transporter fits). */
export interface MailTransport {
  sendMail(message: {
    from: string;
    to: string;
    subject: string;
    text: string;
    html: string;
    messageId: string;
    headers?: Record<string, string>;
  }): Promise<{ response?: string; accepted?: unknown[]; rejected?: unknown[] }>;
}

export interface DeliverOptions {
  transport: MailTransport;
  from: string;
  /** A `link` param that is a path (`/verify/CODE`) becomes an absolute link on this URL. */
  publicUrl: string;
  now: () => Date;
  /** How long a claim lasts; a worker that died leaves its message to others after this. */
  leaseMs?: number;
  /** Attempts before a message is `failed` (default 6: 1 min, 2, 4, 8, 16 min apart). */
  maxAttempts?: number;
  /** Backoff after the first failure, doubled each time (default 60 s). */
  backoffMs?: number;
  /** Messages sent at once (default 4, the size of the SMTP connection pool). */
  parallel?: number;
  /** Due messages looked up at once (default 200). */
  batchSize?: number;
  signal?: AbortSignal;
  onSent?: (done: number) => void | Promise<void>;
}

/** A stable Message-ID per event: a re-send after a crash is recognisably the same message. */
export function messageIdOf(key: string, fromAddress: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(fromAddress)?.[1] ?? 'lti-certificates.invalid';
  return `<${createHash('sha256').update(key).digest('hex').slice(0, 32)}@${domain}>`;
}

/**
 * Sends every message that is due, `parallel` at a time, until none is left. Returns how many were
 * sent and how many failed for now (they wait for their backoff) or for good.
 */
export async function deliverDue(conn: Connection, opts: DeliverOptions): Promise<{ sent: number; retrying: number; failed: number; expired: number }> {
  const Outbox = outboxModel(conn);
  const leaseMs = opts.leaseMs ?? 5 * 60_000;
  const maxAttempts = opts.maxAttempts ?? 6;
  const backoffMs = opts.backoffMs ?? 60_000;
  const counts = { sent: 0, retrying: 0, failed: 0, expired: 0 };

  const t0 = opts.now();
  const drop = { $set: { status: 'expired', finishedAt: t0, leaseUntil: null, lastError: 'not sent before its deadline' } };
  const [expired, abandoned] = await Promise.all([
    Outbox.updateMany({ status: 'pending', sendBy: { $lt: t0 } }, drop),
    // a sender died with it after its deadline: its lease ran out, nobody may send it now
    Outbox.updateMany({ status: 'sending', leaseUntil: { $lt: t0 }, sendBy: { $lt: t0 } }, drop),
  ]);
  counts.expired = expired.modifiedCount + abandoned.modifiedCount;

  /**
   * The next due messages' ids, oldest first: new or retried ones, and those whose sender's lease
   * ran out. Two queries on `status` (one index lookup each) rather than an `$or`.
   */
  const dueIds = async (limit: number) => {
    const t = opts.now();
    const [pending, stale] = await Promise.all([
      Outbox.find({ status: 'pending', nextAttemptAt: { $lte: t }, sendBy: { $gte: t } }, { _id: 1 }).sort({ nextAttemptAt: 1, _id: 1 }).limit(limit).lean(),
      Outbox.find({ status: 'sending', leaseUntil: { $lt: t }, sendBy: { $gte: t } }, { _id: 1 }).limit(limit).lean(),
    ]);
    return [...stale, ...pending].map((d) => d._id);
  };

  /** Takes one message by id, if it is still due: the atomic step that keeps two senders apart. */
  const claim = (id: OutboxDoc['_id']) => {
    const t = opts.now();
    return Outbox.findOneAndUpdate(
      { _id: id, $or: [{ status: 'pending', nextAttemptAt: { $lte: t } }, { status: 'sending', leaseUntil: { $lt: t } }], sendBy: { $gte: t } },
      { $set: { status: 'sending', leaseUntil: new Date(t.getTime() + leaseMs) }, $inc: { attempts: 1 } },
      { new: true },
    ).lean<OutboxDoc>();
  };

  const sendOne = async (doc: OutboxDoc) => {
    const fence = { _id: doc._id, status: 'sending', attempts: doc.attempts };
    const params = { ...doc.params } as MessageParams;
    if (typeof params.link === 'string' && params.link.startsWith('/')) params.link = opts.publicUrl + params.link;
    const mail = renderMail(doc.template as MailTemplate, doc.lang, params, doc.to.name);
    try {
      const info = await opts.transport.sendMail({
        from: opts.from,
        to: doc.to.name ? `"${doc.to.name.replace(/["\\\r\n]/g, '')}" <${doc.to.email}>` : doc.to.email,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: messageIdOf(doc.key, opts.from),
        headers: { 'Content-Language': doc.lang, 'Auto-Submitted': 'auto-generated' },
      });
      const t = opts.now();
      await Outbox.updateOne(fence, { $set: { status: 'sent', sentAt: t, finishedAt: t, leaseUntil: null, lastError: null, smtpResponse: String(info.response ?? '') } });
      counts.sent++;
      await opts.onSent?.(counts.sent);
    } catch (err) {
      const t = opts.now();
      const message = (err as Error).message ?? String(err);
      // 5xx: the server refuses this message for good (no such mailbox): retrying cannot help
      const permanent = typeof (err as { responseCode?: number }).responseCode === 'number' && (err as { responseCode: number }).responseCode >= 500;
      if (permanent || doc.attempts >= maxAttempts) {
        await Outbox.updateOne(fence, { $set: { status: 'failed', finishedAt: t, leaseUntil: null, lastError: message } });
        counts.failed++;
      } else {
        const wait = backoffMs * 2 ** (doc.attempts - 1);
        await Outbox.updateOne(fence, { $set: { status: 'pending', nextAttemptAt: new Date(t.getTime() + wait), leaseUntil: null, lastError: message } });
        counts.retrying++;
      }
    }
  };

  // Batches of due ids, each sent by `parallel` workers; a message another sender took meanwhile is skipped.
  const parallel = Math.max(1, opts.parallel ?? 4);
  const batchSize = Math.max(parallel, opts.batchSize ?? 200);
  for (;;) {
    opts.signal?.throwIfAborted();
    const ids = await dueIds(batchSize);
    if (ids.length === 0) break;
    let next = 0;
    let claimed = 0;
    const worker = async () => {
      for (let i = next++; i < ids.length; i = next++) {
        opts.signal?.throwIfAborted();
        const doc = await claim(ids[i]!);
        if (!doc) continue;
        claimed++;
        await sendOne(doc);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    // every id of the batch was taken by another sender: it is working through the same ones
    if (claimed === 0 && ids.length < batchSize) break;
  }
  return counts;
}

/** The outbox at a glance, for /admin. */
export async function outboxSummary(conn: Connection): Promise<Record<OutboxDoc['status'], number> & { lastError: string | null }> {
  const Outbox = outboxModel(conn);
  const out = { pending: 0, sending: 0, sent: 0, failed: 0, expired: 0, lastError: null as string | null };
  for (const status of ['pending', 'sending', 'sent', 'failed', 'expired'] as const) out[status] = await Outbox.countDocuments({ status });
  const last = await Outbox.findOne({ status: { $in: ['failed', 'pending'] }, lastError: { $ne: null } }, { lastError: 1 }).sort({ _id: -1 }).lean();
  out.lastError = last?.lastError ?? null;
  return out;
}

/** Whether a message is due now (cheap: the worker's ticker asks this). */
export async function hasDueMail(conn: Connection, now: Date): Promise<boolean> {
  const Outbox = outboxModel(conn);
  const [pending, stale] = await Promise.all([
    Outbox.exists({ status: 'pending', nextAttemptAt: { $lte: now } }),
    Outbox.exists({ status: 'sending', leaseUntil: { $lt: now } }),
  ]);
  return pending !== null || stale !== null;
}

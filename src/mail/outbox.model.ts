/**
 * The outbox: one document per e-mail event, written by whoever caused the event and sent by the
 * outbox job (outbox.job.ts). `key` names the event ("certificate.issued:<issueId>",
 * "expiry.reminder:<issueId>:7") and has a unique index: however often the event is recorded (two
 * instances, a retried request, a reminder scan run twice) there is one message, sent once.
 *
 * Personal data kept here: the recipient's address and name, and the message's parameters (the
 * certificate's title, a rejection reason). Sent and abandoned messages expire after 90 days.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'expired';

export interface OutboxDoc {
  _id: Types.ObjectId;
  key: string;
  template: string;
  to: { email: string; name?: string };
  /** The language the message is written in (en, nl, …), chosen when it was recorded. */
  lang: string;
  params: Record<string, string | number | Date | null>;
  status: OutboxStatus;
  /** Sending attempts so far (a crash during one counts too). */
  attempts: number;
  /** Not sent before this moment (the backoff after a failure). */
  nextAttemptAt: Date;
  /** While `sending`: the claim runs out then, and another worker may take the message over. */
  leaseUntil: Date | null;
  /** Not sent after this moment: it is `expired` instead (an old reminder is no longer news). */
  sendBy: Date;
  lastError: string | null;
  /** The SMTP server's reply when it accepted the message. */
  smtpResponse?: string;
  createdAt: Date;
  sentAt: Date | null;
  /** When the message stopped being pending (sent, failed or expired); the TTL counts from it. */
  finishedAt: Date | null;
}

/** Sent, failed and expired messages are kept this long for /admin and then deleted. */
export const FINISHED_MAIL_TTL_SECONDS = 90 * 24 * 3600;

const schema = new Schema<OutboxDoc>(
  {
    key: { type: String, required: true },
    template: { type: String, required: true },
    to: { email: { type: String, required: true }, name: String },
    lang: { type: String, required: true },
    params: { type: Schema.Types.Mixed, default: {} },
    status: { type: String, enum: ['pending', 'sending', 'sent', 'failed', 'expired'], required: true },
    attempts: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, required: true },
    leaseUntil: { type: Date, default: null },
    sendBy: { type: Date, required: true },
    lastError: { type: String, default: null },
    smtpResponse: String,
    createdAt: { type: Date, required: true },
    sentAt: { type: Date, default: null },
    finishedAt: { type: Date, default: null },
  },
  { collection: 'mail_outbox', versionKey: false, minimize: false },
);
schema.index({ key: 1 }, { unique: true });
schema.index({ status: 1, nextAttemptAt: 1 });
// the offline engine plans with single-field equality indexes only
schema.index({ status: 1 });
schema.index({ finishedAt: 1 }, { expireAfterSeconds: FINISHED_MAIL_TTL_SECONDS });

export function outboxModel(conn: Connection): Model<OutboxDoc> {
  return (conn.models.MailOutbox as Model<OutboxDoc>) ?? conn.model<OutboxDoc>('MailOutbox', schema);
}

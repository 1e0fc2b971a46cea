/**
 * Where and in which language a person gets mail: what their last launch said. NRPS rosters give
 * an address but never a language, and a reminder is sent months after the launch that earned the
 * certificate, so each launch records the address and `launch_presentation.locale` per platform
 * user (issuer + `sub`).
 *
 * Personal data kept here: e-mail address, name, locale of the launch.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { Launch } from '../lti/launch';

export interface RecipientDoc {
  _id: Types.ObjectId;
  issuer: string;
  userId: string;
  email?: string;
  name?: string;
  locale?: string;
  lastLaunchAt: Date;
}

const schema = new Schema<RecipientDoc>(
  {
    issuer: { type: String, required: true },
    userId: { type: String, required: true },
    email: String,
    name: String,
    locale: String,
    lastLaunchAt: { type: Date, required: true },
  },
  { collection: 'mail_recipients', versionKey: false },
);
schema.index({ issuer: 1, userId: 1 }, { unique: true });

export function recipientModel(conn: Connection): Model<RecipientDoc> {
  return (conn.models.MailRecipient as Model<RecipientDoc>) ?? conn.model<RecipientDoc>('MailRecipient', schema);
}

/** Records the launching user's address, name and locale (one upsert per launch). */
/**
 * What this process last wrote per user, so that a launch that says nothing new writes nothing
 * (#13: the launch's database budget). `lastLaunchAt` is therefore exact to REWRITE_MS.
 */
const writtenBy = new WeakMap<Connection, Map<string, { facts: string; at: number }>>();
const REWRITE_MS = 60 * 60_000;
const MEMO_LIMIT = 50_000;

export async function rememberRecipient(conn: Connection, launch: Launch, now: Date): Promise<void> {
  if (launch.role === 'none') return;
  const set: Partial<RecipientDoc> = { lastLaunchAt: now };
  if (launch.user.email) set.email = launch.user.email;
  if (launch.user.name) set.name = launch.user.name;
  if (launch.locale) set.locale = launch.locale;
  let written = writtenBy.get(conn);
  if (!written) writtenBy.set(conn, (written = new Map()));
  const key = `${launch.issuer}\n${launch.user.id}`;
  const facts = JSON.stringify([set.email, set.name, set.locale]);
  const last = written.get(key);
  if (last && last.facts === facts && now.getTime() - last.at < REWRITE_MS) return;
  await recipientModel(conn).updateOne({ issuer: launch.issuer, userId: launch.user.id }, { $set: set }, { upsert: true });
  if (written.size >= MEMO_LIMIT) written.clear();
  written.set(key, { facts, at: now.getTime() });
}

/**
 * Forget what this process wrote (erasure deletes the record: the next launch must write it again;
 * other instances write it again within REWRITE_MS).
 */
export function forgetWrittenRecipients(conn: Connection): void {
  writtenBy.delete(conn);
}

/** What the last launch of `userId` on `issuer` said, or null. */
export async function findRecipient(conn: Connection, issuer: string, userId: string): Promise<RecipientDoc | null> {
  return recipientModel(conn).findOne({ issuer, userId }).lean<RecipientDoc>();
}

/**
 * Binds each OIDC login to the nonce it asked the platform to sign. ltijs generates the nonce at
 * login but only checks later that a nonce is not reused — not that it is the one it asked for.
 * We record (state → nonce) when ltijs redirects to the platform, and at launch consume it once:
 * a launch whose state we did not issue, whose nonce differs, or that is replayed is refused.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/** Matches ltijs's own state lifetime. */
const LOGIN_TTL_SECONDS = 600;

interface LoginStateDoc {
  _id: string;
  nonce: string;
  expiresAt: Date;
}

const schema = new Schema<LoginStateDoc>(
  { _id: String, nonce: { type: String, required: true }, expiresAt: { type: Date, required: true } },
  { collection: 'loginstates', versionKey: false },
);
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

function loginStateModel(conn: Connection): Model<LoginStateDoc> {
  return (conn.models.LoginState as Model<LoginStateDoc>) ?? conn.model<LoginStateDoc>('LoginState', schema);
}

export async function rememberLogin(conn: Connection, state: string, nonce: string, now: Date): Promise<void> {
  await loginStateModel(conn).create({ _id: state, nonce, expiresAt: new Date(now.getTime() + LOGIN_TTL_SECONDS * 1000) });
}

/** Consumes the login of `state`: the nonce it expects, or null if unknown, expired or already used. */
export async function consumeLogin(conn: Connection, state: string, now: Date): Promise<string | null> {
  if (!state) return null;
  const doc = await loginStateModel(conn).findOneAndDelete({ _id: state }).lean();
  if (!doc || doc.expiresAt <= now) return null;
  return doc.nonce;
}

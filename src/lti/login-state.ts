/**
 * The OIDC logins the tool has started and not yet seen come back. At `/lti/login` we record
 * (state → nonce, platform, target link, storage frame); at `/lti/launch` the id_token must come
 * back with that state, once, within LOGIN_TTL_SECONDS, signed for that platform and carrying that
 * nonce. A launch whose state we did not issue, that is replayed, or that answers another login is
 * refused. Records expire by themselves (TTL index), so refused or abandoned logins never pile up.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/** How long a login may take between the tool's redirect to the LMS and the LMS's launch POST. */
export const LOGIN_TTL_SECONDS = 600;

export interface LoginState {
  /** The OIDC `state`. */
  state: string;
  nonce: string;
  /** The registration the login was started for: the launch must be signed by it and addressed to it. */
  issuer: string;
  clientId: string;
  /** The `target_link_uri` of the login (always on the tool's origin). */
  targetLinkUri: string;
  /** Platform storage frame (`lti_storage_target`) when the LMS offered one at login. */
  storageTarget?: string;
  /** Origin of the platform's authorization endpoint: the only origin platform storage answers from. */
  storageOrigin?: string;
  /**
   * The registration's endpoints and keys as read at login, so that the launch (seconds later)
   * verifies against them without reading the registration again. A login lives
   * LOGIN_TTL_SECONDS at most, so a launch never uses facts older than that.
   */
  platform?: LoginPlatform;
  expiresAt: Date;
}

export interface LoginPlatform {
  authUrl: string;
  tokenUrl: string;
  jwksUrl?: string;
  publicKeyPem?: string;
}

interface LoginStateDoc extends Omit<LoginState, 'state'> {
  _id: string;
}

const schema = new Schema<LoginStateDoc>(
  {
    _id: String,
    nonce: { type: String, required: true },
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    targetLinkUri: { type: String, required: true },
    storageTarget: String,
    storageOrigin: String,
    platform: { type: Schema.Types.Mixed },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'loginstates', versionKey: false },
);
schema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function loginStateModel(conn: Connection): Model<LoginStateDoc> {
  return (conn.models.LoginState as Model<LoginStateDoc>) ?? conn.model<LoginStateDoc>('LoginState', schema);
}

export async function rememberLogin(conn: Connection, login: Omit<LoginState, 'expiresAt'>, now: Date): Promise<LoginState> {
  const { state, ...rest } = login;
  const expiresAt = new Date(now.getTime() + LOGIN_TTL_SECONDS * 1000);
  await loginStateModel(conn).create({ _id: state, ...rest, expiresAt });
  return { ...login, expiresAt };
}

/** The pending login of `state`, without using it up (the platform-storage check page needs it twice). */
export async function peekLogin(conn: Connection, state: string, now: Date): Promise<LoginState | null> {
  if (!state) return null;
  const doc = await loginStateModel(conn).findById(state).lean();
  if (!doc || doc.expiresAt <= now) return null;
  const { _id, ...rest } = doc;
  return { state: _id, ...rest };
}

/** Uses up the login of `state`: it, or null if unknown, expired or already used. */
export async function consumeLogin(conn: Connection, state: string, now: Date): Promise<LoginState | null> {
  if (!state) return null;
  const doc = await loginStateModel(conn).findOneAndDelete({ _id: state }).lean();
  if (!doc || doc.expiresAt <= now) return null;
  const { _id, ...rest } = doc;
  return { state: _id, ...rest };
}

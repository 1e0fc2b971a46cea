/**
 * What src/credentials stores: the installation's signing keys (secret halves encrypted with a
 * key derived from LTI_KEY), one signed credential per certificate or certification, the status
 * lists, and the holder's choice of showing their name on the verification page.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { EncryptedSecret } from '../grades/moodle/token-crypto';

export interface SigningKeyDoc {
  /** `key-<hex>`: the last segment of the verification method URL. */
  _id: string;
  publicKeyMultibase: string;
  /** The Multikey secret, AES-256-GCM under a key derived from LTI_KEY (token-crypto.ts). */
  secret: EncryptedSecret;
  createdAt: Date;
  /** 'current' on the key that signs now (unique: one per installation); absent once rotated out. */
  current?: 'current';
  retiredAt?: Date;
}

const keySchema = new Schema<SigningKeyDoc>(
  {
    _id: { type: String, required: true },
    publicKeyMultibase: { type: String, required: true },
    secret: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    current: String,
    retiredAt: Date,
  },
  { collection: 'credential_keys', versionKey: false },
);
keySchema.index({ current: 1 }, { unique: true, sparse: true });

export interface CredentialDoc {
  /** `${kind}:${sourceId}`: one credential per certificate / certification. */
  _id: string;
  kind: 'certificate' | 'certification';
  sourceId: string;
  code: string;
  keyId: string;
  statusList: number;
  statusIndex: number;
  /** The signed credential exactly as signed (a string: key order and numbers are kept). */
  json: string;
  createdAt: Date;
}

const credentialSchema = new Schema<CredentialDoc>(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true },
    sourceId: { type: String, required: true },
    code: { type: String, required: true },
    keyId: { type: String, required: true },
    statusList: { type: Number, required: true },
    statusIndex: { type: Number, required: true },
    json: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'credentials', versionKey: false },
);
credentialSchema.index({ code: 1 }, { unique: true });

export interface StatusListDoc {
  _id: number;
  /** Indexes whose bit is set (revoked or superseded): $addToSet makes one update atomic. */
  set: number[];
  /** Bumped by every change; the signed list is re-signed when it lags behind. */
  version: number;
  signed?: string;
  signedVersion?: number;
}

const statusListSchema = new Schema<StatusListDoc>(
  {
    _id: { type: Number, required: true },
    set: { type: [Number], default: [] },
    version: { type: Number, default: 0 },
    signed: String,
    signedVersion: Number,
  },
  { collection: 'credential_status_lists', versionKey: false },
);

export interface CounterDoc {
  _id: string;
  next: number;
}
const counterSchema = new Schema<CounterDoc>({ _id: { type: String, required: true }, next: { type: Number, required: true } }, { collection: 'credential_counters', versionKey: false });

export interface HolderChoiceDoc {
  /** `${kind}:${definitionId}:${userId}`: the choice carries over to re-issued versions. */
  _id: string;
  showName: boolean;
  decidedAt: Date;
}
const holderChoiceSchema = new Schema<HolderChoiceDoc>(
  { _id: { type: String, required: true }, showName: { type: Boolean, required: true }, decidedAt: { type: Date, required: true } },
  { collection: 'credential_holder_choices', versionKey: false },
);

function model<T>(conn: Connection, name: string, schema: Schema<T>): Model<T> {
  return (conn.models[name] as Model<T>) ?? conn.model<T>(name, schema);
}

export const signingKeyModel = (conn: Connection) => model(conn, 'CredentialSigningKey', keySchema);
export const credentialModel = (conn: Connection) => model(conn, 'Credential', credentialSchema);
export const statusListModel = (conn: Connection) => model(conn, 'CredentialStatusList', statusListSchema);
export const counterModel = (conn: Connection) => model(conn, 'CredentialCounter', counterSchema);
export const holderChoiceModel = (conn: Connection) => model(conn, 'CredentialHolderChoice', holderChoiceSchema);

/**
 * Compiles every model of src/credentials now, while the connection is open: a model first
 * compiled during a database outage buffers its queries (and fails after 10 s with a MongooseError
 * the error handler cannot tell from a bug) instead of failing fast with a 503.
 */
export function registerCredentialModels(conn: Connection): void {
  for (const m of [signingKeyModel, credentialModel, statusListModel, counterModel, holderChoiceModel]) m(conn);
}

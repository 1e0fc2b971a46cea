/**
 * What the tool keeps to read a course's Canvas gradebook:
 * - `canvaskeys`: the administrator's Canvas API developer key per Canvas (issuer): client id, the
 *   secret encrypted (../moodle/token-crypto.ts: AES-256-GCM, key derived from LTI_KEY, issuer as AAD);
 * - `canvasgrants`: per course, the teacher's OAuth2 grant: access and refresh token (encrypted),
 *   expiry, and whether Canvas has revoked it;
 * - `canvasoauthstates`: authorisations under way (state, PKCE verifier, the browser's binding), ten
 *   minutes at most (TTL index), used once;
 * - `canvasusers`: Canvas user id → the launch's `sub`, learned at launch (custom `canvas_user_id`)
 *   or asked once of Canvas (`lti_1_3_id:` lookup).
 *
 * Personal data: the authorising teacher's Canvas user id and name (who gave the grant); Canvas user
 * ids of learners (pseudonymous ids, erased with the course).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { EncryptedSecret } from '../moodle/token-crypto';

const secretSchema = new Schema<EncryptedSecret>({ v: { type: Number, required: true }, iv: String, tag: String, data: String }, { _id: false });

export interface CanvasKey {
  _id: Types.ObjectId;
  /** The registration's issuer (https://canvas.instructure.com for hosted Canvas, or the sandbox). */
  issuer: string;
  /** The school's Canvas address, e.g. https://school.instructure.com. */
  baseUrl: string;
  clientId: string;
  clientSecret: EncryptedSecret;
  secretHint: string;
  setAt: Date;
}

const keySchema = new Schema<CanvasKey>(
  {
    issuer: { type: String, required: true },
    baseUrl: { type: String, required: true },
    clientId: { type: String, required: true },
    clientSecret: { type: secretSchema, required: true },
    secretHint: { type: String, required: true },
    setAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'canvaskeys' },
);
keySchema.index({ issuer: 1 }, { unique: true });

export function canvasKeyModel(conn: Connection): Model<CanvasKey> {
  return (conn.models.CanvasKey as Model<CanvasKey>) ?? conn.model<CanvasKey>('CanvasKey', keySchema);
}

export type CanvasGrantStatus = 'active' | 'revoked';

export interface CanvasGrant {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  issuer: string;
  /** Canvas's numeric course id (from custom `canvas_course_id`, or learned from the first call). */
  canvasCourseId?: string;
  /** The course's LTI context id, which Canvas's API accepts as `lti_context_id:<id>`. */
  contextId: string;
  accessToken: EncryptedSecret;
  refreshToken: EncryptedSecret;
  expiresAt: Date;
  status: CanvasGrantStatus;
  /** Why Canvas stopped accepting it (Canvas's words, e.g. "Invalid access token."). */
  revokedReason?: string;
  revokedAt?: Date;
  /** Who authorised: the launch user and the Canvas user the token acts as. */
  by: { userId: string; name?: string; canvasUserId?: string; canvasName?: string };
  authorisedAt: Date;
  refreshedAt?: Date;
}

const grantSchema = new Schema<CanvasGrant>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    issuer: { type: String, required: true },
    canvasCourseId: String,
    contextId: { type: String, required: true },
    accessToken: { type: secretSchema, required: true },
    refreshToken: { type: secretSchema, required: true },
    expiresAt: { type: Date, required: true },
    status: { type: String, enum: ['active', 'revoked'], required: true },
    revokedReason: String,
    revokedAt: Date,
    by: { userId: String, name: String, canvasUserId: String, canvasName: String },
    authorisedAt: { type: Date, required: true },
    refreshedAt: Date,
  },
  { timestamps: true, collection: 'canvasgrants' },
);
grantSchema.index({ courseId: 1 }, { unique: true });

export function canvasGrantModel(conn: Connection): Model<CanvasGrant> {
  return (conn.models.CanvasGrant as Model<CanvasGrant>) ?? conn.model<CanvasGrant>('CanvasGrant', grantSchema);
}

export interface CanvasOAuthState {
  _id: Types.ObjectId;
  /** sha256 of the `state` sent to Canvas. */
  stateHash: string;
  /** sha256 of the random value in the browser's cookie: the callback must come from the same browser. */
  browserHash: string;
  /** The tool session that asked (the teacher's launch). */
  session: string;
  courseId: Types.ObjectId;
  issuer: string;
  contextId: string;
  canvasCourseId?: string;
  userId: string;
  name?: string;
  codeVerifier: string;
  expiresAt: Date;
}

const stateSchema = new Schema<CanvasOAuthState>(
  {
    stateHash: { type: String, required: true },
    browserHash: { type: String, required: true },
    session: { type: String, required: true },
    courseId: { type: Schema.Types.ObjectId, required: true },
    issuer: { type: String, required: true },
    contextId: { type: String, required: true },
    canvasCourseId: String,
    userId: { type: String, required: true },
    name: String,
    codeVerifier: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'canvasoauthstates' },
);
stateSchema.index({ stateHash: 1 }, { unique: true });
stateSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function canvasOAuthStateModel(conn: Connection): Model<CanvasOAuthState> {
  return (conn.models.CanvasOAuthState as Model<CanvasOAuthState>) ?? conn.model<CanvasOAuthState>('CanvasOAuthState', stateSchema);
}

export interface CanvasUser {
  _id: Types.ObjectId;
  issuer: string;
  canvasUserId: string;
  /** The LTI 1.3 `sub` (Canvas `users.lti_id`). */
  sub: string;
  learnedFrom: 'launch' | 'api';
}

const userSchema = new Schema<CanvasUser>(
  {
    issuer: { type: String, required: true },
    canvasUserId: { type: String, required: true },
    sub: { type: String, required: true },
    learnedFrom: { type: String, enum: ['launch', 'api'], required: true },
  },
  { timestamps: true, collection: 'canvasusers' },
);
userSchema.index({ issuer: 1, canvasUserId: 1 }, { unique: true });
userSchema.index({ issuer: 1, sub: 1 });

export function canvasUserModel(conn: Connection): Model<CanvasUser> {
  return (conn.models.CanvasUser as Model<CanvasUser>) ?? conn.model<CanvasUser>('CanvasUser', userSchema);
}

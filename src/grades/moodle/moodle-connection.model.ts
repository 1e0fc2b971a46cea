/**
 * The administrator's Moodle web-service setup, one per platform (issuer = the Moodle site): where
 * its REST server is, the token of the dedicated web-service user (encrypted, see token-crypto.ts),
 * whether to read course completion, and the outcome of the last "Test connection". Plus, per
 * course, whether the teacher chose to read the Moodle gradebook.
 *
 * Personal data kept here: none (the token belongs to a service account; its last four
 * characters are kept in clear so the administrator can tell tokens apart).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { EncryptedSecret } from './token-crypto';

export interface MoodleCheck {
  /** The function checked, or `setup` for the connection itself. */
  wsfunction: string;
  ok: boolean;
  /** What to fix (or what was found), in English. */
  message: string;
  /** The same as a message key and its parameters, for the administrator's language (/admin/moodle). */
  translated?: { key: string; params?: Record<string, string | number> };
}

export interface MoodleConnection {
  _id: Types.ObjectId;
  /** The registration's issuer: Moodle's wwwroot. */
  issuer: string;
  /** Where the REST server is; the issuer unless the administrator gave another address. */
  baseUrl: string;
  token: EncryptedSecret;
  tokenHint: string;
  /** Read course completion too (one call per learner: Moodle has no call for a whole course). */
  readCompletion: boolean;
  setAt: Date;
  lastTest?: { at: Date; ok: boolean; courseId?: number; checks: MoodleCheck[] };
  createdAt?: Date;
  updatedAt?: Date;
}

const secretSchema = new Schema<EncryptedSecret>({ v: { type: Number, required: true }, iv: String, tag: String, data: String }, { _id: false });
const checkSchema = new Schema<MoodleCheck>({ wsfunction: String, ok: Boolean, message: String, translated: { type: Schema.Types.Mixed, default: undefined } }, { _id: false });

const schema = new Schema<MoodleConnection>(
  {
    issuer: { type: String, required: true },
    baseUrl: { type: String, required: true },
    token: { type: secretSchema, required: true },
    tokenHint: { type: String, required: true },
    readCompletion: { type: Boolean, default: false },
    setAt: { type: Date, required: true },
    lastTest: { at: Date, ok: Boolean, courseId: Number, checks: { type: [checkSchema], default: undefined } },
  },
  { timestamps: true, collection: 'moodleconnections' },
);
schema.index({ issuer: 1 }, { unique: true });

export function moodleConnectionModel(conn: Connection): Model<MoodleConnection> {
  return (conn.models.MoodleConnection as Model<MoodleConnection>) ?? conn.model<MoodleConnection>('MoodleConnection', schema);
}

/** A course whose teacher turned the Moodle gradebook on (absent = off). */
export interface MoodleCourseSetting {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  enabled: boolean;
  changedBy?: { userId: string; name?: string };
  updatedAt?: Date;
}

const courseSchema = new Schema<MoodleCourseSetting>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    enabled: { type: Boolean, required: true },
    changedBy: { userId: String, name: String },
  },
  { timestamps: true, collection: 'moodlecourses' },
);
courseSchema.index({ courseId: 1 }, { unique: true });

export function moodleCourseSettingModel(conn: Connection): Model<MoodleCourseSetting> {
  return (conn.models.MoodleCourseSetting as Model<MoodleCourseSetting>) ?? conn.model<MoodleCourseSetting>('MoodleCourseSetting', courseSchema);
}

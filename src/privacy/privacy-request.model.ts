/**
 * The privacy log: each learner data export and erasure, when, by whom (the administrator, or
 * "a learner" for their own export), for which platform — never which learner, so that the log
 * itself does not undo an erasure. An erasure names the pseudonym that replaced the learner.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { ActorSchema, type Actor } from '../certificates/audit.model';

export interface PrivacyRequestDoc {
  kind: 'export' | 'erasure';
  at: Date;
  by: Partial<Actor>;
  issuer: string;
  pseudonym?: string;
  counts?: Record<string, number | undefined>;
}

const schema = new Schema<PrivacyRequestDoc>(
  {
    kind: { type: String, enum: ['export', 'erasure'], required: true },
    at: { type: Date, required: true },
    by: { type: ActorSchema, required: true },
    issuer: { type: String, required: true },
    pseudonym: String,
    counts: { type: Schema.Types.Mixed },
  },
  { collection: 'privacy_requests', versionKey: false },
);
schema.index({ at: -1 });

export function privacyRequestModel(conn: Connection): Model<PrivacyRequestDoc> {
  return (conn.models.PrivacyRequest as Model<PrivacyRequestDoc>) ?? conn.model<PrivacyRequestDoc>('PrivacyRequest', schema);
}

/**
 * A proof a learner sent for an external certification (R8): the file (GridFS bucket `proofs`),
 * the completion date the learner states (ALM keeps it: the certification's validity runs from it,
 * not from the approval), and the decision.
 *
 * One pending proof per (certification, learner) is guaranteed by the database: `pendingKey`
 * exists only while the proof waits for a decision, under a unique sparse index, so that a double
 * submit cannot queue two. A decision is one atomic update from `pending`, so two approvers
 * deciding at once cannot both win (the second gets 409).
 *
 * Personal data kept here: the learner's name and address, the file, the completion date, the
 * rejection reason.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { ActorSchema, type Actor } from '../../certificates/audit.model';
import type { ProofType } from './proof-file';

export type ProofStatus = 'pending' | 'approved' | 'rejected';

export interface ProofDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  certificationId: Types.ObjectId;
  userId: string;
  learnerName: string;
  learnerEmail?: string;
  fileId: Types.ObjectId;
  contentType: ProofType;
  size: number;
  /** The date the learner completed it elsewhere (their statement, checked by the approver). */
  completedAt: Date;
  submittedAt: Date;
  status: ProofStatus;
  /** `${certificationId}:${userId}` while pending; absent otherwise. */
  pendingKey?: string;
  decidedAt?: Date;
  decidedBy?: Actor;
  /** Why it was rejected; the learner sees it. */
  reason?: string;
  /** The award its approval issued. */
  awardId?: Types.ObjectId;
}

const schema = new Schema<ProofDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    certificationId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: String, required: true },
    learnerName: { type: String, required: true },
    learnerEmail: String,
    fileId: { type: Schema.Types.ObjectId, required: true },
    contentType: { type: String, required: true },
    size: { type: Number, required: true },
    completedAt: { type: Date, required: true },
    submittedAt: { type: Date, required: true },
    status: { type: String, enum: ['pending', 'approved', 'rejected'], required: true },
    pendingKey: String,
    decidedAt: Date,
    decidedBy: ActorSchema,
    reason: String,
    awardId: Schema.Types.ObjectId,
  },
  { collection: 'certification_proofs', versionKey: false },
);
schema.index({ pendingKey: 1 }, { unique: true, sparse: true });
schema.index({ issuer: 1, clientId: 1, status: 1, submittedAt: 1 });
schema.index({ certificationId: 1, userId: 1, submittedAt: -1 });

export function proofModel(conn: Connection): Model<ProofDoc> {
  return (conn.models.CertificationProof as Model<ProofDoc>) ?? conn.model<ProofDoc>('CertificationProof', schema);
}

export function pendingKeyOf(certificationId: Types.ObjectId | string, userId: string): string {
  return `${String(certificationId)}:${userId}`;
}

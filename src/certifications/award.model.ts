/**
 * An awarded certification: like a course certificate (src/certificates/issue.model.ts), an
 * immutable record of what was certified, for whom, when — only the status fields and `pdfFileId`
 * ever change. Name, overview, issuer, badge, type and the courses it rests on are copied in at
 * issue time.
 *
 * One active award per (certification, learner) is guaranteed by the database: `activeKey`
 * exists only while the award is active, under a unique sparse index, so that two claims
 * completing the programme at once cannot both issue.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { ActorSchema, type Actor } from '../certificates/audit.model';
import type { CertificationKind, CertificationValidity } from './certification.model';

export type AwardStatus = 'active' | 'superseded' | 'revoked';

/** One completed course an award rests on. */
export interface AwardBasis {
  /** The course (programmes); absent for a proof. */
  courseId?: Types.ObjectId;
  courseTitle: string;
  /** A course certificate (its id), or the LMS's course completion. */
  via: 'certificate' | 'lms' | 'proof';
  issueId?: Types.ObjectId;
  completedAt: Date;
}

export interface AwardDoc {
  _id: Types.ObjectId;
  certificationId: Types.ObjectId;
  certificationVersion: number;
  issuer: string;
  clientId: string;
  userId: string;
  learnerName: string;
  learnerEmail?: string;
  /** The learner's language at issue time (mails, reminders). */
  language?: string;
  name: string;
  overview: string;
  issuerName: string;
  badgeFileId?: string;
  kind: CertificationKind;
  validity: CertificationValidity;
  /** The date of the completion that made it complete (ALM: validity runs from here). */
  completedAt: Date;
  issuedAt: Date;
  expiresAt: Date | null;
  basis: AwardBasis[];
  issuedBy: Actor;
  code: string;
  version: number;
  status: AwardStatus;
  activeKey?: string;
  supersedes?: Types.ObjectId;
  supersededBy?: Types.ObjectId;
  supersededAt?: Date;
  revokedAt?: Date;
  revokedBy?: Actor;
  revokedReason?: string;
  pdfFileId?: string;
  /** Set when the learner's data was erased (src/privacy): the name is a placeholder and never shown. */
  erasedAt?: Date;
}

const schema = new Schema<AwardDoc>(
  {
    certificationId: { type: Schema.Types.ObjectId, required: true },
    certificationVersion: { type: Number, required: true },
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    userId: { type: String, required: true },
    learnerName: { type: String, required: true },
    learnerEmail: String,
    language: String,
    name: { type: String, required: true },
    overview: { type: String, default: '' },
    issuerName: { type: String, required: true },
    badgeFileId: String,
    kind: { type: String, required: true },
    validity: { type: Schema.Types.Mixed, required: true },
    completedAt: { type: Date, required: true },
    issuedAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
    basis: { type: Schema.Types.Mixed, default: [] },
    issuedBy: { type: ActorSchema, required: true },
    code: { type: String, required: true },
    version: { type: Number, required: true },
    status: { type: String, enum: ['active', 'superseded', 'revoked'], required: true },
    activeKey: String,
    supersedes: Schema.Types.ObjectId,
    supersededBy: Schema.Types.ObjectId,
    supersededAt: Date,
    revokedAt: Date,
    revokedBy: ActorSchema,
    revokedReason: String,
    pdfFileId: String,
    erasedAt: Date,
  },
  { collection: 'certification_awards', versionKey: false, minimize: false },
);
schema.index({ code: 1 }, { unique: true });
schema.index({ activeKey: 1 }, { unique: true, sparse: true });
schema.index({ certificationId: 1, userId: 1, version: 1 }, { unique: true });
schema.index({ certificationId: 1, userId: 1 });
schema.index({ certificationId: 1 });
schema.index({ issuer: 1, clientId: 1, userId: 1 });

export function awardModel(conn: Connection): Model<AwardDoc> {
  return (conn.models.CertificationAward as Model<AwardDoc>) ?? conn.model<AwardDoc>('CertificationAward', schema);
}

export function awardActiveKey(certificationId: Types.ObjectId | string, userId: string): string {
  return `${String(certificationId)}:${userId}`;
}

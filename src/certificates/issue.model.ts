/**
 * An issued certificate: an immutable record of what was certified, for whom, at which moment.
 *
 * Only the status fields ever change (status, supersededBy/At, revokedAt/By/Reason, `activeKey`
 * removed with them) plus `pdfFileId`, which the document renderer fills once. Everything the
 * certificate says (name, course, score, per-item breakdown, template) is copied in at issue time,
 * so later grade, name or template changes never rewrite an issued certificate (customcert's
 * most reported problem); they make it *stale*, and a re-issue creates a new version.
 *
 * Exactly one active certificate per (definition, learner) is guaranteed by the database, not
 * by code: `activeKey` = `${definitionId}:${userId}` exists only while the certificate is active
 * and has a unique sparse index. Two tabs, a double click or two server instances racing to
 * issue all hit that index and all but one fail; the losers return the winner's certificate.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { ActorSchema, type Actor } from './audit.model';
import type { TemplateSettings } from './definition.schema';
import type { Validity } from './definition.model';
import type { Evaluation } from './evaluate';
import { forgetViewerAccess } from './viewer-access.cache';

export type IssueStatus = 'active' | 'superseded' | 'revoked';

/** The evaluation at issue time, as stored (reasons are empty: it was eligible). */
export type EvaluationSnapshot = Omit<Evaluation, 'reasons'>;

export interface IssueDoc {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  definitionId: Types.ObjectId;
  definitionVersion: number;
  userId: string;
  /** The learner's name as it was when the certificate was issued. */
  learnerName: string;
  learnerEmail?: string;
  courseTitle: string;
  /** The definition's title and issuer at issue time. */
  title: string;
  issuerName: string;
  scorePercent: number;
  evaluation: EvaluationSnapshot;
  /** `evaluationFingerprint(evaluation)`: lets the overview spot changed grades without loading snapshots. */
  fingerprint: string;
  template: TemplateSettings;
  validity: Validity;
  issuedAt: Date;
  expiresAt: Date | null;
  issuedBy: Actor;
  /** Canonical verification code (`XXXX-XXXX-XXXX-XXXX`). */
  code: string;
  /** 1, 2, ... per (definition, learner), revoked and superseded ones included. */
  version: number;
  status: IssueStatus;
  /** `${definitionId}:${userId}` while active; absent otherwise (see the file comment). */
  activeKey?: string;
  supersedes?: Types.ObjectId;
  supersededBy?: Types.ObjectId;
  supersededAt?: Date;
  revokedAt?: Date;
  revokedBy?: Actor;
  revokedReason?: string;
  /** Set by "delete all", so that its audit entry lists exactly the certificates it revoked. */
  revokeBatch?: Types.ObjectId;
  /** The stored PDF, once rendered (filled by the document renderer). */
  pdfFileId?: string;
  /**
   * Whether the definition was public when this certificate was issued: verification shows a
   * certificate's content only if it was public then and is public now (src/privacy, #14).
   */
  publicAtIssue?: boolean;
  /** Set when the learner's data was erased: name, e-mail and PDF are gone, code, status and dates stay. */
  erasedAt?: Date;
}

const schema = new Schema<IssueDoc>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    definitionId: { type: Schema.Types.ObjectId, required: true },
    definitionVersion: { type: Number, required: true },
    userId: { type: String, required: true },
    learnerName: { type: String, required: true },
    learnerEmail: String,
    courseTitle: { type: String, required: true },
    title: { type: String, required: true },
    issuerName: { type: String, required: true },
    scorePercent: { type: Number, required: true },
    evaluation: { type: Schema.Types.Mixed, required: true },
    fingerprint: { type: String, required: true },
    template: { type: Schema.Types.Mixed, required: true },
    validity: { type: Schema.Types.Mixed, required: true },
    issuedAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
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
    revokeBatch: Schema.Types.ObjectId,
    pdfFileId: String,
    publicAtIssue: Boolean,
    erasedAt: Date,
  },
  { collection: 'certificate_issues', versionKey: false, minimize: false },
);
schema.index({ code: 1 }, { unique: true });
schema.index({ activeKey: 1 }, { unique: true, sparse: true });
schema.index({ definitionId: 1, userId: 1, version: 1 }, { unique: true });
// Lookup indexes; the offline engine plans only with indexes whose every field is an equality.
schema.index({ definitionId: 1, userId: 1 });
schema.index({ courseId: 1 });
// a learner's certificates across courses (a claim re-evaluates the certifications it may complete)
schema.index({ userId: 1 });

// A changed certificate (revoked, superseded, erased, its PDF attached) must not be served from
// the downloads' permission cache (viewer-access.cache.ts): forget it before the write is sent
// and again once it is done, so that no read racing the write is remembered.
const WRITES = ['updateOne', 'updateMany', 'findOneAndUpdate', 'replaceOne', 'deleteOne', 'deleteMany', 'findOneAndDelete'] as const;
for (const op of WRITES) {
  schema.pre(op, { document: false, query: true }, function () {
    forgetViewerAccess(this.model.db);
  });
  schema.post(op, { document: false, query: true }, function () {
    forgetViewerAccess(this.model.db);
  });
}

export function issueModel(conn: Connection): Model<IssueDoc> {
  return (conn.models.CertificateIssue as Model<IssueDoc>) ?? conn.model<IssueDoc>('CertificateIssue', schema);
}

/** The unique key that only an active certificate holds. */
export function activeKeyOf(definitionId: Types.ObjectId | string, userId: string): string {
  return `${String(definitionId)}:${userId}`;
}

/**
 * The certificate audit trail of a course: who did what, when, to which certificate or
 * definition, with enough detail to reconstruct it (a revoked certificate's content is copied
 * into its entry). Entries are only ever inserted.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

/** Who acted. `system` is the tool itself (automatic re-issue after a grade sync). */
export interface Actor {
  kind: 'teacher' | 'learner' | 'system' | 'admin';
  userId?: string;
  name?: string;
}

export type AuditAction =
  | 'certificate_issued'
  | 'certificate_reissued'
  | 'certificate_revoked'
  | 'certificates_revoked_all'
  | 'generate_all'
  | 'definition_created'
  | 'definition_changed'
  | 'definition_archived'
  | 'settings_changed';

export interface AuditEntryDoc {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  action: AuditAction;
  actor: Actor;
  at: Date;
  definitionId?: Types.ObjectId;
  issueId?: Types.ObjectId;
  /** The learner the entry concerns, when there is one. */
  userId?: string;
  details: Record<string, unknown>;
  /** Set on entries whose personal part is in `audit_details` (until this date); absent on older entries. */
  detailsUntil?: Date;
}

export const ActorSchema = new Schema<Actor>(
  {
    kind: { type: String, enum: ['teacher', 'learner', 'system', 'admin'], required: true },
    userId: String,
    name: String,
  },
  { _id: false },
);

const schema = new Schema<AuditEntryDoc>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    action: { type: String, required: true },
    actor: { type: ActorSchema, required: true },
    at: { type: Date, required: true },
    definitionId: Schema.Types.ObjectId,
    issueId: Schema.Types.ObjectId,
    userId: String,
    details: { type: Schema.Types.Mixed, default: {} },
    detailsUntil: Date,
  },
  { collection: 'certificate_audit', versionKey: false, minimize: false },
);
schema.index({ courseId: 1, at: -1, _id: -1 });
// Redundant for MongoDB (a prefix of the index above), but the offline engine only plans with
// indexes whose every field is matched by equality.
schema.index({ courseId: 1 });

export function auditModel(conn: Connection): Model<AuditEntryDoc> {
  return (conn.models.CertificateAudit as Model<AuditEntryDoc>) ?? conn.model<AuditEntryDoc>('CertificateAudit', schema);
}

/**
 * The personal part of an audit entry (#14 privacy): the acting person's name and the details that
 * name a learner (names, e-mails, free-text reasons, copies of revoked content), keyed by the entry's
 * id. Deleted by a TTL AUDIT_DETAIL_RETENTION_DAYS after the entry; the entry itself (what, when,
 * which certificate, actor kind, ids) stays. Entries written before this split keep their details
 * inline (no `detailsUntil`) and are read as they are.
 */
export interface AuditDetailDoc {
  _id: Types.ObjectId;
  /** The course of a certificate entry; absent for certification entries (certification_audit). */
  courseId?: Types.ObjectId;
  actorName?: string;
  details: Record<string, unknown>;
  expireAt: Date;
}

/** The detail keys that name or describe a person; the others (codes, scores, counts) stay in the entry. */
export const PERSONAL_DETAIL_KEYS = ['learnerName', 'learnerEmail', 'reason', 'certificate', 'certificates'] as const;

const DAY_MS = 86_400_000;
const AUDIT_DETAIL_RETENTION = { days: 730 };
/** AUDIT_DETAIL_RETENTION_DAYS (config.ts), set once at start. */
export function configureAuditDetailRetention(days: number): void {
  AUDIT_DETAIL_RETENTION.days = days;
}
export function auditDetailRetentionDays(): number {
  return AUDIT_DETAIL_RETENTION.days;
}
export function auditDetailExpiry(at: Date): Date {
  return new Date(at.getTime() + AUDIT_DETAIL_RETENTION.days * DAY_MS);
}

const detailSchema = new Schema<AuditDetailDoc>(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    courseId: Schema.Types.ObjectId,
    actorName: String,
    details: { type: Schema.Types.Mixed, default: {} },
    expireAt: { type: Date, required: true },
  },
  { collection: 'audit_details', versionKey: false, minimize: false },
);
detailSchema.index({ expireAt: 1 }, { expireAfterSeconds: 0 });

export function auditDetailModel(conn: Connection): Model<AuditDetailDoc> {
  return (conn.models.AuditDetail as Model<AuditDetailDoc>) ?? conn.model<AuditDetailDoc>('AuditDetail', detailSchema);
}

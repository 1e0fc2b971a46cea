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

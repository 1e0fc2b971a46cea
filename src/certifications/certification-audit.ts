/**
 * The audit trail of certifications: definitions created, changed, archived; awards issued,
 * renewed, revoked (cascaded or kept). Entries are only ever inserted; an award's "issued"
 * entry takes the award's id, so writing it twice keeps one.
 */
import { Schema, Types, type Connection, type Model } from 'mongoose';
import { ActorSchema, type Actor } from '../certificates/audit.model';
import { insertWithAuditDetails, withAuditDetails } from '../certificates/audit.service';

export type CertificationAuditAction =
  | 'certification_created'
  | 'certification_changed'
  | 'certification_archived'
  | 'award_issued'
  | 'award_renewed'
  | 'award_revoked'
  | 'award_kept'
  // external certifications' proofs (src/certifications/external)
  | 'proof_submitted'
  | 'proof_approved'
  | 'proof_rejected';

export interface CertificationAuditDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  certificationId: Types.ObjectId;
  action: CertificationAuditAction;
  actor: Actor;
  at: Date;
  awardId?: Types.ObjectId;
  userId?: string;
  details: Record<string, unknown>;
  /** Set on entries whose personal part (names, reasons) is in audit_details, see audit.model.ts. */
  detailsUntil?: Date;
}

const schema = new Schema<CertificationAuditDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    certificationId: { type: Schema.Types.ObjectId, required: true },
    action: { type: String, required: true },
    actor: { type: ActorSchema, required: true },
    at: { type: Date, required: true },
    awardId: Schema.Types.ObjectId,
    userId: String,
    details: { type: Schema.Types.Mixed, default: {} },
    detailsUntil: Date,
  },
  { collection: 'certification_audit', versionKey: false, minimize: false },
);
schema.index({ certificationId: 1 });

export function certificationAuditModel(conn: Connection): Model<CertificationAuditDoc> {
  return (conn.models.CertificationAudit as Model<CertificationAuditDoc>) ?? conn.model<CertificationAuditDoc>('CertificationAudit', schema);
}

export type CertificationAuditInput = Omit<CertificationAuditDoc, '_id' | 'details'> & { id?: Types.ObjectId; details?: Record<string, unknown> };

/** Appends entries (one insert for many); an entry whose `id` exists already is kept as it is. */
export async function recordCertificationAudit(conn: Connection, entries: CertificationAuditInput | CertificationAuditInput[]): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return;
  const docs = list.map(({ id, ...e }) => {
    const doc: Record<string, unknown> = { _id: id ?? new Types.ObjectId(), details: {} };
    for (const [k, v] of Object.entries(e)) if (v !== undefined) doc[k] = v;
    return doc;
  });
  // names and reasons go to audit_details (TTL AUDIT_DETAIL_RETENTION_DAYS), written after the entry
  await insertWithAuditDetails(certificationAuditModel(conn).collection, conn, docs);
}

/** A certification's trail, newest first. */
export async function listCertificationAudit(conn: Connection, certificationId: Types.ObjectId, limit = 200): Promise<CertificationAuditDoc[]> {
  return withAuditDetails(conn, await certificationAuditModel(conn).find({ certificationId }).sort({ at: -1, _id: -1 }).limit(limit).lean<CertificationAuditDoc[]>());
}

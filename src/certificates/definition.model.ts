/**
 * A certificate definition: what a course's certificate requires and looks like. A course may
 * have several ("Pass" at 60%, "Distinction" at 90%). Every change increments `version`; an
 * issued certificate records the version it was issued under, and the audit trail keeps what
 * each version said. Definitions are archived, never deleted, so old certificates keep their
 * meaning.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { ActorSchema, type Actor } from './audit.model';
import type { ItemSelection } from './evaluate';
import type { TemplateSettings } from './definition.schema';

export type Validity = { kind: 'perpetual' } | { kind: 'recurring'; validForMonths: number };

export interface DefinitionDoc {
  _id: Types.ObjectId;
  courseId: Types.ObjectId;
  title: string;
  issuerName: string;
  items: ItemSelection;
  thresholdPercent: number;
  requireAllGraded: boolean;
  /** "At least N of the mandatory items"; null = all of them. */
  mandatoryMinimum: number | null;
  validity: Validity;
  /** Certificates may be viewed without a launch (only when the administrator allows it). */
  public: boolean;
  /** E-mail the learner when their certificate is issued (opt-in; src/mail). Absent on older definitions: off. */
  mailOnIssue?: boolean;
  template: TemplateSettings;
  version: number;
  archivedAt: Date | null;
  createdAt: Date;
  createdBy: Actor;
  updatedAt: Date;
  updatedBy: Actor;
}

// items, validity and template are validated by definition.schema.ts (zod) before they get here;
// Mixed keeps exactly that shape instead of a second, drifting mongoose description of it.
const schema = new Schema<DefinitionDoc>(
  {
    courseId: { type: Schema.Types.ObjectId, required: true },
    title: { type: String, required: true },
    issuerName: { type: String, required: true },
    items: { type: Schema.Types.Mixed, required: true },
    thresholdPercent: { type: Number, required: true, min: 0, max: 100 },
    requireAllGraded: { type: Boolean, required: true },
    mandatoryMinimum: { type: Number, default: null },
    validity: { type: Schema.Types.Mixed, required: true },
    public: { type: Boolean, default: false },
    mailOnIssue: { type: Boolean, default: false },
    template: { type: Schema.Types.Mixed, required: true },
    version: { type: Number, required: true, default: 1 },
    archivedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    createdBy: { type: ActorSchema, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: ActorSchema, required: true },
  },
  { collection: 'certificate_definitions', versionKey: false, minimize: false },
);
schema.index({ courseId: 1 });

export function definitionModel(conn: Connection): Model<DefinitionDoc> {
  return (conn.models.CertificateDefinition as Model<DefinitionDoc>) ?? conn.model<DefinitionDoc>('CertificateDefinition', schema);
}

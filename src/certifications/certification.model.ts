/**
 * A certification (Adobe Learning Manager's sense, PRODUCT.md R6–R11): defined by an
 * administrator for one platform registration (tenant = issuer + client id, the same trust
 * boundary as a course, see src/courses/course.model.ts), never by a teacher or a learner.
 *
 * - `internal`: a programme of courses of that registration. A course counts as completed when
 *   the learner holds a valid certificate of one of the chosen definitions in it (any definition
 *   of the course when none is chosen), or when the LMS says the course is complete
 *   (`useLmsCompletion`, Moodle's course completion). Issued when at least
 *   `minimumMandatory` (all when null) of the mandatory courses are completed (ALM: 2 of 4).
 * - `external`: obtained elsewhere, proven by an upload and approved (src/certifications/external,
 *   helper proofs); `assignment` says who it concerns.
 *
 * Every change increments `version`; awards record the version they were issued under.
 * Certifications are archived, never deleted, so that awards keep their meaning.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { ActorSchema, type Actor } from '../certificates/audit.model';

export type CertificationKind = 'internal' | 'external';

/** Perpetual, or recurring: valid `validForMonths` from the completion date, renewable from `renewalWindowDays` before expiry. */
export type CertificationValidity = { kind: 'perpetual' } | { kind: 'recurring'; validForMonths: number; renewalWindowDays: number };

export interface ProgrammeCourse {
  courseId: Types.ObjectId;
  mandatory: boolean;
  /** Certificate definitions of that course that count; empty = any of them. */
  definitionIds: Types.ObjectId[];
}

export interface Programme {
  courses: ProgrammeCourse[];
  /** "At least N of the mandatory ones"; null = all of them. */
  minimumMandatory: number | null;
  /** Also count a course as completed when the LMS marks it complete (Moodle course completion). */
  useLmsCompletion: boolean;
}

/** What happens to an award when a course certificate it rests on is revoked. */
export type OnCourseRevoked = 'revoke' | 'keep';

export interface CertificationDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  name: string;
  overview: string;
  issuerName: string;
  /** GridFS `images` file (checked like the logos), scope `certification:<id>`. */
  badgeFileId?: string;
  kind: CertificationKind;
  validity: CertificationValidity;
  /** Internal certifications only. */
  programme?: Programme;
  onCourseRevoked: OnCourseRevoked;
  /** External certifications: who must hold it (proofs' part). */
  assignment: { everyone: boolean; userIds: string[] };
  version: number;
  /** When it was first published (the list's "publication date" sort). */
  publishedAt: Date;
  archivedAt: Date | null;
  createdAt: Date;
  createdBy: Actor;
  updatedAt: Date;
  updatedBy: Actor;
}

// validity and programme are validated by certification.schema.ts (zod) before they get here.
const schema = new Schema<CertificationDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    name: { type: String, required: true },
    overview: { type: String, default: '' },
    issuerName: { type: String, required: true },
    badgeFileId: String,
    kind: { type: String, enum: ['internal', 'external'], required: true },
    validity: { type: Schema.Types.Mixed, required: true },
    programme: { type: Schema.Types.Mixed },
    onCourseRevoked: { type: String, enum: ['revoke', 'keep'], default: 'revoke' },
    assignment: { type: Schema.Types.Mixed, default: () => ({ everyone: true, userIds: [] }) },
    version: { type: Number, required: true, default: 1 },
    publishedAt: { type: Date, required: true },
    archivedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    createdBy: { type: ActorSchema, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: ActorSchema, required: true },
  },
  { collection: 'certifications', versionKey: false, minimize: false },
);
schema.index({ issuer: 1, clientId: 1 });
// "which certifications use this course" after every claim, sync and import
schema.index({ 'programme.courses.courseId': 1 });

export function certificationModel(conn: Connection): Model<CertificationDoc> {
  return (conn.models.Certification as Model<CertificationDoc>) ?? conn.model<CertificationDoc>('Certification', schema);
}

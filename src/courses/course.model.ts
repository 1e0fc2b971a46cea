/**
 * A course as the tool knows it: one LMS context on one platform registration. Created on the
 * first valid launch from that context (never by a refused one), updated on later launches.
 *
 * Identity = issuer + client id + context id. The client id is part of it because one issuer
 * can carry many tenants: Canvas Cloud signs every institution's launches as
 * `https://canvas.instructure.com`, and each institution's registration (client id) holds its
 * own keys — so a context id seen under another client id is another tenant's course, never
 * this one (the second tenant must neither reach it nor overwrite its service URLs).
 *
 * The deployment id is recorded (`deploymentIds`) but deliberately NOT part of the identity:
 * Chamilo gives each course copy of the tool its own deployment id (platforms.md §3, §6:
 * `deployment_id` = parent or tool id) under one client, and those launches are the same
 * course. Within one client id, deployments share the platform's signing key, so a deployment
 * boundary protects nothing a platform could not forge anyway; the client id is the trust
 * boundary.
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export interface CourseDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  /** Deployment ids seen for this course (Chamilo gives each course copy its own). */
  deploymentIds: string[];
  contextId: string;
  title?: string;
  label?: string;
  platformFamily: string;
  /** The service endpoints from the latest launch that carried them (grade sync uses these). */
  services: { lineItemsUrl?: string; membershipsUrl?: string; agsScopes: string[] };
  /** The course's page in the LMS, from the latest launch (src/courses/course-link.ts). */
  lmsUrl?: string;
  settings: {
    /** Re-issue stale certificates automatically after a sync (R5). */
    autoReissue: boolean;
  };
  createdAt: Date;
  updatedAt: Date;
}

const schema = new Schema<CourseDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    deploymentIds: { type: [String], default: [] },
    contextId: { type: String, required: true },
    title: String,
    label: String,
    platformFamily: { type: String, default: 'generic' },
    services: {
      lineItemsUrl: String,
      membershipsUrl: String,
      agsScopes: { type: [String], default: [] },
    },
    lmsUrl: String,
    settings: { autoReissue: { type: Boolean, default: false } },
  },
  { timestamps: true, collection: 'courses' },
);
schema.index({ issuer: 1, clientId: 1, contextId: 1 }, { unique: true });

/** The identity index before tenants were told apart (issuer + context id only). */
const LEGACY_IDENTITY_INDEX = 'issuer_1_contextId_1';

export function courseModel(conn: Connection): Model<CourseDoc> {
  return (conn.models.Course as Model<CourseDoc>) ?? conn.model<CourseDoc>('Course', schema);
}

/** The filter that finds one course by its identity. */
export function courseIdentity(issuer: string, clientId: string, contextId: string): Pick<CourseDoc, 'issuer' | 'clientId' | 'contextId'> {
  return { issuer, clientId, contextId };
}

/**
 * Moves an existing database to the current course identity (call at start, before launches):
 * drops the old unique index on issuer + context id, which would refuse a second tenant's
 * course, and builds the new one. Existing courses keep their documents, ids and client id
 * (the one their launches came from), so their launches find them as before.
 */
export async function migrateCourseIdentity(conn: Connection): Promise<void> {
  const Course = courseModel(conn);
  const indexes = await Course.collection.indexes().catch(() => [] as Array<{ name?: string }>);
  if (indexes.some((i) => i.name === LEGACY_IDENTITY_INDEX)) await Course.collection.dropIndex(LEGACY_IDENTITY_INDEX);
  await Course.init();
  await Course.createIndexes();
}

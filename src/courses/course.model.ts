/**
 * A course as the tool knows it: one LMS context on one platform. Created on the first valid
 * launch from that context (never by a refused one), updated on later launches.
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
    settings: { autoReissue: { type: Boolean, default: false } },
  },
  { timestamps: true, collection: 'courses' },
);
schema.index({ issuer: 1, contextId: 1 }, { unique: true });

export function courseModel(conn: Connection): Model<CourseDoc> {
  return (conn.models.Course as Model<CourseDoc>) ?? conn.model<CourseDoc>('Course', schema);
}

/**
 * Deployments the tool knows, per registration (issuer + client id). One registration may carry
 * several deployment ids: Chamilo gives each course copy of the tool its own (platforms.md §6).
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface DeploymentDoc {
  issuer: string;
  clientId: string;
  deploymentId: string;
  /** Where we learned of it: a platform-config file, dynamic registration, or a first launch. */
  source: 'config' | 'dynamic-registration' | 'launch' | 'admin';
  status: 'accepted' | 'refused';
  firstSeenAt: Date;
  lastLaunchAt?: Date;
}

const schema = new Schema<DeploymentDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    deploymentId: { type: String, required: true },
    source: { type: String, required: true },
    status: { type: String, required: true },
    firstSeenAt: { type: Date, required: true },
    lastLaunchAt: Date,
  },
  { collection: 'deployments' },
);
schema.index({ issuer: 1, clientId: 1, deploymentId: 1 }, { unique: true });

export function deploymentModel(conn: Connection): Model<DeploymentDoc> {
  return (conn.models.Deployment as Model<DeploymentDoc>) ?? conn.model<DeploymentDoc>('Deployment', schema);
}

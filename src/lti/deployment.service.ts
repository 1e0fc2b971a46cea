/**
 * The administrator's view of registrations: the deployments the tool knows (accepted or refused),
 * the latest registration events, and the administrator's decision on a deployment.
 */
import type { Connection } from 'mongoose';
import { deploymentModel, type DeploymentDoc } from './deployment.model';
import { registrationEventModel, type RegistrationEventDoc, type RegistrationRequestDoc } from './registration-request.model';

export type { DeploymentDoc, RegistrationEventDoc, RegistrationRequestDoc };

/** Every known deployment, by issuer, client id, deployment id. */
export async function listDeployments(conn: Connection): Promise<DeploymentDoc[]> {
  return deploymentModel(conn).find().sort({ issuer: 1, clientId: 1, deploymentId: 1 }).lean<DeploymentDoc[]>();
}

/** The 20 latest registration events, newest first. */
export async function recentRegistrationEvents(conn: Connection): Promise<RegistrationEventDoc[]> {
  return registrationEventModel(conn).find().sort({ at: -1 }).limit(20).lean<RegistrationEventDoc[]>();
}

/** The administrator accepts or refuses a deployment (recorded as theirs when first seen now). */
export async function setDeploymentStatus(
  conn: Connection,
  deployment: Pick<DeploymentDoc, 'issuer' | 'clientId' | 'deploymentId' | 'status'>,
  now: Date,
): Promise<void> {
  await deploymentModel(conn).updateOne(
    { issuer: deployment.issuer, clientId: deployment.clientId, deploymentId: deployment.deploymentId },
    { $set: { status: deployment.status }, $setOnInsert: { source: 'admin', firstSeenAt: now } },
    { upsert: true },
  );
}

/**
 * Dynamic registration bookkeeping.
 *
 * - `dynamic_registrations`: the first dynamic registration of each issuer + client id. Its
 *   unique index decides, atomically, which of two simultaneous registrations of a new client
 *   becomes the registration; every later one is only a request.
 * - `registration_requests`: a re-registration of an issuer + client id the tool already knows.
 *   It NEVER changes the active registration (keyset, login and token URLs): anyone who can
 *   make the tool fetch an openid-configuration could otherwise replace a platform's keys and
 *   sign launches as any teacher. The administrator compares it with the registration in use on
 *   /admin and accepts (it replaces the registration) or rejects it (it is deleted).
 * - `registration_events`: what happened to registrations, and who decided (insert only).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export interface DynamicRegistrationDoc {
  issuer: string;
  clientId: string;
  openidConfigurationUrl: string;
  registeredAt: Date;
}

export interface RegistrationRequestDoc {
  _id: Types.ObjectId;
  issuer: string;
  clientId: string;
  name: string;
  authUrl: string;
  tokenUrl: string;
  authorizationServer?: string;
  jwksUrl: string;
  deploymentId?: string;
  productFamily?: string;
  openidConfigurationUrl: string;
  requestedAt: Date;
  /** The address the registration request came from (as express saw it). */
  requestedFrom?: string;
}

export type RegistrationEventAction = 'registered' | 'reregistration_requested' | 'reregistration_accepted' | 'reregistration_rejected';

export interface RegistrationEventDoc {
  action: RegistrationEventAction;
  issuer: string;
  clientId: string;
  at: Date;
  actor: 'lms' | 'admin';
  details: Record<string, unknown>;
}

/** At most this many waiting re-registrations per issuer + client id (a flood stays bounded). */
export const MAX_PENDING_PER_CLIENT = 10;

const dynamicSchema = new Schema<DynamicRegistrationDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    openidConfigurationUrl: { type: String, required: true },
    registeredAt: { type: Date, required: true },
  },
  { collection: 'dynamic_registrations', versionKey: false },
);
dynamicSchema.index({ issuer: 1, clientId: 1 }, { unique: true });

const requestSchema = new Schema<RegistrationRequestDoc>(
  {
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    name: { type: String, required: true },
    authUrl: { type: String, required: true },
    tokenUrl: { type: String, required: true },
    authorizationServer: String,
    jwksUrl: { type: String, required: true },
    deploymentId: String,
    productFamily: String,
    openidConfigurationUrl: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    requestedFrom: String,
  },
  { collection: 'registration_requests', versionKey: false },
);
requestSchema.index({ issuer: 1, clientId: 1, requestedAt: 1 });

const eventSchema = new Schema<RegistrationEventDoc>(
  {
    action: { type: String, required: true },
    issuer: { type: String, required: true },
    clientId: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    details: { type: Schema.Types.Mixed, default: {} },
  },
  { collection: 'registration_events', versionKey: false, minimize: false },
);
eventSchema.index({ at: -1 });

export function dynamicRegistrationModel(conn: Connection): Model<DynamicRegistrationDoc> {
  return (conn.models.DynamicRegistration as Model<DynamicRegistrationDoc>) ?? conn.model<DynamicRegistrationDoc>('DynamicRegistration', dynamicSchema);
}

export function registrationRequestModel(conn: Connection): Model<RegistrationRequestDoc> {
  return (conn.models.RegistrationRequest as Model<RegistrationRequestDoc>) ?? conn.model<RegistrationRequestDoc>('RegistrationRequest', requestSchema);
}

export function registrationEventModel(conn: Connection): Model<RegistrationEventDoc> {
  return (conn.models.RegistrationEvent as Model<RegistrationEventDoc>) ?? conn.model<RegistrationEventDoc>('RegistrationEvent', eventSchema);
}

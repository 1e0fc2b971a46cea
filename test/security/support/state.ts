/**
 * What the tool has written, for "nothing was written" assertions: document counts of the
 * tool's collections and of ltijs's (ltijs uses mongoose's default connection).
 */
import mongoose from 'mongoose';
import type { TestApp } from '../../support/app';

export const TOOL_COLLECTIONS = [
  'courses',
  'sessions',
  'deployments',
  'dynamic_registrations',
  'registration_requests',
  'lineitems',
  'results',
  'members',
  'syncruns',
  'certificate_issues',
  'certificate_audit',
  'audit_details',
] as const;
export const LTIJS_COLLECTIONS = ['platforms', 'platformstatuses', 'idtokens', 'contexttokens', 'accesstokens', 'publickeys', 'privatekeys'] as const;

export type Counts = Record<string, number>;

export async function countWrites(t: TestApp): Promise<Counts> {
  const counts: Counts = {};
  for (const name of TOOL_COLLECTIONS) counts[name] = await t.db.connection.collection(name).countDocuments();
  for (const name of LTIJS_COLLECTIONS) counts[`ltijs.${name}`] = await mongoose.connection.collection(name).countDocuments();
  return counts;
}

/** ltijs's own stored platform document (keyset, URLs), without volatile fields. */
export async function ltijsPlatform(issuer: string, clientId: string): Promise<Record<string, unknown> | null> {
  const doc = await mongoose.connection.collection('platforms').findOne({ platformUrl: issuer, clientId });
  if (!doc) return null;
  const { _id, __v, ...rest } = doc as Record<string, unknown>;
  void _id;
  void __v;
  return rest;
}

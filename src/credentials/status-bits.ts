/**
 * Setting status bits: the one part of src/credentials that src/certificates calls (after a
 * revocation or a re-issue). Only models here, so that the certificates code does not load the
 * JSON-LD libraries.
 */
import type { Connection } from 'mongoose';
import { credentialModel, statusListModel, type CredentialDoc } from './credential.model';

export interface StatusEntry {
  list: number;
  index: number;
}

/** Sets (revokes) one entry; false when it was already set. */
export async function setStatus(conn: Connection, entry: StatusEntry): Promise<boolean> {
  const r = await statusListModel(conn).updateOne({ _id: entry.list, set: { $ne: entry.index } }, { $addToSet: { set: entry.index }, $inc: { version: 1 } });
  return r.modifiedCount > 0;
}

export async function isSet(conn: Connection, entry: StatusEntry): Promise<boolean> {
  return (await statusListModel(conn).countDocuments({ _id: entry.list, set: entry.index })) > 0;
}

/**
 * The hook for revocations and re-issues: sets the status bit of the credentials of these records.
 * A record without a credential has nothing to revoke yet; when it gets one, credentialFor sets its bit.
 */
export async function revokeCredentials(conn: Connection, kind: CredentialDoc['kind'], sourceIds: readonly string[]): Promise<number> {
  if (sourceIds.length === 0) return 0;
  const docs = await credentialModel(conn)
    .find({ _id: { $in: sourceIds.map((id) => `${kind}:${id}`) } }, { statusList: 1, statusIndex: 1 })
    .lean<Pick<CredentialDoc, 'statusList' | 'statusIndex'>[]>();
  let changed = 0;
  for (const d of docs) if (await setStatus(conn, { list: d.statusList, index: d.statusIndex })) changed++;
  return changed;
}

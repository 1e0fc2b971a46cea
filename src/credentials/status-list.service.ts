/**
 * Revocation on a Bitstring Status List (W3C): every credential gets an entry when it is signed;
 * the bit is set when its certificate is revoked or superseded. A list holds 131,072 entries
 * (16 KiB before compression, the specification's minimum, for herd privacy); entries are handed
 * out by a counter and spread over the list by an odd multiplier (a bijection modulo 2^17), so
 * that neighbouring bits do not belong to certificates issued one after the other.
 *
 * Setting a bit is one atomic `$addToSet`; the signed list credential is rebuilt on the next read
 * when its version lags behind (signing 16 KiB takes about a millisecond).
 */
import type { Connection } from 'mongoose';
import { VC_V2_CONTEXT } from './contexts';
import { credentialLibs } from './libs';
import { counterModel, statusListModel, type StatusListDoc } from './credential.model';
import type { StatusEntry } from './status-bits';
import type { CredentialUrls } from './urls';

export const STATUS_LIST_LENGTH = 131_072;
const SPREAD = 40_503;

/** The next free entry (atomic across instances). */
export async function allocateStatusEntry(conn: Connection): Promise<StatusEntry> {
  const c = await counterModel(conn).findOneAndUpdate({ _id: 'statusEntry' }, { $inc: { next: 1 } }, { upsert: true, new: true }).lean();
  const seq = c!.next - 1;
  const list = Math.floor(seq / STATUS_LIST_LENGTH);
  const index = ((seq % STATUS_LIST_LENGTH) * SPREAD) % STATUS_LIST_LENGTH;
  await statusListModel(conn).updateOne({ _id: list }, { $setOnInsert: { set: [], version: 0 } }, { upsert: true });
  return { list, index };
}

/** The list's bits, gzip-compressed and multibase-encoded as the specification asks. */
export async function encodeList(set: readonly number[]): Promise<string> {
  const { BitstringStatusList } = await credentialLibs();
  const list = new BitstringStatusList({ length: STATUS_LIST_LENGTH });
  for (const i of set) list.setStatus(i, true);
  return list.encode();
}

/** The unsigned BitstringStatusListCredential of a list. */
export async function statusListCredential(urls: CredentialUrls, list: number, set: readonly number[], now: Date): Promise<Record<string, unknown>> {
  return {
    '@context': [VC_V2_CONTEXT],
    id: urls.statusList(list),
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer: urls.issuer,
    validFrom: iso(now),
    credentialSubject: { id: `${urls.statusList(list)}#list`, type: 'BitstringStatusList', statusPurpose: 'revocation', encodedList: await encodeList(set) },
  };
}

export async function findList(conn: Connection, list: number): Promise<StatusListDoc | null> {
  return statusListModel(conn).findById(list).lean<StatusListDoc>();
}

/** Stores a freshly signed list unless a newer one got there first. */
export async function storeSignedList(conn: Connection, list: number, version: number, signed: string): Promise<void> {
  await statusListModel(conn).updateOne({ _id: list, $or: [{ signedVersion: { $exists: false } }, { signedVersion: { $lt: version } }] }, { $set: { signed, signedVersion: version } });
}

/** XML Schema dateTime without milliseconds (what most verifiers expect). */
export function iso(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

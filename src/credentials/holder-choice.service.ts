/**
 * Whether the verification page shows the holder's name: the learner's choice, asked once at
 * claim and changeable on their certificate page; until they choose, the administrator's switch
 * (PUBLIC_CERTIFICATES, with the course's opt-in) decides. Kept per (kind, definition, learner)
 * so that a re-issued version keeps the choice.
 */
import type { Connection } from 'mongoose';
import { holderChoiceModel } from './credential.model';

export interface HolderKey {
  kind: 'certificate' | 'certification';
  definitionId: string;
  userId: string;
}

const idOf = (k: HolderKey) => `${k.kind}:${k.definitionId}:${k.userId}`;

export async function holderChoice(conn: Connection, key: HolderKey): Promise<boolean | null> {
  const doc = await holderChoiceModel(conn).findById(idOf(key)).lean();
  return doc ? doc.showName : null;
}

export async function showsName(conn: Connection, key: HolderKey, byDefault: boolean): Promise<boolean> {
  return (await holderChoice(conn, key)) ?? byDefault;
}

export async function setHolderChoice(conn: Connection, key: HolderKey, showName: boolean, now: Date): Promise<void> {
  await holderChoiceModel(conn).updateOne({ _id: idOf(key) }, { $set: { showName, decidedAt: now } }, { upsert: true });
}

/**
 * Names compared as people type them: Unicode NFKD, accents (combining marks) dropped, case
 * folded, runs of spaces, dashes and dots made one space. "José  García-Núñez" = "jose garcia nunez".
 */
export function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLocaleLowerCase('und')
    .replace(/ß/g, 'ss')
    .replace(/[\s\-‐-―.'’·]+/gu, ' ')
    .trim();
}

export function sameName(a: string, b: string): boolean {
  const ka = nameKey(a);
  return ka.length > 0 && ka === nameKey(b);
}

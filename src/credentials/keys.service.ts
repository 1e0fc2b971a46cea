/**
 * The installation's Ed25519 signing keys (Multikey). One is current; rotating makes a new one
 * current and keeps the old ones in the issuer profile, so credentials signed before a rotation
 * still verify. The secret halves are encrypted like the Moodle token (token-crypto.ts): AES-256-GCM
 * under a key derived from LTI_KEY with an HKDF context of their own, the key id as AAD.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mongoose';
import { decryptSecret, encryptSecret } from '../grades/moodle/token-crypto';
import { MULTIKEY_CONTEXT } from './contexts';
import { signingKeyModel, type SigningKeyDoc } from './credential.model';
import { credentialLibs } from './libs';
import type { CredentialUrls } from './urls';

const INFO = 'lti-certificates credential signing key v1';

export interface KeyDeps {
  conn: Connection;
  ltiKey: string;
  urls: CredentialUrls;
  now: () => Date;
}

export interface Ed25519KeyPair {
  id: string;
  controller: string;
  publicKeyMultibase: string;
  signer(): { algorithm: string; id: string; sign(input: { data: Uint8Array }): Promise<Uint8Array> };
  verifier(): { algorithm: string; id: string; verify(input: { data: Uint8Array; signature: Uint8Array }): Promise<boolean> };
}

/** The Multikey document of one key, as served at its URL. */
export function keyDocument(urls: CredentialUrls, key: Pick<SigningKeyDoc, '_id' | 'publicKeyMultibase'>) {
  return { '@context': MULTIKEY_CONTEXT, id: urls.key(key._id), type: 'Multikey', controller: urls.issuer, publicKeyMultibase: key.publicKeyMultibase };
}

const opened = new Map<string, Ed25519KeyPair>();

async function generate(deps: KeyDeps): Promise<SigningKeyDoc> {
  const id = `key-${randomBytes(8).toString('hex')}`;
  const { Ed25519Multikey } = await credentialLibs();
  const pair = await Ed25519Multikey.generate({ id: deps.urls.key(id), controller: deps.urls.issuer });
  const exported = await pair.export({ publicKey: true, secretKey: true, includeContext: true });
  return {
    _id: id,
    publicKeyMultibase: exported.publicKeyMultibase,
    secret: encryptSecret(deps.ltiKey, exported.secretKeyMultibase, id, randomBytes, INFO),
    createdAt: deps.now(),
    current: 'current',
  };
}

function isDuplicate(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

/** The current key, created on first use (two instances racing: the unique index picks one). */
export async function currentKey(deps: KeyDeps): Promise<SigningKeyDoc> {
  const Key = signingKeyModel(deps.conn);
  const found = await Key.findOne({ current: 'current' }).lean<SigningKeyDoc>();
  if (found) return found;
  const fresh = await generate(deps);
  try {
    await Key.create(fresh);
    return fresh;
  } catch (err) {
    if (!isDuplicate(err)) throw err;
    const winner = await Key.findOne({ current: 'current' }).lean<SigningKeyDoc>();
    if (!winner) throw err;
    return winner;
  }
}

/** Makes a new key current; the old one stays listed (and verifying) with its retirement date. */
export async function rotateKey(deps: KeyDeps): Promise<SigningKeyDoc> {
  const Key = signingKeyModel(deps.conn);
  await Key.updateMany({ current: 'current' }, { $unset: { current: 1 }, $set: { retiredAt: deps.now() } });
  return currentKey(deps);
}

/** Every key ever used, oldest first (the issuer profile lists them all). */
export async function allKeys(conn: Connection): Promise<SigningKeyDoc[]> {
  return signingKeyModel(conn).find({}).sort({ createdAt: 1, _id: 1 }).lean<SigningKeyDoc[]>();
}

/** The key pair that signs, decrypted once per process. Throws when LTI_KEY changed since it was made. */
export async function openKey(deps: KeyDeps, key: SigningKeyDoc): Promise<Ed25519KeyPair> {
  const cacheKey = `${deps.urls.issuer} ${key._id} ${key.publicKeyMultibase}`;
  const cached = opened.get(cacheKey);
  if (cached) return cached;
  const secretKeyMultibase = decryptSecret(deps.ltiKey, key.secret, key._id, INFO);
  const { Ed25519Multikey } = await credentialLibs();
  const pair = (await Ed25519Multikey.from({ ...keyDocument(deps.urls, key), secretKeyMultibase })) as unknown as Ed25519KeyPair;
  opened.set(cacheKey, pair);
  return pair;
}

/**
 * Signing: every issued certificate (and certification) is also an Open Badges 3.0
 * `OpenBadgeCredential` on the VC Data Model 2.0, with a Data Integrity proof `eddsa-rdfc-2022`
 * (@digitalbazaar/vc + eddsa-rdfc-2022-cryptosuite). It is signed the first time it is asked for
 * (download, public URL, verifier) and stored, so it is signed once and never changes; its status
 * entry is what changes when the certificate is revoked or superseded.
 */
import type { Connection } from 'mongoose';
import { badgePng } from './badge-image';
import { credentialLibs } from './libs';
import { localDocumentLoader, OB_V3_CONTEXT, VC_V2_CONTEXT, type LocalResolver } from './contexts';
import { credentialModel, type CredentialDoc, type SigningKeyDoc } from './credential.model';
import type { CredentialSource } from './credential-source';
import { allKeys, currentKey, keyDocument, openKey, type KeyDeps } from './keys.service';
import { isSet, setStatus, type StatusEntry } from './status-bits';
import { allocateStatusEntry, findList, iso, statusListCredential, storeSignedList } from './status-list.service';
import { credentialUrls, type CredentialUrls } from './urls';

export interface CredentialDeps {
  conn: Connection;
  ltiKey: string;
  publicUrl: string;
  now: () => Date;
}

export type SignedCredential = Record<string, unknown> & { proof: Record<string, unknown> };

function keyDeps(deps: CredentialDeps): KeyDeps & { urls: CredentialUrls } {
  return { conn: deps.conn, ltiKey: deps.ltiKey, now: deps.now, urls: credentialUrls(deps.publicUrl) };
}

/** The issuer profile at `/issuer`: who signs, with every key ever used (old ones keep old credentials verifiable). */
export function issuerProfile(urls: CredentialUrls, name: string, keys: readonly SigningKeyDoc[]): Record<string, unknown> {
  // The DID context first: verifiers then read `assertionMethod` as plain JSON (no JSON-LD framing
  // of a document they fetched), as they do for a DID document.
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1', OB_V3_CONTEXT],
    id: urls.issuer,
    type: ['Profile'],
    name,
    url: urls.issuer.replace(/\/issuer$/, '/'),
    verificationMethod: keys.map((k) => keyDocument(urls, k)).map(({ '@context': _c, ...k }) => k),
    assertionMethod: keys.map((k) => urls.key(k._id)),
  };
}

/** Our own issuer profile and keys, resolved from the database (no request to ourselves). */
export function ownResolver(deps: Pick<CredentialDeps, 'conn' | 'publicUrl'>, profileName: string): LocalResolver {
  const urls = credentialUrls(deps.publicUrl);
  return async (url) => {
    if (url === urls.issuer) return issuerProfile(urls, profileName, await allKeys(deps.conn));
    if (url.startsWith(`${urls.issuer}/keys/`)) {
      const id = url.slice(`${urls.issuer}/keys/`.length);
      const key = (await allKeys(deps.conn)).find((k) => k._id === id);
      return key ? keyDocument(urls, key) : undefined;
    }
    return undefined;
  };
}

/** The unsigned credential of a source. */
export function buildCredential(urls: CredentialUrls, source: CredentialSource, entry: StatusEntry): Record<string, unknown> {
  const achievementId = `${urls.issuer.replace(/\/issuer$/, '')}/achievements/${source.kind}/${source.definitionId}`;
  const image = { id: `data:image/png;base64,${badgePng(source.accentColor).toString('base64')}`, type: 'Image', caption: source.title };
  const achievement: Record<string, unknown> = {
    id: achievementId,
    type: ['Achievement'],
    achievementType: source.kind === 'certificate' ? 'Certificate' : 'Certification',
    name: source.title,
    description: source.description,
    criteria: { narrative: source.criteria },
    image,
  };
  const subject: Record<string, unknown> = {
    type: ['AchievementSubject'],
    name: source.holderName,
    identifier: [{ type: 'IdentityObject', identityType: 'name', hashed: false, identityHash: source.holderName }],
    achievement,
  };
  if (source.scorePercent !== null) {
    achievement.resultDescription = [{ id: `${achievementId}#score`, type: ['ResultDescription'], name: 'Score', resultType: 'Percent', valueMin: '0', valueMax: '100' }];
    subject.result = [{ type: ['Result'], resultDescription: `${achievementId}#score`, value: String(Math.round(source.scorePercent * 100) / 100) }];
  }
  const credential: Record<string, unknown> = {
    '@context': [VC_V2_CONTEXT, OB_V3_CONTEXT],
    id: urls.credential(source.code),
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    name: source.title,
    description: source.description,
    image,
    issuer: { id: urls.issuer, type: ['Profile'], name: source.issuerName, url: urls.verify(source.code).replace(/\/verify\/.*$/, '/') },
    validFrom: iso(source.issuedAt),
  };
  if (source.expiresAt) credential.validUntil = iso(source.expiresAt);
  credential.credentialSubject = subject;
  credential.credentialStatus = {
    id: `${urls.statusList(entry.list)}#${entry.index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: String(entry.index),
    statusListCredential: urls.statusList(entry.list),
  };
  return credential;
}

/** Signs any credential with the current key (the status list too). */
export async function signWithCurrentKey(deps: CredentialDeps, unsigned: Record<string, unknown>): Promise<{ signed: SignedCredential; keyId: string }> {
  const kd = keyDeps(deps);
  const key = await currentKey(kd);
  const pair = await openKey(kd, key);
  const { vc, DataIntegrityProof, eddsaRdfc2022 } = await credentialLibs();
  const suite = new DataIntegrityProof({ signer: pair.signer(), cryptosuite: eddsaRdfc2022, date: deps.now() });
  const signed = (await vc.issue({ credential: structuredClone(unsigned), suite, documentLoader: localDocumentLoader(), now: deps.now() })) as SignedCredential;
  return { signed, keyId: key._id };
}

function isDuplicate(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 11000;
}

/**
 * The signed credential of a source: the stored one, or signed now and stored. When the source
 * is no longer active its status bit is set (also after a race with a revocation: the check
 * runs after the write, and the revocation's hook after its own).
 */
export async function credentialFor(deps: CredentialDeps, source: CredentialSource): Promise<{ doc: CredentialDoc; credential: SignedCredential }> {
  const Credential = credentialModel(deps.conn);
  const _id = `${source.kind}:${source.sourceId}`;
  let doc = await Credential.findById(_id).lean<CredentialDoc>();
  if (!doc) {
    const entry = await allocateStatusEntry(deps.conn);
    const urls = credentialUrls(deps.publicUrl);
    const { signed, keyId } = await signWithCurrentKey(deps, buildCredential(urls, source, entry));
    // OB 3.0's JSON Schema wants `proof` as an array (a proof set of one; the same RDF graph).
    signed.proof = [signed.proof] as unknown as SignedCredential['proof'];
    const fresh: CredentialDoc = { _id, kind: source.kind, sourceId: source.sourceId, code: source.code, keyId, statusList: entry.list, statusIndex: entry.index, json: JSON.stringify(signed), createdAt: deps.now() };
    try {
      await Credential.create(fresh);
      doc = fresh;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      doc = await Credential.findById(_id).lean<CredentialDoc>();
      if (!doc) throw err;
    }
  }
  if (source.status !== 'active') await setStatus(deps.conn, { list: doc.statusList, index: doc.statusIndex });
  return { doc, credential: JSON.parse(doc.json) as SignedCredential };
}

export async function credentialByCode(conn: Connection, code: string): Promise<CredentialDoc | null> {
  return credentialModel(conn).findOne({ code }).lean<CredentialDoc>();
}

export async function credentialRevoked(conn: Connection, doc: Pick<CredentialDoc, 'statusList' | 'statusIndex'>): Promise<boolean> {
  return isSet(conn, { list: doc.statusList, index: doc.statusIndex });
}

/** The signed status list credential, re-signed when a bit changed since the last signature. */
export async function signedStatusList(deps: CredentialDeps, list: number): Promise<string | null> {
  const doc = await findList(deps.conn, list);
  if (!doc) return null;
  if (doc.signed && doc.signedVersion === doc.version) return doc.signed;
  const unsigned = await statusListCredential(credentialUrls(deps.publicUrl), list, doc.set, deps.now());
  const { signed } = await signWithCurrentKey(deps, unsigned);
  const json = JSON.stringify(signed);
  await storeSignedList(deps.conn, list, doc.version, json);
  return json;
}

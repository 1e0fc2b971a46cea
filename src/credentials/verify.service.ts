/**
 * The verifier page's work: check any Open Badges 3.0 / VC 2.0 credential someone pasted or
 * uploaded — ours or another issuer's — and say what holds and why not.
 *
 * Nothing a pasted credential names is fetched: a credential is attacker-controlled input, and a
 * server that follows its URLs (key, controller, status list, context) can be made to request
 * anything on its network (SSRF). So keys resolve only when they need no network: our own issuer
 * profile and keys (from the database), and `did:key` (the key is the identifier). For anything
 * else the answer says the key or the status list lives at a URL this server does not fetch.
 */
import type { Connection } from 'mongoose';
import { DID_V1_CONTEXT, DocumentNotLocalError, localDocumentLoader, MULTIKEY_CONTEXT, type LocalResolver } from './contexts';
import { credentialByCode, ownResolver } from './credential.service';
import { credentialLibs } from './libs';
import { isSet } from './status-bits';
import { credentialUrls } from './urls';

export interface CredentialCheck {
  /** The credential could be read as a JSON object with the VC shape. */
  readable: boolean;
  proof: { verified: boolean; reason?: 'no_proof' | 'key_not_local' | 'invalid' | 'unsupported'; detail?: string; keyUrl?: string; cryptosuite?: string };
  issuer: { id: string | null; name: string | null; ours: boolean };
  type: string[];
  name: string | null;
  holderName: string | null;
  validFrom: string | null;
  validUntil: string | null;
  dates: 'valid' | 'not_yet_valid' | 'expired' | 'unknown';
  status: { checked: boolean; revoked?: boolean; listUrl?: string; index?: string; reason?: 'none' | 'not_local' | 'unknown_entry'; superseded?: boolean; newerVerifyUrl?: string };
  /** Our own credential: its verification page. */
  verifyUrl?: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** did:key with an Ed25519 key (z6Mk…): the DID document and its one key, computed. */
export const didKeyResolver: LocalResolver = async (url) => {
  const m = /^did:key:(z6Mk[1-9A-HJ-NP-Za-km-z]{40,60})(#(z6Mk[1-9A-HJ-NP-Za-km-z]{40,60}))?$/.exec(url);
  if (!m) return undefined;
  const did = `did:key:${m[1]}`;
  const vm = { id: `${did}#${m[1]}`, type: 'Multikey', controller: did, publicKeyMultibase: m[1] };
  if (m[2]) return m[3] === m[1] ? { '@context': MULTIKEY_CONTEXT, ...vm } : undefined;
  return { '@context': [DID_V1_CONTEXT, MULTIKEY_CONTEXT], id: did, verificationMethod: [vm], assertionMethod: [vm.id], authentication: [vm.id] };
};

function errorsOf(result: { error?: unknown; results?: Array<{ error?: unknown }> }): unknown[] {
  const out: unknown[] = [];
  const walk = (e: unknown) => {
    if (!e) return;
    if (Array.isArray(e)) return e.forEach(walk);
    out.push(e);
    const x = e as { errors?: unknown; cause?: unknown };
    walk(x.errors);
    walk(x.cause);
  };
  walk(result.error);
  for (const r of result.results ?? []) walk(r.error);
  return out;
}

export interface VerifyDeps {
  conn: Connection;
  publicUrl: string;
  profileName: string;
  now: () => Date;
}

export async function checkCredential(deps: VerifyDeps, input: unknown): Promise<CredentialCheck> {
  const c = obj(input);
  const urls = credentialUrls(deps.publicUrl);
  const issuerField = c ? (obj(c.issuer) ?? (typeof c.issuer === 'string' ? { id: c.issuer } : null)) : null;
  const issuerId = str(issuerField?.id);
  const subject = obj(c?.credentialSubject);
  const holderName = str(subject?.name) ?? str((Array.isArray(subject?.identifier) ? (subject!.identifier as Json[]).find((i) => i?.identityType === 'name' && i?.hashed === false) : undefined)?.identityHash);
  const check: CredentialCheck = {
    readable: c !== null && Array.isArray(c['@context']) && (Array.isArray(c.type) || typeof c.type === 'string'),
    proof: { verified: false },
    issuer: { id: issuerId, name: str(issuerField?.name), ours: issuerId === urls.issuer },
    type: c ? [c.type].flat().filter((x): x is string => typeof x === 'string') : [],
    name: str(c?.name) ?? str(obj(subject?.achievement)?.name),
    holderName,
    validFrom: str(c?.validFrom) ?? str(c?.issuanceDate),
    validUntil: str(c?.validUntil) ?? str(c?.expirationDate),
    dates: 'unknown',
    status: { checked: false },
  };
  if (!c || !check.readable) return { ...check, proof: { verified: false, reason: 'invalid', detail: 'not a verifiable credential (no @context or type)' } };

  const now = deps.now();
  const from = check.validFrom ? new Date(check.validFrom) : null;
  const until = check.validUntil ? new Date(check.validUntil) : null;
  if (from && !Number.isNaN(from.getTime())) check.dates = from > now ? 'not_yet_valid' : until && until <= now ? 'expired' : 'valid';

  // The proof, on its own: dates are judged above, the status below.
  const proofs = [c.proof].flat().filter((p): p is Json => obj(p) !== null);
  if (proofs.length === 0) check.proof = { verified: false, reason: 'no_proof' };
  else {
    const p = proofs[0]!;
    check.proof.cryptosuite = str(p.cryptosuite) ?? str(p.type) ?? undefined;
    check.proof.keyUrl = str(p.verificationMethod) ?? undefined;
    if (p.type !== 'DataIntegrityProof' || p.cryptosuite !== 'eddsa-rdfc-2022') check.proof = { ...check.proof, verified: false, reason: 'unsupported' };
    else {
      const documentLoader = localDocumentLoader([ownResolver(deps, deps.profileName), didKeyResolver]);
      const { vc, DataIntegrityProof, eddsaRdfc2022 } = await credentialLibs();
      try {
        const result = await vc.verifyCredential({
          credential: structuredClone(c),
          suite: new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }),
          documentLoader,
          checkStatus: async () => ({ verified: true }),
          // a moment inside its validity, so that an expired credential's proof is still judged
          now: from && !Number.isNaN(from.getTime()) ? from : now,
        });
        if (result.verified) check.proof.verified = true;
        else {
          const errors = errorsOf(result);
          const notLocal = errors.find((e): e is DocumentNotLocalError => e instanceof DocumentNotLocalError || (e as Error)?.name === 'DocumentNotLocalError');
          check.proof.reason = notLocal ? 'key_not_local' : 'invalid';
          check.proof.detail = notLocal ? notLocal.url : String((errors[0] as Error)?.message ?? 'the signature does not match the content').slice(0, 300);
        }
      } catch (err) {
        const notLocal = err instanceof DocumentNotLocalError || (err as Error)?.name === 'DocumentNotLocalError';
        check.proof.reason = notLocal ? 'key_not_local' : 'invalid';
        check.proof.detail = notLocal ? (err as DocumentNotLocalError).url : String((err as Error)?.message ?? err).slice(0, 300);
      }
    }
  }

  // The status entry: ours from the database; another issuer's list is not fetched.
  const entry = [c.credentialStatus].flat().map(obj).find((s) => s?.type === 'BitstringStatusListEntry');
  if (!entry) check.status = { checked: false, reason: 'none' };
  else {
    const listUrl = str(entry.statusListCredential) ?? '';
    const index = str(entry.statusListIndex) ?? String(entry.statusListIndex ?? '');
    check.status = { checked: false, listUrl, index };
    const m = listUrl.startsWith(`${urls.statusList(0).replace(/0$/, '')}`) ? /\/(\d{1,6})$/.exec(listUrl) : null;
    if (!m || !/^\d{1,7}$/.test(index)) check.status.reason = 'not_local';
    else {
      check.status.checked = true;
      check.status.revoked = await isSet(deps.conn, { list: Number(m[1]), index: Number(index) });
    }
  }
  if (check.issuer.ours && typeof c.id === 'string' && c.id.startsWith(urls.credential(''))) {
    const code = c.id.slice(urls.credential('').length);
    const doc = await credentialByCode(deps.conn, code);
    if (doc) check.verifyUrl = urls.verify(code);
  }
  return check;
}

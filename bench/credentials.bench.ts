/**
 * Open Badges 3.0 credentials: signing and verifying 1,000 credentials, and a Bitstring Status
 * List for 100,000 certificates (size; time to revoke one entry and serve the re-signed list).
 * Anchor, measured in the same run: raw Ed25519 (node:crypto) signing and verifying the same
 * bytes — the credential's canonical N-Quads — so that the ratio shows what JSON-LD
 * canonicalisation (RDFC-1.0) and the Data Integrity wrapping cost over the signature itself.
 *
 * Run by hand: `npx tsx bench/credentials.bench.ts [credentials] [certificates]`
 * (defaults 1000 and 100000). Offline engine in memory.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import { connectToOfflineEngine } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';
import { localDocumentLoader } from '../src/credentials/contexts';
import { buildCredential, credentialFor, ownResolver, signedStatusList, signWithCurrentKey } from '../src/credentials/credential.service';
import type { CredentialSource } from '../src/credentials/credential-source';
import { statusListModel } from '../src/credentials/credential.model';
import { setStatus } from '../src/credentials/status-bits';
import { STATUS_LIST_LENGTH } from '../src/credentials/status-list.service';
import { credentialUrls } from '../src/credentials/urls';
import { checkCredential } from '../src/credentials/verify.service';

const N = Number(process.argv[2] ?? 1000);
const CERTIFICATES = Number(process.argv[3] ?? 100_000);
const PUBLIC_URL = 'https://certificates.example.edu';
const LTI_KEY = 'bench-lti-key-0123456789abcdef0123456789';

function source(i: number): CredentialSource {
  return {
    kind: 'certificate',
    sourceId: new Types.ObjectId().toHexString(),
    definitionId: '665f00000000000000000001',
    code: `BNCH-${String(i).padStart(4, '0')}-AAAA-${String(i % 10000).padStart(4, '0')}`.slice(0, 19),
    title: 'Certificate of Achievement',
    description: 'Course certificate of “Digital Literacy”, issued by University of Rivendell.',
    criteria: 'Awarded in the course “Digital Literacy” for a weighted score of at least 80% over its counted activities.',
    holderName: `Learner ${i}`,
    issuerName: 'University of Rivendell',
    courseTitle: 'Digital Literacy',
    scorePercent: 85,
    issuedAt: new Date('2026-11-01T10:00:00Z'),
    expiresAt: new Date('2028-11-01T10:00:00Z'),
    accentColor: '#1a5fb4',
    status: 'active',
  };
}

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const per = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(0)} µs`;

async function main(): Promise<void> {
  setLogLevel('error');
  const engine = await startOfflineEngine({ logger: { debug() {}, info() {}, warn() {}, error: console.error } });
  const db = await connectToOfflineEngine(engine, 'bench-credentials', false);
  const conn = db.connection;
  const now = () => new Date();
  const deps = { conn, ltiKey: LTI_KEY, publicUrl: PUBLIC_URL, now };
  const urls = credentialUrls(PUBLIC_URL);
  const loader = localDocumentLoader([ownResolver(deps, 'Bench'), async () => undefined]);

  // warm-up: key creation, contexts, JIT
  await credentialFor(deps, source(-1));
  const unsigned = Array.from({ length: N }, (_, i) => buildCredential(urls, source(i), { list: 0, index: i }));

  // Anchor: raw Ed25519 over the canonical N-Quads of each credential.
  const nquads = await Promise.all(unsigned.slice(0, Math.min(N, 50)).map((c) => eddsaRdfc2022.canonize(c, { documentLoader: loader }) as Promise<string>));
  const canonOne = await time(async () => {
    for (const c of unsigned) await eddsaRdfc2022.canonize(c, { documentLoader: loader });
  });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const bytes = nquads.map((q) => Buffer.from(q, 'utf8'));
  const rawSign = await time(async () => {
    const sigs: Buffer[] = [];
    for (let i = 0; i < N; i++) sigs.push(sign(null, bytes[i % bytes.length]!, privateKey));
    return sigs;
  });
  const rawVerify = await time(async () => {
    for (let i = 0; i < N; i++) if (!verify(null, bytes[i % bytes.length]!, publicKey, rawSign.value[i]!)) throw new Error('raw verify failed');
  });

  // Signing: Data Integrity eddsa-rdfc-2022 with the installation key (as credentialFor does, without the database write).
  const signed = await time(async () => {
    const out: Record<string, unknown>[] = [];
    for (const c of unsigned) out.push((await signWithCurrentKey(deps, c)).signed);
    return out;
  });
  // The whole path of a first download: status entry, sign, store.
  const full = await time(async () => {
    for (let i = 0; i < N; i++) await credentialFor(deps, source(N + i));
  });
  // Verifying with the same library (the verifier page's check: proof, then the status bit from the database).
  const verified = await time(async () => {
    for (const c of signed.value) {
      const r = await vc.verifyCredential({ credential: c, suite: new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }), documentLoader: loader, checkStatus: async () => ({ verified: true }) });
      if (!r.verified) throw new Error('verify failed');
    }
  });
  const checked = await time(async () => {
    for (const c of signed.value) {
      const r = await checkCredential({ conn, publicUrl: PUBLIC_URL, profileName: 'Bench', now }, c);
      if (!r.proof.verified) throw new Error(`check failed: ${r.proof.detail}`);
    }
  });
  const size = Buffer.byteLength(JSON.stringify(signed.value[0]));

  // Status list for CERTIFICATES certificates (one list holds 131,072), 1% and 10% revoked.
  const lists = Math.ceil(CERTIFICATES / STATUS_LIST_LENGTH);
  const rows: string[] = [];
  for (const share of [0.01, 0.1]) {
    // random positions (a fixed seed): revocations do not follow the order of issue
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const revoked = [...new Set(Array.from({ length: Math.round(Math.min(CERTIFICATES, STATUS_LIST_LENGTH) * share) }, () => Math.floor(rnd() * CERTIFICATES)))];
    await statusListModel(conn).updateOne({ _id: 0 }, { $set: { set: revoked, version: 1 }, $unset: { signed: 1, signedVersion: 1 } }, { upsert: true });
    const first = await time(() => signedStatusList(deps, 0));
    const cached = await time(() => signedStatusList(deps, 0));
    const updates: number[] = [];
    for (let k = 0; k < 20; k++) {
      const one = await time(async () => {
        await setStatus(conn, { list: 0, index: (revoked.length + k + 17) * 3 });
        return signedStatusList(deps, 0);
      });
      updates.push(one.ms);
    }
    updates.sort((a, b) => a - b);
    const encoded = (JSON.parse(first.value!) as { credentialSubject: { encodedList: string } }).credentialSubject.encodedList;
    rows.push(
      `| ${(share * 100).toFixed(0)}% revoked (${revoked.length.toLocaleString('en')}) | ${lists} | ${(Buffer.byteLength(first.value!) / 1024).toFixed(1)} KiB (encodedList ${(encoded.length / 1024).toFixed(1)} KiB) | ${first.ms.toFixed(0)} ms | ${cached.ms.toFixed(1)} ms | ${updates[10]!.toFixed(0)} ms (p50), ${updates[19]!.toFixed(0)} ms (max) |`,
    );
  }

  console.log(`\nOpen Badges 3.0 credentials — ${N} credentials, ${CERTIFICATES.toLocaleString('en')} certificates, ${new Date().toISOString()}, Node ${process.version}\n`);
  console.log('| what | total | per credential | × raw Ed25519 |');
  console.log('|---|---:|---:|---:|');
  console.log(`| raw Ed25519 sign (node:crypto, the canonical N-Quads, ${bytes[0]!.length} B) | ${rawSign.ms.toFixed(0)} ms | ${per(rawSign.ms, N)} | 1 |`);
  console.log(`| raw Ed25519 verify | ${rawVerify.ms.toFixed(0)} ms | ${per(rawVerify.ms, N)} | 1 |`);
  console.log(`| RDFC-1.0 canonicalisation alone | ${canonOne.ms.toFixed(0)} ms | ${per(canonOne.ms, N)} | ${(canonOne.ms / rawSign.ms).toFixed(0)}× sign |`);
  console.log(`| sign (Data Integrity eddsa-rdfc-2022) | ${signed.ms.toFixed(0)} ms | ${per(signed.ms, N)} | ${(signed.ms / rawSign.ms).toFixed(0)}× |`);
  console.log(`| first download (status entry + sign + store) | ${full.ms.toFixed(0)} ms | ${per(full.ms, N)} | ${(full.ms / rawSign.ms).toFixed(0)}× |`);
  console.log(`| verify (same library, local keys) | ${verified.ms.toFixed(0)} ms | ${per(verified.ms, N)} | ${(verified.ms / rawVerify.ms).toFixed(0)}× |`);
  console.log(`| verifier page check (proof + key and status from the DB) | ${checked.ms.toFixed(0)} ms | ${per(checked.ms, N)} | ${(checked.ms / rawVerify.ms).toFixed(0)}× |`);
  console.log(`\nOne signed credential: ${(size / 1024).toFixed(1)} KiB (badge image as a data: URL included).\n`);
  console.log('| status list | lists | signed list size | first sign | served again | revoke one entry + re-sign |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  await db.close();
  await engine.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

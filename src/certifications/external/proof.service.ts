/**
 * External certifications (R8): the learner sends proof with their completion date, an approver
 * (a teacher or administrator of the same platform registration) approves it — which issues the
 * certification with the learner's date, through certs' issuing code — or rejects it with a
 * reason the learner sees; the learner may send again. Every submission and decision is in the
 * certification audit trail.
 *
 * Nothing is half-written: the file is checked in memory (proof-file.ts) before anything is
 * stored; a refused submission leaves no GridFS file behind; a decision is one atomic update from
 * `pending`, so a second decision is a 409, not a second award.
 */
import { Types, type Connection } from 'mongoose';
import type { Actor } from '../../certificates/audit.model';
import { ConflictError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../../errors';
import { deleteFile, fileObjectId, openFile, uploadBuffer } from '../../documents/gridfs';
import { enqueueMail } from '../../mail';
import type { RandomBytes } from '../../runtime';
import { awardModel, type AwardDoc } from '../award.model';
import { awardExternal } from '../award.service';
import { recordCertificationAudit } from '../certification-audit';
import type { CertificationDoc } from '../certification.model';
import { certificationModel } from '../certification.model';
import { PROOF_EXTENSIONS, sniffProof } from './proof-file';
import { pendingKeyOf, proofModel, type ProofDoc } from './proof.model';

/** An external certification as the proof pages use it. */
export type ExternalCertification = CertificationDoc;

export interface Tenant {
  issuer: string;
  clientId: string;
}

/** An external certification of this tenant that `userId` may send proof for, or 404. */
export async function externalCertificationFor(conn: Connection, tenant: Tenant, id: unknown, userId: string | null): Promise<CertificationDoc> {
  const oid = typeof id === 'string' && Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : null;
  const cert = oid ? await certificationModel(conn).findOne({ _id: oid, issuer: tenant.issuer, clientId: tenant.clientId, kind: 'external', archivedAt: null }).lean<CertificationDoc>() : null;
  // not assigned to this learner: the same 404 as not existing (nothing to learn about others' assignments)
  if (!cert || (userId !== null && !isAssigned(cert, userId))) throw new NotFoundError('no such external certification for this learner', { what: 'certification' }, { key: 'proofs.error.notFound' });
  return cert;
}

export function isAssigned(cert: Pick<CertificationDoc, 'assignment'>, userId: string): boolean {
  return cert.assignment?.everyone === true || (cert.assignment?.userIds ?? []).includes(userId);
}

/** When the renewal window of an active award opens (null: perpetual, never). */
function renewalOpensAt(award: Pick<AwardDoc, 'validity' | 'expiresAt'>): Date | null {
  if (award.validity.kind !== 'recurring' || !award.expiresAt) return null;
  return new Date(award.expiresAt.getTime() - award.validity.renewalWindowDays * 24 * 3600 * 1000);
}

export interface SubmitOptions {
  cert: CertificationDoc;
  learner: { userId: string; name: string; email?: string };
  data: Buffer;
  completedAt: Date;
  now: Date;
  uploadMaxBytes: number;
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1);

/** The 413 of a proof above UPLOAD_MAX_BYTES (also thrown by the route when multer stops reading). */
export function proofTooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`proof larger than ${limit} bytes`, { field: 'file', limit }, { key: 'proofs.error.tooLarge', params: { limit: megabytes(limit) } });
}

/** Stores the learner's proof, pending a decision. */
export async function submitProof(conn: Connection, opts: SubmitOptions): Promise<ProofDoc> {
  const { cert, learner } = opts;
  if (opts.data.length > opts.uploadMaxBytes) throw proofTooLarge(opts.uploadMaxBytes);
  const sniffed = await sniffProof(opts.data);
  if (!sniffed.ok) {
    if (sniffed.reason === 'empty') throw new ValidationError('empty proof file', { field: 'file' }, { key: 'proofs.error.empty' });
    if (sniffed.reason === 'other_type') throw new UnsupportedMediaTypeError('proof is not a PDF, PNG or JPEG', { field: 'file' }, { key: 'proofs.error.otherType' });
    const type = PROOF_EXTENSIONS[sniffed.claimed].toUpperCase();
    throw new ValidationError(`proof claims to be ${type} but does not parse as one`, { field: 'file', claimed: sniffed.claimed }, { key: 'proofs.error.damaged', params: { type } });
  }
  if (opts.completedAt.getTime() > opts.now.getTime()) throw new ValidationError('completion date in the future', { field: 'completedAt' }, { key: 'proofs.error.futureDate' });
  // Renewal (R9): a new proof is taken only once the renewal window of the active award opens.
  const active = await awardModel(conn).findOne({ certificationId: cert._id, userId: learner.userId, status: 'active' }, { validity: 1, expiresAt: 1 }).lean<AwardDoc>();
  if (active) {
    const opens = renewalOpensAt(active);
    if (!opens || opens.getTime() > opts.now.getTime()) {
      throw new ConflictError('already held, not renewable yet', { reason: 'held' }, opens ? { key: 'proofs.error.renewFrom', params: { date: opens.toISOString() } } : { key: 'proofs.error.held' });
    }
  }
  const Proof = proofModel(conn);
  const pendingKey = pendingKeyOf(cert._id, learner.userId);
  const pendingError = () => new ConflictError('a proof is already pending', { reason: 'pending' }, { key: 'proofs.error.pending' });
  if (await Proof.exists({ pendingKey })) throw pendingError();

  const fileId = await uploadBuffer(conn, 'proofs', `proof.${sniffed.type.split('/')[1]}`, opts.data, {
    issuer: cert.issuer,
    clientId: cert.clientId,
    certificationId: String(cert._id),
    userId: learner.userId,
    contentType: sniffed.type,
  });
  const doc: ProofDoc = {
    _id: new Types.ObjectId(),
    issuer: cert.issuer,
    clientId: cert.clientId,
    certificationId: cert._id,
    userId: learner.userId,
    learnerName: learner.name,
    ...(learner.email ? { learnerEmail: learner.email } : {}),
    fileId,
    contentType: sniffed.type,
    size: opts.data.length,
    completedAt: opts.completedAt,
    submittedAt: opts.now,
    status: 'pending',
    pendingKey,
  };
  try {
    await Proof.collection.insertOne(doc);
  } catch (err) {
    // a second submit raced us to the pending slot: ours is not kept, nor its file
    await deleteFile(conn, 'proofs', fileId).catch(() => undefined);
    if ((err as { code?: number }).code === 11000) throw pendingError();
    throw err;
  }
  await recordCertificationAudit(conn, {
    issuer: cert.issuer,
    clientId: cert.clientId,
    certificationId: cert._id,
    action: 'proof_submitted',
    actor: { kind: 'learner', userId: learner.userId, name: learner.name },
    at: opts.now,
    userId: learner.userId,
    details: { proofId: String(doc._id), completedAt: opts.completedAt, contentType: sniffed.type, size: doc.size },
  });
  await mailApprovers(conn, cert, doc);
  return doc;
}

/**
 * "Proof to review" goes to whoever looks after this certification: the administrator who
 * defined it (when they did so from a launch, so that the tool knows their address) and everyone
 * who has decided one of its proofs before.
 */
async function mailApprovers(conn: Connection, cert: CertificationDoc, proof: ProofDoc): Promise<void> {
  const deciders = await proofModel(conn).distinct('decidedBy.userId', { certificationId: cert._id, status: { $ne: 'pending' } });
  const userIds = new Set<string>([...(cert.createdBy?.userId ? [cert.createdBy.userId] : []), ...deciders.filter((u): u is string => typeof u === 'string')]);
  for (const userId of userIds) {
    if (userId === proof.userId) continue;
    await enqueueMail(conn, {
      key: `proof.arrived:${String(proof._id)}:${userId}`,
      template: 'proof.arrived',
      to: { issuer: cert.issuer, userId },
      // no link: the queue lives inside a launch (/app/<session>/proofs), which a mail cannot open
      params: { title: cert.name, learner: proof.learnerName, completedAt: proof.completedAt },
      now: proof.submittedAt,
    });
  }
}

export interface DecideOptions {
  tenant: Tenant;
  proofId: unknown;
  decision: 'approve' | 'reject';
  reason?: string;
  by: Actor;
  now: Date;
  random: RandomBytes;
}

const proofNotFound = () => new NotFoundError('no such proof', { what: 'proof' }, { key: 'proofs.error.proofNotFound' });

/** Approves (issuing the certification with the learner's completion date) or rejects a pending proof. */
export async function decideProof(conn: Connection, opts: DecideOptions): Promise<{ proof: ProofDoc; award?: AwardDoc }> {
  const id = fileObjectId(opts.proofId);
  const Proof = proofModel(conn);
  const scope = { issuer: opts.tenant.issuer, clientId: opts.tenant.clientId };
  if (!id) throw proofNotFound();
  const status = opts.decision === 'approve' ? 'approved' : 'rejected';
  const decided = await Proof.findOneAndUpdate(
    { _id: id, ...scope, status: 'pending' },
    {
      $set: { status, decidedAt: opts.now, decidedBy: opts.by, ...(opts.decision === 'reject' ? { reason: opts.reason } : {}) },
      $unset: { pendingKey: 1 },
    },
    { new: true },
  ).lean<ProofDoc>();
  if (!decided) {
    const existing = await Proof.findOne({ _id: id, ...scope }, { status: 1 }).lean<ProofDoc>();
    if (!existing) throw proofNotFound();
    throw new ConflictError(`proof already ${existing.status}`, { status: existing.status }, { key: existing.status === 'approved' ? 'proofs.error.decidedApproved' : 'proofs.error.decidedRejected' });
  }
  const cert = await certificationModel(conn).findById(decided.certificationId).lean<CertificationDoc>();
  let award: AwardDoc | undefined;
  if (opts.decision === 'approve' && cert) {
    award = await awardExternal(conn, cert, {
      userId: decided.userId,
      learnerName: decided.learnerName,
      learnerEmail: decided.learnerEmail,
      completedAt: decided.completedAt,
      proofId: String(decided._id),
      by: opts.by,
      now: opts.now,
      random: opts.random,
    });
    if (award) await Proof.updateOne({ _id: decided._id }, { $set: { awardId: award._id } });
  }
  await recordCertificationAudit(conn, {
    issuer: decided.issuer,
    clientId: decided.clientId,
    certificationId: decided.certificationId,
    action: opts.decision === 'approve' ? 'proof_approved' : 'proof_rejected',
    actor: opts.by,
    at: opts.now,
    userId: decided.userId,
    ...(award ? { awardId: award._id } : {}),
    details: { proofId: String(decided._id), completedAt: decided.completedAt, ...(opts.reason ? { reason: opts.reason } : {}), ...(award ? { code: award.code } : {}) },
  });
  const name = cert?.name ?? '';
  await enqueueMail(conn, {
    key: `proof.${status}:${String(decided._id)}`,
    template: opts.decision === 'approve' ? 'proof.approved' : 'proof.rejected',
    to: { issuer: decided.issuer, userId: decided.userId, email: decided.learnerEmail, name: decided.learnerName },
    params: opts.decision === 'approve'
      ? { title: name, completedAt: decided.completedAt, link: award ? `/verify/${award.code}` : undefined }
      : { title: name, reason: opts.reason ?? '', link: undefined },
    now: opts.now,
  });
  return { proof: { ...decided, ...(award ? { awardId: award._id } : {}) }, award };
}

/** The proofs waiting for a decision on this tenant, oldest first. */
export async function pendingProofs(conn: Connection, tenant: Tenant): Promise<ProofDoc[]> {
  return proofModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId, status: 'pending' }).sort({ submittedAt: 1, _id: 1 }).limit(500).lean<ProofDoc[]>();
}

/** A learner's proofs for one certification, newest first. */
export async function learnerProofs(conn: Connection, cert: Pick<CertificationDoc, '_id'>, userId: string): Promise<ProofDoc[]> {
  return proofModel(conn).find({ certificationId: cert._id, userId }).sort({ submittedAt: -1, _id: -1 }).limit(50).lean<ProofDoc[]>();
}

/**
 * The stored file of a proof, for its owner or an approver of the same tenant; anyone else gets
 * the same 404 as for a proof that does not exist.
 */
export async function proofFileFor(conn: Connection, tenant: Tenant, proofId: unknown, viewer: { userId: string; approver: boolean }) {
  const id = fileObjectId(proofId);
  const proof = id ? await proofModel(conn).findOne({ _id: id, issuer: tenant.issuer, clientId: tenant.clientId }).lean<ProofDoc>() : null;
  if (!proof || (!viewer.approver && proof.userId !== viewer.userId)) throw proofNotFound();
  return { proof, stream: () => openFile(conn, 'proofs', proof.fileId) };
}

/** The names of certifications, by id (the approvers' queue). */
export async function certificationNames(conn: Connection, ids: Types.ObjectId[]): Promise<Map<string, string>> {
  const certs = await certificationModel(conn).find({ _id: { $in: ids } }, { name: 1 }).lean();
  return new Map(certs.map((c) => [String(c._id), c.name]));
}

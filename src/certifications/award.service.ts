/**
 * Issuing, renewing and revoking awarded certifications. Deciding is programme.evaluate.ts;
 * this file gathers the completions, and writes what was decided, idempotently: one active
 * award per (certification, learner) is a unique index (award.model.ts), so two claims that
 * complete the programme at once issue one award.
 *
 * Called at the moment something can complete a programme — a course certificate issued or
 * revoked (award-hooks.ts), a grade sync or CSV import (Moodle's course completion arrives as
 * a grade) — never by a nightly task. The same call serves one learner (a claim) and every
 * learner of a programme (after a sync; bench/programme.bench.ts): one query per collection,
 * one insert for all new awards.
 */
import { Types, type Connection } from 'mongoose';
import type { Actor } from '../certificates/audit.model';
import { generateCode, normalizeCode } from '../certificates/codes';
import { issueModel } from '../certificates/issue.model';
import { revokeCredentials } from '../credentials/status-bits';
import { courseModel } from '../courses/course.model';
import { lineItemModel } from '../grades/line-item.model';
import { memberModel } from '../grades/member.model';
import { resultModel } from '../grades/result.model';
import type { RandomBytes } from '../runtime';
import { awardActiveKey, awardModel, type AwardBasis, type AwardDoc } from './award.model';
import { recordCertificationAudit, type CertificationAuditInput } from './certification-audit';
import type { CertificationDoc } from './certification.model';
import { evaluateProgramme, expiryOf, renewalOpensAt, type Completion, type ProgrammeDecision } from './programme.evaluate';

/** Moodle's course completion, as the Moodle grade source stores it (src/grades/sources/moodle.source.ts). */
const LMS_COMPLETION_ITEM = 'moodle:completion';

export const SYSTEM_ACTOR: Actor = { kind: 'system', name: 'Certifications' };

/** Where new awards are announced (proofs' mail outbox subscribes, see /work/notes/certs.md). */
export type AwardListener = (award: AwardDoc, event: 'issued' | 'renewed') => Promise<void>;
const awardListeners = new WeakMap<Connection, AwardListener[]>();
export function onAwardIssued(conn: Connection, listener: AwardListener): void {
  awardListeners.set(conn, [...(awardListeners.get(conn) ?? []), listener]);
}
async function announce(conn: Connection, awards: AwardDoc[], event: 'issued' | 'renewed'): Promise<void> {
  for (const listener of awardListeners.get(conn) ?? []) for (const a of awards) await listener(a, event).catch(() => undefined);
}

interface LearnerFacts {
  completions: Completion[];
  name?: string;
  email?: string;
}

/**
 * Every learner's completions of the programme's courses (only `userIds`, when given): valid
 * course certificates (of the chosen definitions), and, when the certification says so, the
 * LMS's course completion.
 */
export async function completionsOf(conn: Connection, cert: CertificationDoc, now: Date, userIds?: readonly string[]): Promise<Map<string, LearnerFacts>> {
  const out = new Map<string, LearnerFacts>();
  const programme = cert.programme;
  if (!programme) return out;
  const courseIds = programme.courses.map((c) => c.courseId);
  const chosen = new Map(programme.courses.map((c) => [String(c.courseId), new Set(c.definitionIds.map(String))]));
  const users = userIds ? { userId: userIds.length === 1 ? userIds[0]! : { $in: [...userIds] } } : {};
  const factsOf = (userId: string) => {
    let f = out.get(userId);
    if (!f) out.set(userId, (f = { completions: [] }));
    return f;
  };
  // the driver directly, with a projection: after a sync this reads every certificate of ten courses
  const issues = issueModel(conn).collection.find(
    { courseId: { $in: courseIds }, status: 'active', ...users },
    { projection: { courseId: 1, definitionId: 1, userId: 1, issuedAt: 1, expiresAt: 1, learnerName: 1, learnerEmail: 1 } },
  );
  for await (const i of issues) {
    const defs = chosen.get(String(i.courseId));
    if (defs && defs.size > 0 && !defs.has(String(i.definitionId))) continue;
    if (i.expiresAt && (i.expiresAt as Date).getTime() <= now.getTime()) continue;
    const f = factsOf(i.userId as string);
    f.completions.push({ courseId: String(i.courseId), completedAt: i.issuedAt as Date, via: 'certificate', issueId: i._id as Types.ObjectId });
    f.name ??= i.learnerName as string;
    f.email ??= (i.learnerEmail as string | undefined) ?? undefined;
  }
  if (programme.useLmsCompletion) {
    const items = await lineItemModel(conn).find({ courseId: { $in: courseIds }, externalId: LMS_COMPLETION_ITEM, removedAt: null }, { _id: 1, courseId: 1 }).lean();
    if (items.length > 0) {
      const courseOf = new Map(items.map((i) => [String(i._id), String(i.courseId)]));
      const results = resultModel(conn).collection.find(
        { lineItemId: { $in: items.map((i) => i._id) }, scoreGiven: 1, ...users },
        { projection: { lineItemId: 1, userId: 1, timestamp: 1, changedAt: 1 } },
      );
      const unnamed = new Set<string>();
      for await (const r of results) {
        const f = factsOf(r.userId as string);
        f.completions.push({ courseId: courseOf.get(String(r.lineItemId))!, completedAt: (r.timestamp ?? r.changedAt) as Date, via: 'lms' });
        if (!f.name) unnamed.add(r.userId as string);
      }
      if (unnamed.size > 0) {
        for (const m of await memberModel(conn).find({ courseId: { $in: courseIds }, userId: { $in: [...unnamed] } }, { userId: 1, name: 1, givenName: 1, familyName: 1, email: 1 }).lean()) {
          const f = out.get(m.userId)!;
          f.name ??= m.name ?? ([m.givenName, m.familyName].filter(Boolean).join(' ') || undefined);
          f.email ??= m.email;
        }
      }
    }
  }
  return out;
}

async function courseTitles(conn: Connection, cert: CertificationDoc): Promise<Map<string, string>> {
  const ids = cert.programme?.courses.map((c) => c.courseId) ?? [];
  const courses = await courseModel(conn).find({ _id: { $in: ids } }, { title: 1, contextId: 1 }).lean();
  return new Map(courses.map((c) => [String(c._id), c.title ?? c.contextId]));
}

function basisOf(decision: ProgrammeDecision, titles: Map<string, string>): AwardBasis[] {
  return decision.basis.map((c) => ({
    courseId: new Types.ObjectId(c.courseId),
    courseTitle: titles.get(c.courseId) ?? '',
    via: c.via,
    ...(c.issueId ? { issueId: c.issueId } : {}),
    completedAt: c.completedAt,
  }));
}

export interface EvaluateOptions {
  now: Date;
  random: RandomBytes;
  by?: Actor;
  /** Only these learners (a claim); all who completed any course of the programme otherwise. */
  userIds?: readonly string[];
}

export interface EvaluateSummary {
  learners: number;
  issued: AwardDoc[];
  renewed: AwardDoc[];
}

/**
 * Re-evaluates the certification for these learners (or all): issues the awards now complete,
 * renews recurring ones completed again after their renewal window opened (a new version that
 * supersedes the old). Never revokes (that is `reconsiderAfterRevocation`).
 */
export async function evaluateCertification(conn: Connection, cert: CertificationDoc, opts: EvaluateOptions): Promise<EvaluateSummary> {
  const summary: EvaluateSummary = { learners: 0, issued: [], renewed: [] };
  if (cert.kind !== 'internal' || !cert.programme || cert.archivedAt) return summary;
  const facts = await completionsOf(conn, cert, opts.now, opts.userIds);
  summary.learners = facts.size;
  if (facts.size === 0) return summary;
  const Award = awardModel(conn);
  // one learner by equality, so that every engine (the offline one too) uses the (certificationId, userId) index
  const users = opts.userIds ? { userId: opts.userIds.length === 1 ? opts.userIds[0]! : { $in: [...opts.userIds] } } : {};
  // the newest version of each learner's awards: whether one is active, and the next version number
  const latest = new Map<string, Pick<AwardDoc, '_id' | 'userId' | 'version' | 'status' | 'expiresAt' | 'validity'>>();
  const awards = Award.collection.find({ certificationId: cert._id, ...users }, { projection: { userId: 1, version: 1, status: 1, expiresAt: 1, validity: 1 } });
  for await (const a of awards) {
    const had = latest.get(a.userId as string);
    if (!had || had.version < (a.version as number)) latest.set(a.userId as string, a as unknown as AwardDoc);
  }
  const titles = await courseTitles(conn, cert);
  const by = opts.by ?? SYSTEM_ACTOR;
  const fresh: AwardDoc[] = [];
  const renewals: Array<{ previous: Types.ObjectId; award: AwardDoc }> = [];
  for (const [userId, f] of facts) {
    const current = latest.get(userId);
    const active = current?.status === 'active' ? current : undefined;
    let since: Date | undefined;
    if (active) {
      const opens = renewalOpensAt(active.validity, active.expiresAt);
      if (!opens || opens.getTime() > opts.now.getTime()) continue; // valid, not renewable yet
      since = opens;
    }
    const decision = evaluateProgramme(cert.programme, f.completions, since);
    if (!decision.complete) continue;
    const award = draftAward(cert, {
      userId,
      learnerName: f.name ?? userId,
      learnerEmail: f.email,
      decision,
      basis: basisOf(decision, titles),
      issuedAt: opts.now,
      by,
      version: (current?.version ?? 0) + 1,
      random: opts.random,
      supersedes: active?._id,
    });
    if (active) renewals.push({ previous: active._id, award });
    else fresh.push(award);
  }
  summary.issued = await insertAwards(conn, fresh);
  for (const r of renewals) {
    const renewed = await renewAward(conn, r.previous, r.award);
    if (renewed) summary.renewed.push(renewed);
  }
  await recordCertificationAudit(conn, [
    ...summary.issued.map((a) => awardAudit(a, 'award_issued', by)),
    ...summary.renewed.map((a) => awardAudit(a, 'award_renewed', by, { previousAwardId: String(a.supersedes) })),
  ]);
  await announce(conn, summary.issued, 'issued');
  await announce(conn, summary.renewed, 'renewed');
  return summary;
}

export interface ExternalAwardInput {
  userId: string;
  learnerName: string;
  learnerEmail?: string;
  language?: string;
  /** The date the learner obtained it (ALM keeps the learner's date, not the approval's): validity runs from here. */
  completedAt: Date;
  /** Who approved. */
  by: Actor;
  /** The approved proof (helper proofs' id), kept in the audit trail. */
  proofId: string;
  now: Date;
  random: RandomBytes;
}

/**
 * Issues an external certification on an approved proof (helper proofs calls this): a new award,
 * or — when the learner holds one — a new version that supersedes it (renewal). Validity runs from
 * the learner's completion date. Audited and announced like programme awards.
 */
export async function awardExternal(conn: Connection, cert: CertificationDoc, input: ExternalAwardInput): Promise<AwardDoc> {
  if (cert.kind !== 'external') throw new Error(`awardExternal: ${String(cert._id)} is not an external certification`);
  const Award = awardModel(conn);
  for (let attempt = 0; attempt < 5; attempt++) {
    const latest = await Award.findOne({ certificationId: cert._id, userId: input.userId }).sort({ version: -1 }).lean<AwardDoc>();
    const active = latest?.status === 'active' ? latest : undefined;
    const decision: ProgrammeDecision = { complete: true, needed: 1, done: 1, missing: [], basis: [], completedAt: input.completedAt };
    const award = draftAward(cert, {
      userId: input.userId,
      learnerName: input.learnerName,
      learnerEmail: input.learnerEmail,
      decision,
      basis: [{ courseTitle: '', via: 'proof', completedAt: input.completedAt }],
      issuedAt: input.now,
      by: input.by,
      version: (latest?.version ?? 0) + 1,
      random: input.random,
      supersedes: active?._id,
    });
    if (input.language) award.language = input.language;
    const done = active ? await renewAward(conn, active._id, award) : (await insertAwards(conn, [award]))[0];
    if (!done) continue; // a concurrent write took this version: read again
    await recordCertificationAudit(conn, awardAudit(done, active ? 'award_renewed' : 'award_issued', input.by, { proofId: input.proofId, ...(active ? { previousAwardId: String(active._id) } : {}) }));
    await announce(conn, [done], active ? 'renewed' : 'issued');
    return done;
  }
  throw new Error('awardExternal: could not write the award (too many concurrent writes)');
}

/** How many active awards the certification has, and how many of them were issued under an older version of it (stale). */
export async function awardCounts(conn: Connection, cert: Pick<CertificationDoc, '_id' | 'version'>): Promise<{ active: number; stale: number }> {
  const Award = awardModel(conn);
  const [active, stale] = await Promise.all([
    Award.countDocuments({ certificationId: cert._id, status: 'active' }),
    Award.countDocuments({ certificationId: cert._id, status: 'active', certificationVersion: { $lt: cert.version } }),
  ]);
  return { active, stale };
}

/**
 * Re-issues the awards issued under an older version of the certification (stale, as a course
 * certificate is after its definition changed): each learner who still completes the programme
 * gets a new version saying what it says now, superseding the old; one who no longer does keeps
 * the old award (reported, never revoked silently).
 */
export async function reissueStaleAwards(conn: Connection, cert: CertificationDoc, opts: { now: Date; random: RandomBytes; by: Actor }): Promise<{ reissued: number; notComplete: number }> {
  const out = { reissued: 0, notComplete: 0 };
  if (cert.kind !== 'internal' || !cert.programme) return out;
  const stale = await awardModel(conn).find({ certificationId: cert._id, status: 'active', certificationVersion: { $lt: cert.version } }).lean<AwardDoc[]>();
  if (stale.length === 0) return out;
  const facts = await completionsOf(conn, cert, opts.now, stale.map((a) => a.userId));
  const titles = await courseTitles(conn, cert);
  const entries: CertificationAuditInput[] = [];
  const renewed: AwardDoc[] = [];
  for (const old of stale) {
    const f = facts.get(old.userId);
    const decision = evaluateProgramme(cert.programme, f?.completions ?? []);
    if (!decision.complete) {
      out.notComplete++;
      continue;
    }
    const award = draftAward(cert, { userId: old.userId, learnerName: f?.name ?? old.learnerName, learnerEmail: f?.email ?? old.learnerEmail, decision, basis: basisOf(decision, titles), issuedAt: opts.now, by: opts.by, version: old.version + 1, random: opts.random, supersedes: old._id });
    const done = await renewAward(conn, old._id, award);
    if (!done) continue;
    out.reissued++;
    renewed.push(done);
    entries.push(awardAudit(done, 'award_renewed', opts.by, { previousAwardId: String(old._id), reason: 'certification changed' }));
  }
  await recordCertificationAudit(conn, entries);
  await announce(conn, renewed, 'renewed');
  return out;
}

function draftAward(
  cert: CertificationDoc,
  d: { userId: string; learnerName: string; learnerEmail?: string; decision: ProgrammeDecision; basis: AwardBasis[]; issuedAt: Date; by: Actor; version: number; random: RandomBytes; supersedes?: Types.ObjectId },
): AwardDoc {
  const completedAt = d.decision.completedAt!;
  return {
    _id: new Types.ObjectId(),
    certificationId: cert._id,
    certificationVersion: cert.version,
    issuer: cert.issuer,
    clientId: cert.clientId,
    userId: d.userId,
    learnerName: d.learnerName,
    ...(d.learnerEmail ? { learnerEmail: d.learnerEmail } : {}),
    name: cert.name,
    overview: cert.overview,
    issuerName: cert.issuerName,
    ...(cert.badgeFileId ? { badgeFileId: cert.badgeFileId } : {}),
    kind: cert.kind,
    validity: cert.validity,
    completedAt,
    issuedAt: d.issuedAt,
    expiresAt: expiryOf(cert.validity, completedAt),
    basis: d.basis,
    issuedBy: d.by,
    code: generateCode(d.random),
    version: d.version,
    status: 'active',
    activeKey: awardActiveKey(cert._id, d.userId),
    ...(d.supersedes ? { supersedes: d.supersedes } : {}),
  };
}

/** Inserts new awards; one that hits a unique index (a concurrent claim won) is dropped, the winner stands. */
async function insertAwards(conn: Connection, docs: AwardDoc[]): Promise<AwardDoc[]> {
  if (docs.length === 0) return [];
  const failed = new Set<number>();
  try {
    await awardModel(conn).collection.insertMany(docs, { ordered: false });
  } catch (e) {
    const writeErrors = ([] as Array<{ index: number; code?: number }>).concat((e as { writeErrors?: [] }).writeErrors ?? []);
    if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw e;
    for (const w of writeErrors) failed.add(w.index);
  }
  return docs.filter((_, i) => !failed.has(i));
}

/** Supersedes `previous` by `award` (two single-document steps; the first is undone if the second fails). */
async function renewAward(conn: Connection, previous: Types.ObjectId, award: AwardDoc): Promise<AwardDoc | null> {
  const Award = awardModel(conn);
  const retired = await Award.updateOne(
    { _id: previous, status: 'active' },
    { $set: { status: 'superseded', supersededBy: award._id, supersededAt: award.issuedAt }, $unset: { activeKey: 1 } },
  );
  if (retired.modifiedCount === 0) return null; // a concurrent renewal retired it first
  try {
    await Award.collection.insertOne(award);
  } catch (e) {
    await Award.updateOne(
      { _id: previous, supersededBy: award._id },
      { $set: { status: 'active', activeKey: award.activeKey }, $unset: { supersededBy: 1, supersededAt: 1 } },
    ).catch(() => undefined);
    if ((e as { code?: number }).code === 11000) return null;
    throw e;
  }
  // the old version's Open Badges credential, if one was made, is no longer the current one (src/credentials)
  await revokeCredentials(conn, 'certification', [String(previous)]);
  return award;
}

function awardAudit(a: AwardDoc, action: CertificationAuditInput['action'], actor: Actor, details: Record<string, unknown> = {}): CertificationAuditInput {
  return {
    id: action === 'award_issued' || action === 'award_renewed' ? a._id : undefined,
    issuer: a.issuer,
    clientId: a.clientId,
    certificationId: a.certificationId,
    action,
    actor,
    at: a.issuedAt,
    awardId: a._id,
    userId: a.userId,
    details: {
      code: a.code,
      version: a.version,
      completedAt: a.completedAt,
      expiresAt: a.expiresAt,
      basis: a.basis.map((b) => ({ courseId: b.courseId ? String(b.courseId) : undefined, courseTitle: b.courseTitle, via: b.via, issueId: b.issueId ? String(b.issueId) : undefined })),
      ...details,
    },
  };
}

/**
 * A course certificate of `userId` in `courseId` was revoked: every active award of theirs that
 * rests on that course is looked at again. If the learner no longer completes the programme
 * without it, the award is revoked — or kept, as the certification's `onCourseRevoked` says;
 * both are in the audit trail.
 */
export async function reconsiderAfterRevocation(conn: Connection, cert: CertificationDoc, userIds: readonly string[], courseId: Types.ObjectId, opts: { now: Date; by?: Actor }): Promise<{ revoked: AwardDoc[]; kept: AwardDoc[] }> {
  const out = { revoked: [] as AwardDoc[], kept: [] as AwardDoc[] };
  if (!cert.programme) return out;
  const Award = awardModel(conn);
  const affected = await Award.find({ certificationId: cert._id, userId: { $in: [...userIds] }, status: 'active', 'basis.courseId': courseId }).lean<AwardDoc[]>();
  if (affected.length === 0) return out;
  const facts = await completionsOf(conn, cert, opts.now, affected.map((a) => a.userId));
  const by = opts.by ?? SYSTEM_ACTOR;
  const entries: CertificationAuditInput[] = [];
  for (const award of affected) {
    const decision = evaluateProgramme(cert.programme, facts.get(award.userId)?.completions ?? []);
    if (decision.complete) continue; // still complete without it: nothing rests on it any more
    if (cert.onCourseRevoked === 'keep') {
      out.kept.push(award);
      entries.push({ ...awardAudit(award, 'award_kept', by, { courseId: String(courseId), reason: 'a course certificate it rests on was revoked; the certification keeps its awards' }), at: opts.now });
      continue;
    }
    const reason = 'A course certificate it rests on was revoked.';
    const done = await Award.findOneAndUpdate(
      { _id: award._id, status: 'active' },
      { $set: { status: 'revoked', revokedAt: opts.now, revokedBy: by, revokedReason: reason }, $unset: { activeKey: 1 } },
      { new: true },
    ).lean<AwardDoc>();
    if (!done) continue;
    await revokeCredentials(conn, 'certification', [String(done._id)]);
    out.revoked.push(done);
    entries.push({ ...awardAudit(done, 'award_revoked', by, { courseId: String(courseId), reason }), at: opts.now });
  }
  await recordCertificationAudit(conn, entries);
  return out;
}

/** What `/verify/<code>` needs of an award: found (any state) or null. */
export interface AwardVerification {
  state: 'active' | 'expired' | 'superseded' | 'revoked';
  award: AwardDoc;
  /** For a superseded award: the newest version. */
  newest?: { award: AwardDoc; state: AwardVerification['state'] };
}

export function awardState(a: Pick<AwardDoc, 'status' | 'expiresAt'>, now: Date): AwardVerification['state'] {
  if (a.status === 'revoked') return 'revoked';
  if (a.status === 'superseded') return 'superseded';
  if (a.expiresAt && a.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** The award with this verification code (the same code space as course certificates), or null. */
export async function findAwardByCode(conn: Connection, input: string, now: Date): Promise<AwardVerification | null> {
  const code = normalizeCode(input);
  if (!code) return null;
  const Award = awardModel(conn);
  const award = await Award.findOne({ code }).lean<AwardDoc>();
  if (!award) return null;
  const out: AwardVerification = { state: awardState(award, now), award };
  let newest = award;
  for (let i = 0; i < 50 && newest.status === 'superseded' && newest.supersededBy; i++) {
    const next = await Award.findById(newest.supersededBy).lean<AwardDoc>();
    if (!next) break;
    newest = next;
  }
  if (newest !== award) out.newest = { award: newest, state: awardState(newest, now) };
  return out;
}

/** A learner's awards on this registration, every version, newest first. */
export async function learnerAwards(conn: Connection, tenant: { issuer: string; clientId: string }, userId: string): Promise<AwardDoc[]> {
  return awardModel(conn).find({ issuer: tenant.issuer, clientId: tenant.clientId, userId }).sort({ issuedAt: -1, _id: -1 }).lean<AwardDoc[]>();
}

/** One award of this learner on this registration, or null. */
export async function learnerAward(conn: Connection, tenant: { issuer: string; clientId: string }, userId: string, id: string): Promise<AwardDoc | null> {
  if (!/^[0-9a-f]{24}$/i.test(id)) return null;
  return awardModel(conn).findOne({ _id: new Types.ObjectId(id), issuer: tenant.issuer, clientId: tenant.clientId, userId }).lean<AwardDoc>();
}

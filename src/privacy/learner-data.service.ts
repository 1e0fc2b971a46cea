/**
 * A learner's personal data: everything the tool stores about one LMS user (issuer + user id,
 * across every course of that platform), as an export (JSON + their certificate PDFs, one ZIP),
 * and its erasure. docs/privacy.md lists every field and why it is kept.
 *
 * Erasure keeps what a verification must keep — each certificate's code, status, dates, course,
 * title and score — so that a printed certificate still verifies (as "valid", "revoked", ...), and
 * removes or pseudonymises the rest: the name and e-mail on certificates (and their stored PDFs),
 * roster entries, grades, run logs, open sessions, and the learner's name and id inside the audit
 * log (replaced by one random pseudonym, so the log still reads "certificate issued to X, later
 * revoked"). The LMS's own data is not touched: erase the user there too, or the next roster
 * sync brings the roster entry back.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ZipArchive } from 'archiver';
import type { Connection, Types } from 'mongoose';
import { auditDetailModel, auditModel, type Actor } from '../certificates/audit.model';
import { withAuditDetails } from '../certificates/audit.service';
import { definitionModel } from '../certificates/definition.model';
import { issueModel, type IssueDoc } from '../certificates/issue.model';
import { courseModel } from '../courses/course.model';
import { bucketOf } from '../documents/gridfs';
import { certificatePdf, type PdfDeps } from '../documents/certificate-pdf.service';
import { lineItemModel } from '../grades/line-item.model';
import { memberModel } from '../grades/member.model';
import { resultModel } from '../grades/result.model';
import { syncRunModel } from '../grades/sync-run.model';
import { jobModel } from '../jobs/job.model';
import { forgetCachedSessions } from '../lti/session.service';
import { forgetWrittenRecipients } from '../mail/recipients';
import { createLogger } from '../logger';
import { privacyRequestModel } from './privacy-request.model';

const log = createLogger('privacy');

/** Who: a user of one platform (`sub` is unique per issuer). */
export interface DataSubject {
  issuer: string;
  userId: string;
}

/** What replaces a learner's name on their certificates after erasure. */
export const ERASED_NAME = '—';

const PERSONAL_KEYS = ['name', 'learnerName', 'email', 'learnerEmail', 'givenName', 'familyName', 'username', 'sisId', 'lisPersonSourcedId'];

async function coursesOf(conn: Connection, issuer: string): Promise<Array<{ _id: Types.ObjectId; title?: string; label?: string; contextId: string; clientId: string }>> {
  return courseModel(conn).find({ issuer }, { title: 1, label: 1, contextId: 1, clientId: 1 }).lean();
}

const strip = <T extends Record<string, unknown>>(doc: T, ...keys: string[]): Partial<T> => {
  const out: Record<string, unknown> = { ...doc };
  for (const k of keys) delete out[k];
  return out as Partial<T>;
};

export interface LearnerData {
  json: Record<string, unknown>;
  certificates: IssueDoc[];
}

/** Everything stored about `subject`, as plain JSON (dates as ISO strings). */
export async function collectLearnerData(conn: Connection, subject: DataSubject, now: Date): Promise<LearnerData> {
  const courses = await coursesOf(conn, subject.issuer);
  const courseIds = courses.map((c) => c._id);
  const inCourses = { courseId: { $in: courseIds }, userId: subject.userId };
  const [members, results, certificates, audit, runs] = await Promise.all([
    memberModel(conn).find(inCourses).lean(),
    resultModel(conn).find(inCourses).lean(),
    issueModel(conn).find(inCourses).sort({ issuedAt: 1 }).lean<IssueDoc[]>(),
    auditModel(conn)
      .find({ courseId: { $in: courseIds }, $or: [{ userId: subject.userId }, { 'actor.userId': subject.userId }] })
      .sort({ at: 1 })
      .lean(),
    syncRunModel(conn).find(inCourses).lean(),
  ]);
  const auditLog = await withAuditDetails(conn, audit);
  const theirs = { issuer: subject.issuer, userId: subject.userId };
  // what #11 stores on the platform level: certifications awarded, proofs sent, where mail goes, mails, name choices
  const [awards, proofs, recipient, certificationAudit] = await Promise.all([
    conn.collection('certification_awards').find(theirs).sort({ issuedAt: 1 }).toArray(),
    conn.collection('certification_proofs').find(theirs).sort({ submittedAt: 1 }).toArray(),
    conn.collection('mail_recipients').findOne(theirs),
    conn
      .collection('certification_audit')
      .find({ issuer: subject.issuer, $or: [{ userId: subject.userId }, { 'actor.userId': subject.userId }] })
      .sort({ at: 1 })
      .toArray(),
  ]);
  const certificationLog = await withAuditDetails(conn, certificationAudit as unknown as Parameters<typeof withAuditDetails>[1]);
  const mails = recipient?.email ? await conn.collection('mail_outbox').find({ 'to.email': recipient.email }, { projection: { event: 1, subject: 1, status: 1, createdAt: 1, sentAt: 1, language: 1 } }).toArray() : [];
  const nameChoices = await conn
    .collection('credential_holder_choices')
    .find({ _id: { $regex: `:${subject.userId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` } } as never)
    .toArray();
  const items = await lineItemModel(conn).find({ _id: { $in: results.map((r) => r.lineItemId) } }, { label: 1 }).lean();
  const labels = new Map(items.map((i) => [String(i._id), i.label]));
  const title = new Map(courses.map((c) => [String(c._id), c.title ?? c.contextId]));
  const json = {
    exportedAt: now.toISOString(),
    subject: { platform: subject.issuer, userId: subject.userId },
    about: 'Everything the Certificates tool stores about you. docs/privacy.md in the tool explains each field, why it is kept and for how long.',
    courses: courses
      .filter((c) => [members, results, certificates].some((list) => list.some((d) => String(d.courseId) === String(c._id))))
      .map((c) => ({ id: String(c._id), title: c.title, label: c.label, contextId: c.contextId })),
    roster: members.map((m) => ({ course: title.get(String(m.courseId)), ...strip(m as unknown as Record<string, unknown>, '_id', '__v', 'courseId') })),
    grades: results.map((r) => ({
      course: title.get(String(r.courseId)),
      activity: labels.get(String(r.lineItemId)),
      ...strip(r as unknown as Record<string, unknown>, '_id', '__v', 'courseId', 'lineItemId', 'userId'),
    })),
    certificates: certificates.map((c) => ({
      course: c.courseTitle,
      title: c.title,
      code: c.code,
      status: c.status,
      version: c.version,
      learnerName: c.learnerName,
      learnerEmail: c.learnerEmail,
      scorePercent: c.scorePercent,
      issuedAt: c.issuedAt,
      expiresAt: c.expiresAt,
      revokedAt: c.revokedAt,
      revokedReason: c.revokedReason,
      supersededAt: c.supersededAt,
      evaluation: c.evaluation,
      pdf: `certificates/${c.code}.pdf`,
    })),
    auditLog: auditLog.map((a) => ({
      course: title.get(String(a.courseId)),
      at: a.at,
      action: a.action,
      actor: a.actor,
      details: a.details,
      ...(a.detailsRemoved ? { detailsRemoved: 'the names and reasons of this entry were deleted after the retention period (AUDIT_DETAIL_RETENTION_DAYS)' } : {}),
    })),
    gradeRefreshes: runs.map((r) => strip(r as unknown as Record<string, unknown>, '_id', '__v', 'courseId')),
    certifications: awards.map((a) => ({
      name: a.name,
      code: a.code,
      status: a.status,
      version: a.version,
      learnerName: a.learnerName,
      learnerEmail: a.learnerEmail,
      completedAt: a.completedAt,
      issuedAt: a.issuedAt,
      expiresAt: a.expiresAt,
      revokedAt: a.revokedAt,
      basis: (a.basis as Array<{ courseTitle: string; via: string; completedAt: Date }> | undefined)?.map((b) => ({ course: b.courseTitle, via: b.via, completedAt: b.completedAt })),
    })),
    proofs: proofs.map((p) => ({
      certificationId: String(p.certificationId),
      learnerName: p.learnerName,
      learnerEmail: p.learnerEmail,
      contentType: p.contentType,
      size: p.size,
      completedAt: p.completedAt,
      submittedAt: p.submittedAt,
      status: p.status,
      decidedAt: p.decidedAt,
      reason: p.reason,
    })),
    mail: {
      address: recipient ? { email: recipient.email, name: recipient.name, locale: recipient.locale, lastLaunchAt: recipient.lastLaunchAt } : null,
      messages: mails.map((m) => strip(m as unknown as Record<string, unknown>, '_id')),
    },
    nameOnVerification: nameChoices.map((c) => ({ record: String(c._id).split(':').slice(0, 2).join(':'), showName: c.showName, decidedAt: c.decidedAt })),
    certificationAuditLog: certificationLog.map((a) => ({
      at: (a as unknown as { at: Date }).at,
      action: (a as unknown as { action: string }).action,
      actor: a.actor,
      details: a.details,
      ...(a.detailsRemoved ? { detailsRemoved: 'the names and reasons of this entry were deleted after the retention period (AUDIT_DETAIL_RETENTION_DAYS)' } : {}),
    })),
  };
  return { json: JSON.parse(JSON.stringify(json)) as Record<string, unknown>, certificates };
}

/**
 * Streams the learner's ZIP into `out`: `my-data.json` and one PDF per certificate that is not
 * revoked (rendered now if it never was; revoked ones have no PDF anywhere in the tool).
 */
export async function writeLearnerZip(deps: PdfDeps, subject: DataSubject, out: NodeJS.WritableStream): Promise<{ certificates: number; pdfs: number }> {
  const data = await collectLearnerData(deps.conn, subject, deps.now());
  const zip = new ZipArchive({ zlib: { level: 6 } });
  const done = new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    out.on('error', reject);
    out.on('finish', resolve);
    out.on('close', resolve);
  });
  zip.pipe(out);
  zip.append(JSON.stringify(data.json, null, 2), { name: 'my-data.json' });
  let pdfs = 0;
  for (const c of data.certificates) {
    if (c.status === 'revoked') continue;
    const pdf = await certificatePdf(deps, c);
    const stream: Readable = pdf.open();
    zip.append(stream, { name: `certificates/${c.code}.pdf` });
    pdfs++;
  }
  await zip.finalize();
  await done;
  return { certificates: data.certificates.length, pdfs };
}

export interface ErasureResult {
  pseudonym: string;
  certificates: number;
  pdfsDeleted: number;
  credentials: number;
  awards: number;
  mails: number;
  auditEntries: number;
  rosterEntries: number;
  grades: number;
  runs: number;
  sessions: number;
}

/** `text` with every name or e-mail of the learner in it replaced (free text: a revocation's reason). */
function scrubText(text: string, knownStrings: Set<string>): string {
  let out = text;
  for (const k of knownStrings) if (out.includes(k)) out = out.split(k).join(ERASED_NAME);
  return out;
}

/** Replaces `userId` and removes names/e-mails in every object of `value` that is about the learner. */
function scrub(value: unknown, userId: string, pseudonym: string, knownStrings: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => scrub(v, userId, pseudonym, knownStrings));
  if (typeof value === 'string') return scrubText(value, knownStrings);
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  if ((value as { _bsontype?: string })._bsontype) return value;
  const o = value as Record<string, unknown>;
  const about = o.userId === userId;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (about && PERSONAL_KEYS.includes(k)) continue;
    out[k] = k === 'userId' && v === userId ? pseudonym : scrub(v, userId, pseudonym, knownStrings);
  }
  return out;
}

/**
 * Erases `subject` (see the file comment). Idempotent: a second run finds nothing left to erase.
 * `by` is recorded in the privacy log (which never names the learner).
 */
export async function eraseLearner(conn: Connection, subject: DataSubject, opts: { by: Actor; now: Date }): Promise<ErasureResult> {
  const pseudonym = `erased-${randomBytes(9).toString('base64url')}`;
  const courseIds = (await coursesOf(conn, subject.issuer)).map((c) => c._id);
  const inCourses = { courseId: { $in: courseIds }, userId: subject.userId };
  const { userId } = subject;

  // Names and e-mails the learner was known by, to find them inside free-form audit details.
  const [members, issues] = await Promise.all([
    memberModel(conn).find(inCourses, { name: 1, email: 1, givenName: 1, familyName: 1, username: 1 }).lean(),
    issueModel(conn).find(inCourses).lean<IssueDoc[]>(),
  ]);
  const known = new Set<string>();
  for (const m of members) for (const v of [m.name, m.email, m.username]) if (v && v.length > 2) known.add(v);
  for (const i of issues) for (const v of [i.learnerName, i.learnerEmail]) if (v && v.length > 2 && v !== ERASED_NAME) known.add(v);

  // 1. Certificates: keep code, status, dates, course, title, score; the person goes.
  let pdfsDeleted = 0;
  const pdfs = bucketOf(conn, 'pdfs');
  for (const issue of issues) {
    const files = await pdfs.find({ 'metadata.issueId': String(issue._id) }).toArray();
    for (const f of files) {
      await pdfs.delete(f._id).catch(() => undefined);
      pdfsDeleted++;
    }
    const actor = (a: Actor | undefined) => (a && a.userId === userId ? { kind: a.kind, userId: pseudonym } : a);
    await issueModel(conn).updateOne(
      { _id: issue._id },
      {
        $set: {
          userId: pseudonym,
          learnerName: ERASED_NAME,
          erasedAt: opts.now,
          issuedBy: actor(issue.issuedBy),
          ...(issue.revokedBy ? { revokedBy: actor(issue.revokedBy) } : {}),
          ...(issue.revokedReason ? { revokedReason: scrubText(issue.revokedReason, known) } : {}),
          ...(issue.activeKey ? { activeKey: `${String(issue.definitionId)}:${pseudonym}` } : {}),
          evaluation: scrub(issue.evaluation, userId, pseudonym, known),
        },
        $unset: { learnerEmail: 1, pdfFileId: 1 },
      },
      { strict: false },
    );
  }

  // Their signed Open Badges credentials carry the name and cannot be changed: delete them (a new
  // one, without the name, is signed if ever asked for); and their "show my name" choices.
  const credentials = (await conn.collection('credentials').deleteMany({ _id: { $in: issues.map((i) => `certificate:${String(i._id)}`) } as never })).deletedCount;
  const definitionIds = await definitionModel(conn).distinct('_id', { courseId: { $in: courseIds } });
  await conn.collection('credential_holder_choices').deleteMany({ _id: { $in: definitionIds.map((d) => `certificate:${String(d)}:${userId}`) } as never });

  // Certifications (programmes) awarded to them: like certificates, they keep verifying without the person.
  const awards = await conn.collection('certification_awards').find({ issuer: subject.issuer, userId }, { projection: { _id: 1, learnerName: 1, learnerEmail: 1 } }).toArray();
  for (const a of awards) for (const v of [a.learnerName, a.learnerEmail]) if (typeof v === 'string' && v.length > 2 && v !== ERASED_NAME) known.add(v);
  if (awards.length) {
    await conn.collection('certification_awards').updateMany({ issuer: subject.issuer, userId }, { $set: { userId: pseudonym, learnerName: ERASED_NAME, erasedAt: opts.now }, $unset: { learnerEmail: 1 } });
    await conn.collection('credentials').deleteMany({ _id: { $in: awards.map((a) => `certification:${String(a._id)}`) } as never });
  }
  // Mail: where to write to them, and every message to them not yet expired.
  const recipients = await conn.collection('mail_recipients').find({ issuer: subject.issuer, userId }, { projection: { email: 1, name: 1 } }).toArray();
  for (const r of recipients) for (const v of [r.email, r.name]) if (typeof v === 'string' && v.length > 2) known.add(v);
  await conn.collection('mail_recipients').deleteMany({ issuer: subject.issuer, userId });
  forgetWrittenRecipients(conn);
  const emails = [...known].filter((v) => v.includes('@'));
  const mails = emails.length ? (await conn.collection('mail_outbox').deleteMany({ 'to.email': { $in: emails } })).deletedCount : 0;

  // 2. The audit log: entries about the learner or by them, and any list that names them.
  const entries = await auditModel(conn)
    .find({ courseId: { $in: courseIds }, $or: [{ userId }, { 'actor.userId': userId }, { action: { $in: ['certificates_revoked_all', 'generate_all'] } }] })
    .lean();
  let auditEntries = 0;
  for (const e of entries) {
    const details = scrub(e.details, userId, pseudonym, known) as Record<string, unknown>;
    const actor = e.actor.userId === userId ? { kind: e.actor.kind, userId: pseudonym } : e.actor;
    const changed = e.userId === userId || actor !== e.actor || JSON.stringify(details) !== JSON.stringify(e.details);
    if (!changed) continue;
    await auditModel(conn).updateOne({ _id: e._id }, { $set: { details, actor, ...(e.userId === userId ? { userId: pseudonym } : {}) } });
    auditEntries++;
  }

  // The personal parts of those entries (audit_details, see audit.model.ts): the rows of entries
  // about or by the learner are deleted; those of lists that name them (revoke all, generate all) are scrubbed.
  const split = entries.filter((e) => e.detailsUntil);
  const concerns = (e: (typeof entries)[number]) => e.userId === userId || e.actor.userId === userId;
  const theirs = split.filter(concerns).map((e) => e._id);
  if (theirs.length) await auditDetailModel(conn).deleteMany({ _id: { $in: theirs } });
  const lists = split.filter((e) => !concerns(e)).map((e) => e._id);
  for (const part of lists.length ? await auditDetailModel(conn).find({ _id: { $in: lists } }).lean() : []) {
    const details = scrub(part.details, userId, pseudonym, known) as Record<string, unknown>;
    if (JSON.stringify(details) !== JSON.stringify(part.details)) await auditDetailModel(conn).updateOne({ _id: part._id }, { $set: { details } });
  }

  // The certification trail: their entries keep what and when, under the pseudonym; their names
  // and reasons (audit_details) are deleted.
  const certEntries = await conn.collection('certification_audit').find({ issuer: subject.issuer, $or: [{ userId }, { 'actor.userId': userId }] }, { projection: { _id: 1 } }).toArray();
  if (certEntries.length) {
    await auditDetailModel(conn).deleteMany({ _id: { $in: certEntries.map((e) => e._id as Types.ObjectId) } });
    await conn.collection('certification_audit').updateMany({ issuer: subject.issuer, userId }, { $set: { userId: pseudonym } });
    await conn.collection('certification_audit').updateMany({ issuer: subject.issuer, 'actor.userId': userId }, { $set: { 'actor.userId': pseudonym }, $unset: { 'actor.name': 1 } });
  }

  // 3. Roster, grades, grade refresh logs, sessions, jobs they started.
  const [rosterEntries, grades, runs] = await Promise.all([
    memberModel(conn).deleteMany(inCourses).then((r) => r.deletedCount),
    resultModel(conn).deleteMany(inCourses).then((r) => r.deletedCount),
    syncRunModel(conn).deleteMany(inCourses).then((r) => r.deletedCount),
  ]);
  await syncRunModel(conn).updateMany({ courseId: { $in: courseIds }, 'startedBy.userId': userId }, { $set: { 'startedBy.userId': pseudonym }, $unset: { 'startedBy.name': 1 } });
  const sessions = (await conn.collection('sessions').deleteMany({ 'launch.issuer': subject.issuer, 'launch.user.id': userId })).deletedCount;
  // this instance's session cache at once; other instances drop theirs within SESSION_CACHE_MS (perf)
  forgetCachedSessions((launch) => launch.issuer === subject.issuer && launch.user.id === userId);
  await jobModel(conn).updateMany({ courseId: { $in: courseIds }, 'createdBy.userId': userId }, { $set: { 'createdBy.userId': pseudonym }, $unset: { 'createdBy.name': 1 } });
  await jobModel(conn).updateMany({ courseId: { $in: courseIds }, 'payload.userIds': userId }, { $pull: { 'payload.userIds': userId } } as never);

  const result: ErasureResult = { pseudonym, certificates: issues.length, pdfsDeleted, credentials, awards: awards.length, mails, auditEntries, rosterEntries, grades, runs, sessions };
  await privacyRequestModel(conn).create({ kind: 'erasure', at: opts.now, by: opts.by, issuer: subject.issuer, pseudonym, counts: { ...result, pseudonym: undefined } });
  log.info(`erased a learner of ${subject.issuer} (now ${pseudonym}): ${JSON.stringify({ ...result, pseudonym: undefined })}`);
  return result;
}

/** Records that a learner's data was exported (never who: the log must survive an erasure). */
export async function recordExport(conn: Connection, subject: DataSubject, opts: { by: Actor; now: Date }): Promise<void> {
  await privacyRequestModel(conn).create({ kind: 'export', at: opts.now, by: opts.by.kind === 'learner' ? { kind: 'learner' } : opts.by, issuer: subject.issuer });
}


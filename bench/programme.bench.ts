/**
 * Certifications at scale: a programme of 10 courses (8 mandatory, at least 6 needed) and 20,000
 * learners, each holding course certificates in some of the courses (180,000 certificates in all).
 * Measures, beside the anchor — reading the same certificates from the database alone, with the
 * same projection (the floor any re-evaluation pays) — in the same run:
 *   - the first re-evaluation after a sync (decides 20,000 learners, issues the awards now due, audit included),
 *   - a second one with nothing changed (decides again, writes nothing),
 *   - one learner's claim (the hook's path: one learner re-evaluated).
 *
 * Run by hand: `npx tsx bench/programme.bench.ts [learners] [--memory] [--uri mongodb://...]`
 * Default engine: the offline engine with its journal in a temporary folder (what `npm start` uses
 * without MONGODB_URI); `--memory` drops the journal; `--uri` uses a real MongoDB.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose, { Types, type Connection } from 'mongoose';
import { issueModel } from '../src/certificates/issue.model';
import { awardModel } from '../src/certifications/award.model';
import { evaluateCertification } from '../src/certifications/award.service';
import { certificationAuditModel } from '../src/certifications/certification-audit';
import { certificationModel, type CertificationDoc } from '../src/certifications/certification.model';
import { courseModel } from '../src/courses/course.model';
import { connectToOfflineEngine, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { setLogLevel } from '../src/logger';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--') && !a.startsWith('mongodb'));
const LEARNERS = Number(positional[0] ?? 20000);
const COURSES = 10;
const MEMORY = args.includes('--memory');
const URI = args[args.indexOf('--uri') + 1]?.startsWith('mongodb') ? args[args.indexOf('--uri') + 1] : undefined;

async function connect(): Promise<{ db: Database; stop: () => Promise<void>; engine: string }> {
  if (URI) {
    const connection = await mongoose.createConnection(URI).asPromise();
    await connection.dropDatabase();
    return { db: { uri: URI, engine: 'external', connection, close: () => connection.close() }, stop: async () => undefined, engine: `MongoDB at ${URI}` };
  }
  const dir = MEMORY ? undefined : mkdtempSync(join(tmpdir(), 'programme-bench-'));
  const engine = await startOfflineEngine({ dir, logger: { debug() {}, info() {}, warn() {}, error: console.error } });
  const db = await connectToOfflineEngine(engine, 'bench', false);
  return {
    db,
    engine: MEMORY ? 'offline engine, in memory' : 'offline engine with journal',
    stop: async () => {
      await engine.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Learner u holds a certificate in course c unless (u + c) % 10 < u % 5: 0–4 courses missing, so 3 in 5 complete 6 of the 8 mandatory. */
const holds = (u: number, c: number) => (u + c) % 10 >= u % 5;

async function seed(conn: Connection): Promise<CertificationDoc> {
  const now = new Date();
  const courses = Array.from({ length: COURSES }, (_, c) => ({ _id: new Types.ObjectId(), issuer: 'https://lms.example', clientId: 'c', contextId: `course-${c}`, title: `Course ${c + 1}`, deploymentIds: [], platformFamily: 'moodle', services: { agsScopes: [] }, settings: { autoReissue: false } }));
  await courseModel(conn).collection.insertMany(courses);
  const definitions = courses.map(() => new Types.ObjectId());
  let batch: object[] = [];
  for (let u = 0; u < LEARNERS; u++) {
    for (let c = 0; c < COURSES; c++) {
      if (!holds(u, c)) continue;
      batch.push({
        _id: new Types.ObjectId(),
        courseId: courses[c]!._id,
        definitionId: definitions[c],
        definitionVersion: 1,
        userId: `u${u}`,
        learnerName: `Learner ${u}`,
        courseTitle: `Course ${c + 1}`,
        title: 'Certificate',
        issuerName: 'Academy',
        scorePercent: 90,
        evaluation: {},
        fingerprint: 'x',
        template: {},
        validity: { kind: 'perpetual' },
        issuedAt: new Date(now.getTime() - (u % 300) * 86_400_000),
        expiresAt: null,
        issuedBy: { kind: 'system' },
        code: `B${u}-${c}`,
        version: 1,
        status: 'active',
        activeKey: `${String(definitions[c])}:u${u}`,
      });
    }
    if (batch.length >= 5000) {
      await issueModel(conn).collection.insertMany(batch);
      batch = [];
    }
  }
  if (batch.length) await issueModel(conn).collection.insertMany(batch);
  await Promise.all([issueModel(conn).init(), awardModel(conn).init(), certificationModel(conn).init(), certificationAuditModel(conn).init()]);
  const actor = { kind: 'admin' as const, name: 'Bench' };
  const cert = await certificationModel(conn).create({
    issuer: 'https://lms.example',
    clientId: 'c',
    name: 'Data Steward',
    overview: '',
    issuerName: 'Academy',
    kind: 'internal',
    validity: { kind: 'recurring', validForMonths: 24, renewalWindowDays: 60 },
    programme: { courses: courses.map((c, i) => ({ courseId: c._id, mandatory: i < 8, definitionIds: [] })), minimumMandatory: 6, useLmsCompletion: false },
    onCourseRevoked: 'revoke',
    assignment: { everyone: true, userIds: [] },
    version: 1,
    publishedAt: now,
    archivedAt: null,
    createdAt: now,
    createdBy: actor,
    updatedAt: now,
    updatedBy: actor,
  });
  return cert.toObject() as CertificationDoc;
}

interface Sample {
  ms: number;
  cpuMs: number;
}
async function time<T>(fn: () => Promise<T>): Promise<Sample & { value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, value };
}
const fmt = (s: Sample) => `${(s.ms / 1000).toFixed(2)} s wall, ${(s.cpuMs / 1000).toFixed(2)} s CPU`;

async function main(): Promise<void> {
  setLogLevel('error');
  const { db, stop, engine } = await connect();
  const conn = db.connection;
  try {
    console.log(`engine: ${engine}; ${LEARNERS} learners × ${COURSES} courses`);
    const seeded = await time(() => seed(conn));
    const cert = seeded.value;
    const certificates = await issueModel(conn).countDocuments();
    console.log(`seeded ${certificates} course certificates in ${fmt(seeded)}`);
    const courseIds = cert.programme!.courses.map((c) => c.courseId);
    const anchor = await time(async () => {
      let n = 0;
      const cursor = issueModel(conn).collection.find(
        { courseId: { $in: courseIds }, status: 'active' },
        { projection: { courseId: 1, definitionId: 1, userId: 1, issuedAt: 1, expiresAt: 1, learnerName: 1, learnerEmail: 1 } },
      );
      for await (const _ of cursor) n++;
      return n;
    });
    console.log(`anchor — reading the ${anchor.value} certificates alone: ${fmt(anchor)}`);
    const first = await time(() => evaluateCertification(conn, cert, { now: new Date(), random: randomBytes }));
    console.log(`first re-evaluation after a sync: ${first.value.learners} learners decided, ${first.value.issued.length} awards issued: ${fmt(first)} = ${(first.ms / anchor.ms).toFixed(2)}× the anchor`);
    const again = await time(() => evaluateCertification(conn, cert, { now: new Date(), random: randomBytes }));
    console.log(`second, nothing changed: ${again.value.issued.length} issued: ${fmt(again)} = ${(again.ms / anchor.ms).toFixed(2)}× the anchor`);
    // a learner missing exactly one needed course: u3 holds (3 + c) % 10 >= 3 → misses courses 0, 7… find one not yet awarded
    const pendingUser = (await awardModel(conn).distinct('userId')).length < LEARNERS ? firstPending(first.value.issued.map((a) => a.userId)) : null;
    if (pendingUser) {
      const one = await time(() => evaluateCertification(conn, cert, { now: new Date(), random: randomBytes, userIds: [pendingUser] }));
      console.log(`one learner (the claim's path): ${(one.ms).toFixed(1)} ms wall`);
    }
    console.log(`awards: ${await awardModel(conn).countDocuments()}, audit entries: ${await certificationAuditModel(conn).countDocuments()}; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await db.close();
    await stop();
  }
}

function firstPending(issued: string[]): string | null {
  const done = new Set(issued);
  for (let u = 0; u < LEARNERS; u++) if (!done.has(`u${u}`)) return `u${u}`;
  return null;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

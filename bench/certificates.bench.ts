/**
 * Certificates at scale: a course of 5,000 learners x 20 line items (100,000 results).
 * Measures, beside reading the same grades from the database alone (the floor every step pays):
 *   - evaluating the course (the teacher overview: grades + certificates read, 5,000 evaluations),
 *   - the pure evaluation alone (no database),
 *   - the dry run of "generate all",
 *   - issuing 5,000 certificates with "generate all" (no PDFs), audit entries included.
 *
 * Run by hand: `npx tsx bench/certificates.bench.ts [learners] [items] [--memory] [--uri mongodb://...]`
 * Default engine: the offline engine with its journal in a temporary folder (what `npm start` uses
 * without MONGODB_URI); `--memory` drops the journal; `--uri` uses a real MongoDB.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { Types, type Connection } from 'mongoose';
import { connectToOfflineEngine, type Database } from '../src/db/connect';
import { startOfflineEngine } from '../src/db/offline/server';
import { courseModel } from '../src/courses/course.model';
import { lineItemModel } from '../src/grades/line-item.model';
import { memberModel } from '../src/grades/member.model';
import { resultModel } from '../src/grades/result.model';
import { setLogLevel } from '../src/logger';
import { readCourseGrades, learnerGrades } from '../src/certificates/course-grades';
import { createDefinition } from '../src/certificates/definition.service';
import { evaluateEligibility } from '../src/certificates/evaluate';
import { dryRunGenerateAll, generateAll } from '../src/certificates/generate-all.service';
import { issueModel } from '../src/certificates/issue.model';
import { auditModel } from '../src/certificates/audit.model';
import { definitionModel } from '../src/certificates/definition.model';
import { courseOverview } from '../src/certificates/overview.service';
import type { Actor } from '../src/certificates/audit.model';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--') && !a.startsWith('mongodb'));
const LEARNERS = Number(positional[0] ?? 5000);
const ITEMS = Number(positional[1] ?? 20);
const MEMORY = args.includes('--memory');
const URI = args[args.indexOf('--uri') + 1]?.startsWith('mongodb') ? args[args.indexOf('--uri') + 1] : undefined;
const RUNS = 3;
const teacher: Actor = { kind: 'teacher', userId: 'bench-teacher', name: 'Bench Teacher' };

async function connect(): Promise<{ db: Database; stop: () => Promise<void>; engine: string }> {
  if (URI) {
    const connection = await mongoose.createConnection(URI).asPromise();
    await connection.dropDatabase();
    return { db: { uri: URI, engine: 'external', connection, close: () => connection.close() }, stop: async () => undefined, engine: `MongoDB at ${URI}` };
  }
  const dir = MEMORY ? undefined : mkdtempSync(join(tmpdir(), 'cert-bench-'));
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

/** Learners of six levels (5–10 of 10, +0..2 per item): about two thirds reach 80%, all reach 50%; 2% have an ungraded item. */
function scoreOf(u: number, i: number): number | null {
  if (u % 50 === 7 && i === ITEMS - 1) return null;
  return Math.min(10, 5 + (u % 6) + ((u + i) % 3));
}

async function seed(conn: Connection): Promise<Types.ObjectId> {
  const now = new Date();
  const course = await courseModel(conn).create({ issuer: 'https://lms.example', clientId: 'c', contextId: 'bench', title: 'Benchmark course', services: { agsScopes: [] }, settings: { autoReissue: false } });
  const courseId = course._id;
  const items = Array.from({ length: ITEMS }, (_, i) => ({ _id: new Types.ObjectId(), courseId, source: 'ags', externalId: `li-${i}`, label: `Activity ${i + 1}`, scoreMaximum: 10, fetchedAt: now, removedAt: null }));
  await lineItemModel(conn).collection.insertMany(items);
  const members = Array.from({ length: LEARNERS }, (_, u) => ({
    courseId,
    userId: `u${u}`,
    name: `Learner ${String(u).padStart(5, '0')}`,
    email: `u${u}@example.org`,
    roles: ['Learner'],
    isLearner: true,
    status: 'active',
    fetchedAt: now,
    leftAt: null,
  }));
  for (let s = 0; s < members.length; s += 1000) await memberModel(conn).collection.insertMany(members.slice(s, s + 1000));
  let batch: object[] = [];
  for (let u = 0; u < LEARNERS; u++) {
    for (let i = 0; i < ITEMS; i++) {
      batch.push({ courseId, lineItemId: items[i]!._id, userId: `u${u}`, scoreGiven: scoreOf(u, i), scoreMaximum: 10, source: 'ags', fetchedAt: now, changedAt: now, history: [] });
    }
    if (batch.length >= 5000) {
      await resultModel(conn).collection.insertMany(batch);
      batch = [];
    }
  }
  if (batch.length) await resultModel(conn).collection.insertMany(batch);
  await Promise.all([lineItemModel(conn).init(), memberModel(conn).init(), resultModel(conn).init(), issueModel(conn).init(), auditModel(conn).init(), definitionModel(conn).init()]);
  return courseId;
}

/** Wall time, and CPU time of this process (client and, for the offline engine, the database): on a busy machine the CPU time is the steadier figure. */
interface Sample {
  ms: number;
  cpuMs: number;
}

async function time<T>(fn: () => Promise<T> | T): Promise<Sample & { value: T }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, value };
}

function medianOf(samples: Sample[]): Sample {
  const mid = Math.floor(samples.length / 2);
  return { ms: samples.map((s) => s.ms).sort((a, b) => a - b)[mid]!, cpuMs: samples.map((s) => s.cpuMs).sort((a, b) => a - b)[mid]! };
}

async function median(fn: () => Promise<unknown> | unknown): Promise<Sample> {
  const samples: Sample[] = [];
  for (let r = 0; r < RUNS; r++) samples.push(await time(fn));
  return medianOf(samples);
}

async function main(): Promise<void> {
  setLogLevel('error');
  const { db, stop, engine } = await connect();
  const conn = db.connection;
  try {
    const seeded = await time(() => seed(conn));
    const courseId = seeded.value;
    console.log(`# ${LEARNERS} learners x ${ITEMS} items (${LEARNERS * ITEMS} results), ${engine}; seeded in ${(seeded.ms / 1000).toFixed(1)} s; median of ${RUNS}`);
    const now = new Date();
    const definitions = await Promise.all(
      // the first one decides with the guard on at 80% (a mix of reasons); the others at 50%
      // without the guard, so that every learner qualifies and each run issues 5,000
      Array.from({ length: RUNS + 1 }, (_, i) =>
        createDefinition(conn, {
          courseId,
          input: i === 0 ? { title: 'Pass', issuerName: 'Bench University' } : { title: `Participation ${i}`, issuerName: 'Bench University', thresholdPercent: 50, requireAllGraded: false },
          by: teacher,
          now,
          publicAllowed: false,
        }),
      ),
    );
    const def = definitions[0]!;

    const rows: Array<[string, Sample, number]> = [];
    const add = (label: string, sample: Sample, per = LEARNERS) => rows.push([label, sample, per]);

    add('read grades from the database alone (the limit)', await median(() => readCourseGrades(conn, courseId)));
    const book = await readCourseGrades(conn, courseId);
    add('evaluate 5,000 learners in memory (pure rules)', await median(() => {
      for (const userId of book.membersByUser.keys()) evaluateEligibility(def, learnerGrades(book, userId));
    }));
    add('evaluate the course: teacher overview, no certificates yet', await median(() => courseOverview(conn, courseId, def._id, now)));
    const plan = await dryRunGenerateAll(conn, courseId, def._id, now);
    add('dry run of generate all', await median(() => dryRunGenerateAll(conn, courseId, def._id, now)));

    // Each issuing run on its own definition, so every run issues the same number from scratch.
    const planMs = await median(() => dryRunGenerateAll(conn, courseId, definitions[1]!._id, now));
    const issueSamples: Sample[] = [];
    let issued = 0;
    for (let r = 0; r < RUNS; r++) {
      const d = definitions[r + 1]!;
      const run = await time(() => generateAll(conn, { courseId, definitionId: d._id, by: teacher, now: () => new Date(), random: randomBytes }));
      issueSamples.push(run);
      issued = run.value.issued;
    }
    const issue = medianOf(issueSamples);
    add(`generate all: plan + issue ${issued} certificates (no PDFs, with audit)`, issue, Math.max(1, issued));
    add(`of which issuing alone (generate all minus its dry run)`, { ms: issue.ms - planMs.ms, cpuMs: issue.cpuMs - planMs.cpuMs }, Math.max(1, issued));
    add('evaluate the course again, with certificates (stale check per learner)', await median(() => courseOverview(conn, courseId, definitions[1]!._id, now)));
    add('generate all again: nothing to issue (idempotent re-run)', await median(() => generateAll(conn, { courseId, definitionId: definitions[1]!._id, by: teacher, now: () => new Date(), random: randomBytes })));

    console.log(`\neligible: ${plan.counts.willIssue}, not eligible: ${plan.counts.notEligible}\n`);
    console.log('| step | wall | CPU | CPU per learner |');
    console.log('|---|---:|---:|---:|');
    for (const [label, s, per] of rows) console.log(`| ${label} | ${s.ms.toFixed(0)} ms | ${s.cpuMs.toFixed(0)} ms | ${((s.cpuMs * 1000) / per).toFixed(0)} µs |`);
  } finally {
    await db.close();
    await stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

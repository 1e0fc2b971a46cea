/**
 * Three instances of the tool (real processes) on one database behind a round-robin proxy, as a
 * university runs it behind a load balancer: a launch's login and its id_token land on different
 * instances, pages on a third; learners claim, the teacher generates all certificates and exports
 * them, and an instance is killed (SIGKILL) in the middle of each job. Every job must finish once,
 * on a surviving instance, with no certificate lost or duplicated and one audit entry each.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { auditModel } from '../../src/certificates/audit.model';
import { GENERATE_ALL_JOB } from '../../src/certificates/generate-all.job';
import { issueModel } from '../../src/certificates/issue.model';
import { courseModel } from '../../src/courses/course.model';
import type { OfflineEngine } from '../../src/db/offline/server';
import { EXPORT_PDF_JOB } from '../../src/documents/export.job';
import { jobModel, type JobDoc } from '../../src/jobs/job.model';
import { pdfInfo } from '../render/pdf-tools';
import { buildDefinition, seedCourse } from '../support/builders';
import { HttpBrowser, sessionOf } from '../support/browser';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy';
import { LTI, startAttackerPlatform, type AttackerPlatform } from '../security/support/attacker-platform';
import { connectTo, spawnTool, startEngine, tempDir, waitFor, type ToolProcess } from './support';

const LEARNERS = 600;
// four export batches (100 each, two printing at once): the instance printing it is killed after the first
// batch, while the others are still to print (with one batch, the job was done by then)
const EXPORTED = 400;
const CLIENT_ID = 'multi-instance-client';

describe('three instances behind a load balancer, one killed during each job', function () {
  this.timeout(180_000);
  let engine: OfflineEngine | undefined;
  let conn: Connection | undefined;
  let proxy: RoundRobinProxy | undefined;
  let platform: AttackerPlatform | undefined;
  const tools: ToolProcess[] = [];

  after(async () => {
    await Promise.all(tools.map((t) => t.kill()));
    await proxy?.close();
    await platform?.close();
    await conn?.close();
    await engine?.stop();
  });

  it('spreads launches, claims, generate-all and export over the instances, and finishes each job exactly once', async () => {
    engine = await startEngine(tempDir('multi-db'));
    conn = await connectTo(engine, 'multi');
    await issueModel(conn).createIndexes();
    proxy = await startRoundRobinProxy();
    // The LMS: a platform of the test's own (own keys), registered by a platform file every instance reads.
    platform = await startAttackerPlatform();
    const course = await seedCourse(conn, { scores: Array.from({ length: LEARNERS }, () => [9]) });
    await courseModel(conn).updateOne({ _id: course.courseId }, { $set: { issuer: platform.issuer, clientId: CLIENT_ID, contextId: 'ctx-multi' } });
    const definition = await buildDefinition(conn, course.courseId);

    const shared = tempDir('multi-config');
    writeFileSync(
      join(shared, 'lms.json'),
      JSON.stringify({ name: 'Multi LMS', issuer: platform.issuer, clientId: CLIENT_ID, authUrl: platform.authUrl, tokenUrl: platform.tokenUrl, jwksUrl: platform.jwksUrl(), deploymentIds: ['attacker-deployment'] }),
    );
    const env = {
      MONGODB_URI: `mongodb://127.0.0.1:${engine.port}/multi`,
      SANDBOX: 'false',
      PUBLIC_URL: proxy.url,
      PLATFORM_CONFIG_DIR: shared,
      // every instance must decrypt the same tool keys
      LTI_KEY: 'multi-instance-lti-key-0123456789abcdef',
      TRUST_PROXY: 'loopback',
      // a killed instance's job is taken over after 2 s instead of a minute
      JOB_LEASE_MS: '2000',
      LOG_LEVEL: 'warn',
    };
    // started together, as an orchestrator does: their boots race on the same registrations
    tools.push(...(await Promise.all([spawnTool({ ...env, LOG_LEVEL: 'info' }), spawnTool({ ...env, LOG_LEVEL: 'info' }), spawnTool({ ...env, LOG_LEVEL: 'info' })])));
    proxy.setBackends(tools.map((t) => t.url));
    const tool = { loginUrl: `${proxy.url}/lti/login`, launchUrl: `${proxy.url}/lti/launch` };
    const logs = () => tools.map((t, i) => `--- instance ${i} ---\n${t.output().slice(-3000)}`).join('\n');

    // --- launches and claims: login, id_token and pages on different instances
    const learnerLaunch = async (u: number) => {
      const browser = new HttpBrowser();
      const page = await platform!.launch(tool, {
        clientId: CLIENT_ID,
        claims: { sub: course.userIds[u], name: `Learner ${u + 1}`, [LTI.roles]: [LTI.learner], [LTI.context]: { id: 'ctx-multi', title: 'Middle-earth Studies' } },
      }, browser);
      expect(page.status, page.html.slice(0, 500)).to.equal(200);
      return { browser, app: `${proxy!.url}/app/${sessionOf(page.url)}` };
    };
    const claimed: string[] = [];
    for (let u = 0; u < 6; u++) {
      const l = await learnerLaunch(u);
      // a double click answered by two instances at once: one certificate
      const [a, b] = await Promise.all([0, 1].map(() => l.browser.request(`${l.app}/learner/claim`, { form: { definitionId: String(definition._id) } })));
      expect([a!.status, b!.status], logs()).to.deep.equal([303, 303]);
      expect(a!.headers.get('location')).to.equal(b!.headers.get('location'));
      expect(a!.headers.get('x-backend')).to.not.equal(b!.headers.get('x-backend'));
      claimed.push(course.userIds[u]!);
    }
    expect(await issueModel(conn).countDocuments({ courseId: course.courseId })).to.equal(6);
    expect([...proxy.served.values()].every((n) => n > 5), `every instance served requests: ${JSON.stringify([...proxy.served])}`).to.equal(true);

    const teacherBrowser = new HttpBrowser();
    const teacherPage = await platform.launch(tool, { clientId: CLIENT_ID, claims: { sub: 'teacher-1', name: 'Gandalf Grey', [LTI.context]: { id: 'ctx-multi', title: 'Middle-earth Studies' } } }, teacherBrowser);
    expect(teacherPage.status, teacherPage.html.slice(0, 500)).to.equal(200);
    const teacherApp = `${proxy.url}/app/${sessionOf(teacherPage.url)}`;

    // --- generate all; the instance running it is killed after the first certificates
    const started = await teacherBrowser.request(`${teacherApp}/teacher/definitions/${definition._id}/generate`, { method: 'POST' });
    expect(started.status, await started.clone().text()).to.equal(303);
    const genJob = () => jobModel(conn!).findOne({ courseId: course.courseId, kind: GENERATE_ALL_JOB }).lean<JobDoc>();
    const midway = await waitFor(async () => (await issueModel(conn!).countDocuments({ courseId: course.courseId })) > 20, 30_000, 10);
    expect(midway, logs()).to.equal(true);
    const victim = await killClaimer(tools, (await genJob())!);
    expect(await issueModel(conn).countDocuments({ courseId: course.courseId })).to.be.below(LEARNERS);
    const generated = await waitFor(async () => (await genJob())?.status === 'succeeded', 30_000, 100);
    const gen = (await genJob())!;
    expect(generated, `${JSON.stringify(gen)}\n${logs()}`).to.equal(true);
    expect(gen.attempts, 'claimed once more, by a surviving instance').to.equal(2);
    expect(gen.claimedBy).to.not.equal(victim);

    const certificates = await issueModel(conn).find({ courseId: course.courseId }, { userId: 1 }).lean();
    expect(certificates).to.have.length(LEARNERS);
    expect(new Set(certificates.map((c) => c.userId)).size, 'no learner has two certificates').to.equal(LEARNERS);
    const entries = await auditModel(conn).find({ courseId: course.courseId, action: 'certificate_issued' }, { issueId: 1 }).lean();
    expect(entries, 'one "issued" audit entry per certificate').to.have.length(LEARNERS);
    expect(new Set(entries.map((e) => String(e.issueId)))).to.deep.equal(new Set(certificates.map((c) => String(c._id))));

    // --- export through the proxy; the instance printing it is killed once pages are done
    const exportIds = course.userIds.slice(0, EXPORTED);
    const start = await teacherBrowser.request(`${teacherApp}/teacher/exports`, {
      json: { format: 'pdf', definitionId: String(definition._id), userIds: exportIds },
      headers: { accept: 'application/json' },
    });
    expect(start.status, await start.clone().text()).to.equal(202);
    const { job } = (await start.json()) as { job: { id: string } };
    const exportJob = () => jobModel(conn!).findById(job.id).lean<JobDoc>();
    const printing = await waitFor(async () => ((await exportJob())?.progress.done ?? 0) > 0, 30_000, 20);
    expect(printing, logs()).to.equal(true);
    const exportVictim = await killClaimer(tools, (await exportJob())!, { printing: true });
    expect((await exportJob())?.status).to.equal('running');
    const exported = await waitFor(async () => ['succeeded', 'failed'].includes((await exportJob())?.status ?? ''), 90_000, 100);
    const ex = (await exportJob())!;
    expect(exported && ex.status, `${JSON.stringify(ex)}\n${logs()}`).to.equal('succeeded');
    expect(ex.attempts).to.equal(2);
    expect(ex.claimedBy).to.not.equal(exportVictim);
    const download = await teacherBrowser.request(`${teacherApp}/teacher/exports/${job.id}/download`);
    expect(download.status).to.equal(200);
    expect(pdfInfo(Buffer.from(await download.arrayBuffer())).pages, 'one page per exported certificate').to.equal(EXPORTED);

    // nothing else ran twice, and the certificates did not move
    const jobs = await jobModel(conn).find({ courseId: course.courseId }).lean<JobDoc[]>();
    expect(jobs.map((j) => [j.kind, j.status]).sort()).to.deep.equal([[EXPORT_PDF_JOB, 'succeeded'], [GENERATE_ALL_JOB, 'succeeded']].sort());
    expect(await issueModel(conn).countDocuments({ courseId: course.courseId })).to.equal(LEARNERS);
    expect(claimed.length).to.equal(6);
  });
});

/**
 * SIGKILLs the instance whose pid claimed `job` (claimedBy = host:pid); returns that claimedBy.
 * `printing`: the instance is printing PDFs, so it has a browser, which must end with it.
 */
async function killClaimer(tools: ToolProcess[], job: JobDoc, o: { printing?: boolean } = {}): Promise<string> {
  const pid = Number(String(job.claimedBy).split(':').pop());
  const victim = tools.find((t) => t.child.pid === pid);
  expect(victim, `the job was claimed by ${job.claimedBy}, one of the instances`).to.not.equal(undefined);
  const browsers = browsersOf(pid);
  if (o.printing) expect(browsers, 'the instance printing has a browser of its own').to.not.deep.equal([]);
  victim!.child.kill('SIGKILL');
  await victim!.exited;
  // Killed mid-print, the instance must not leave its browser running (and holding its memory).
  const gone = await waitFor(async () => browsers.every((b) => !existsSync(`/proc/${b}`)), 10_000, 100);
  expect(gone, `Chromium ${browsers.filter((b) => existsSync(`/proc/${b}`)).join(', ')} of the killed instance is still running`).to.equal(true);
  return String(job.claimedBy);
}

/** Pids of the Chromium browsers (not their helpers) that process `pid` started. */
function browsersOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('chromium');
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/**
 * createApp(deps): the whole tool as an express app, without listening (tests and main.ts call it).
 * Order matters: health checks first (load balancers), the sandbox LMS (its own pages, outside our
 * CSP), static assets, dynamic registration and ltijs (login, launch, keyset — before our body
 * parsers, since ltijs parses its own), the tool's pages under /app/<session>/, verification, the
 * admin page, and last the error handler.
 */
import { join } from 'node:path';
import express, { type Express } from 'express';
import type { Config } from './config';
import { ltijsConnection, pingDatabase, type Database } from './db/connect';
import { createTranslator, pickLanguage } from './i18n';
import { NotFoundError } from './errors';
import { repairIssueAudit } from './certificates/audit-repair';
import { registerGenerateAllJob } from './certificates/generate-all.job';
import { runAfterSync } from './certificates/stale.service';
import { registerExportJobs } from './documents';
import { registerSyncJob } from './grades/sync.job';
import { chamiloSourceFactory, type ChamiloSoapConfig } from './grades/sources/chamilo.source';
import { courseModel } from './courses/course.model';
import { memberModel } from './grades/member.model';
import { configureRunRetention } from './grades/sync-run.model';
import { configureAuditDetailRetention } from './certificates/audit.model';
import { createJobQueue } from './jobs';
import { createMoodleHttp } from './grades/moodle/moodle-http';
import { moodleSourceFactory } from './grades/sources/moodle.factory';
import { canvasSourceFactory, createCanvasHttp } from './grades/sources/canvas.factory';
import { CANVAS_SCOPE_LIST, canvasRedirectUri } from './grades/canvas/canvas-oauth.service';
import { canvasCallbackRouter, canvasSourceRouter } from './web/teacher/canvas-source.routes';
import { createAdvantageClient } from './lti/advantage';
import { createPdfRenderer } from './render/pdf-renderer';
import { fontsRouter } from './web/fonts.routes';
import type { WebContext } from './web/context';
import { createLogger } from './logger';
import { migrateCourseIdentity } from './courses/course.model';
import { guardedServiceAccess } from './lti/service-guard';
import { deploymentModel } from './lti/deployment.model';
import type { ToolUrls } from './lti/dynamic-registration';
import { loadPlatformFiles } from './lti/platform-config';
import { createLtiProvider, LTI_BASE, LTI_ROUTES, type LtiProvider } from './lti/provider';
import { createSandbox, type Sandbox } from './sandbox/sandbox';
import { startSandboxMailbox, type SandboxMailbox } from './sandbox/mailbox';
import { awardReminders, createMailService, createSmtpTransport, describeSmtpUrl, mailAwardsIssued, type MailService } from './mail';
import { proofsRouter } from './web/proofs.routes';
import { adminRouter } from './web/admin.routes';
import { afterCourseGrades, registerCertificationHooks } from './certifications/award-hooks';
import { adminCertificationsRouter } from './web/certifications/admin-certifications.routes';
import { certificationsRouter } from './web/certifications/certifications.routes';
import { awardVerifyRouter } from './web/certifications/award-verify.routes';
import { CERTIFICATE_PDF_PATH, certificatePdfDownload, certificateRouter } from './web/certificate.routes';
import { exportRouter } from './web/export.routes';
import { gradesRouter } from './web/grades.routes';
import { moodleSourceRouter } from './web/teacher/moodle-source.routes';
import { columnsRouter } from './web/teacher/columns.routes';
import { jobsRouter } from './web/jobs.routes';
import { learnerRouter } from './web/learner.routes';
import { teacherRouter } from './web/teacher.routes';
import { templateRouter } from './web/template.routes';
import { verifyRouter } from './web/verify.routes';
import { credentialsPublicRouter } from './web/verify-credentials.routes';
import { credentialDownloadsRouter } from './web/credential-downloads.routes';
import { verifyCredentialRouter } from './web/verify-credential.routes';
import { learnerDataRouter } from './web/privacy.routes';
import { backfillPublicAtIssue } from './privacy/visibility-migration';
import { toolRouter } from './web/tool.routes';
import { errorHandler } from './web/middleware/error-handler';
import { adminLoginGuard } from './web/middleware/login-guard';
import { sameOriginWrites } from './web/middleware/same-origin';
import { securityHeaders } from './web/middleware/security-headers';
import { deepLinkingRouter, handleVerifiedLaunch, renderLaunchFailure } from './web/lti.routes';
import { dynamicRegistrationRouter } from './web/registration.routes';
import { createViews } from './web/views';
import { systemRuntime, type Clock, type RandomBytes } from './runtime';

const log = createLogger('app');

export interface AppDeps {
  config: Config;
  db: Database;
  /** The clock and randomness every service gets (tests fix them); the system's by default. */
  now?: Clock;
  random?: RandomBytes;
}

export interface App {
  express: Express;
  lti: LtiProvider;
  toolUrls: ToolUrls & { dynamicRegistrationUrl: string };
  /** The sandbox LMS, when enabled (never in production). */
  sandbox?: Sandbox;
  /** The shared services (jobs, renderer, …), for tests that drive them directly. */
  ctx: WebContext;
  /** E-mail: the outbox's delivery job and reminder scan (src/mail). */
  mail: MailService;
  /** The sandbox's mailbox (mail goes there when the sandbox is on and SMTP_URL is unset). */
  mailbox?: SandboxMailbox;
  /**
   * Stops the job queue, handing running jobs back to the queue (the next start re-runs them).
   * main.ts calls it as soon as a shutdown begins, while in-flight requests finish.
   */
  stopJobs(): Promise<void>;
  /** Stops background work (stopJobs), then the renderer and ltijs; the caller closes the database. */
  close(): Promise<void>;
}

export function toolUrlsFor(publicUrl: string): App['toolUrls'] {
  return {
    baseUrl: publicUrl,
    loginUrl: `${publicUrl}${LTI_BASE}${LTI_ROUTES.login}`,
    launchUrl: `${publicUrl}${LTI_BASE}${LTI_ROUTES.launch}`,
    keysetUrl: `${publicUrl}${LTI_BASE}${LTI_ROUTES.keyset}`,
    dynamicRegistrationUrl: `${publicUrl}${LTI_BASE}${LTI_ROUTES.dynamicRegistration}`,
  };
}

export async function createApp(deps: AppDeps): Promise<App> {
  const { config, db } = deps;
  const { now, random } = systemRuntime({ now: deps.now, random: deps.random });
  const conn = db.connection;
  const views = createViews();
  const toolUrls = toolUrlsFor(config.publicUrl);
  const ltiDeps = { conn, views, now, unknownDeployment: config.unknownDeployment };

  await migrateCourseIdentity(conn);
  configureRunRetention(config.runLogRetentionDays);
  configureAuditDetailRetention(config.auditDetailRetentionDays);
  const lti = await createLtiProvider({
    config,
    dbUri: db.uri,
    conn,
    now,
    onLaunch: handleVerifiedLaunch(ltiDeps),
    onFailure: (failure, req, res) => renderLaunchFailure(views, failure, req, res),
    renderPage: (page, data) => views.render(page, { title: '', ...data }),
    loginRateLimit: { windowMs: 60_000, limit: config.loginRateLimit },
  });

  const registerDeployments = async (issuer: string, clientId: string, ids: string[], source: 'config' | 'dynamic-registration') => {
    for (const deploymentId of ids) {
      await deploymentModel(conn).updateOne(
        { issuer, clientId, deploymentId },
        { $setOnInsert: { source, status: 'accepted', firstSeenAt: now() } },
        { upsert: true },
      );
    }
  };
  const chamiloConfigs = new Map<string, ChamiloSoapConfig>();
  for (const p of loadPlatformFiles(config.platformConfigDir)) {
    if (p.chamiloGradebook) chamiloConfigs.set(`${p.issuer} ${p.clientId}`, { baseUrl: p.issuer, ...p.chamiloGradebook });
    await lti.registerPlatform(p, { active: p.active });
    await registerDeployments(p.issuer, p.clientId, p.deploymentIds, 'config');
    log.info(`platform ${p.name} (${p.issuer}, client ${p.clientId}) registered from ${p.file}`);
  }

  let sandbox: App['sandbox'];
  if (config.sandbox) {
    sandbox = await createSandbox({
      baseUrl: `${config.publicUrl}/sandbox`,
      tool: {
        name: 'Certificates',
        loginUrl: toolUrls.loginUrl,
        launchUrl: toolUrls.launchUrl,
        keysetUrl: toolUrls.keysetUrl,
        dynamicRegistrationUrl: toolUrls.dynamicRegistrationUrl,
        deepLinkingUrl: toolUrls.launchUrl,
        canvasRedirectUri: canvasRedirectUri(config.publicUrl),
      },
      // Canvas mode: an API developer key for the tool, with exactly the scopes it asks for.
      canvasApiScopes: CANVAS_SCOPE_LIST,
      now,
    });
    const r = sandbox.registration;
    await lti.registerPlatform(
      { issuer: r.issuer, clientId: r.clientId, name: 'Sandbox LMS', authUrl: r.authUrl, tokenUrl: r.tokenUrl, jwksUrl: r.jwksUrl },
      { active: true },
    );
    await registerDeployments(r.issuer, r.clientId, r.deploymentIds, 'config');
  }

  // Mail: SMTP_URL when set; else, in development with the sandbox on, the sandbox's own mailbox
  // (production has no sandbox, so it never sends there); else none, and /admin says so.
  // (The mailbox page exists whenever the sandbox does; with SMTP_URL set it says mail goes there.)
  const mailbox = sandbox && config.env !== 'production' ? await startSandboxMailbox() : undefined;
  const smtpUrl = config.mail.smtpUrl ?? mailbox?.server.url;
  const smtp = smtpUrl ? createSmtpTransport(smtpUrl) : null;
  const mail = createMailService({
    conn,
    now,
    transport: smtp,
    destination: config.mail.smtpUrl ? describeSmtpUrl(config.mail.smtpUrl) : mailbox ? 'the sandbox mailbox (/sandbox/mailbox)' : null,
    from: config.mail.from,
    publicUrl: config.publicUrl,
    reminderDays: config.mail.reminderDays,
    // course certificates are always scanned; certifications' awards too
    reminderSources: [awardReminders],
  });
  if (!smtp) log.info('e-mail is off: set SMTP_URL to send mail');

  const jobs = createJobQueue({ conn, now, logger: createLogger('jobs'), leaseMs: config.jobLeaseMs, concurrency: config.jobConcurrency });
  // The browser is looked up on each render (pdf-renderer.ts browserStatus): one installed later is used.
  const renderer = createPdfRenderer({ executablePath: config.chromiumPath, logger: createLogger('render'), maxConcurrentPages: config.renderConcurrency });
  {
    const pdfBrowser = renderer.browserStatus();
    if (pdfBrowser.ok) createLogger('render').info(`PDFs are printed with ${pdfBrowser.path} (${pdfBrowser.source})`);
    else createLogger('render').error(pdfBrowser.problem!);
  }
  const advantageFor: WebContext['advantageFor'] = (course) =>
    createAdvantageClient({
      // Only the registration's own hosts, never link-local or metadata addresses (service-guard.ts).
      ...guardedServiceAccess(lti, course.issuer, course.clientId),
      userAgent: 'lti-certificates/0.1 (+https://github.com/lti-certificates)',
      // Canvas pages AGS by 10 unless asked (50 is its maximum); Moodle must never get a limit.
      agsPageSize: course.platformFamily === 'canvas' ? 50 : undefined,
      platformFamily: course.platformFamily,
      logger: createLogger('lti:advantage'),
    });
  const moodleHttp = createMoodleHttp({ logger: createLogger('grades:moodle') });
  // Grade sources besides AGS: Moodle web services, for courses whose teacher turned them on;
  // Chamilo's SOAP gradebook service (course totals) for platforms whose file has `chamiloGradebook`,
  // and for the sandbox's courses in Chamilo mode.
  const chamiloSource = chamiloSourceFactory({
    configFor: (course) => {
      if (sandbox && course.issuer === sandbox.issuer && course.platformFamily === 'chamilo') {
        return { baseUrl: sandbox.issuer, securityKey: sandbox.chamiloSoap.securityKey, callerIp: '127.0.0.1' };
      }
      return chamiloConfigs.get(`${course.issuer} ${course.clientId}`);
    },
    courseCode: async (courseId) => (await courseModel(conn).findById(courseId, { label: 1 }).lean())?.label ?? undefined,
    learners: async (courseId) =>
      (await memberModel(conn).find({ courseId, isLearner: true, status: { $ne: 'left' } }, { userId: 1, email: 1 }).lean()).map((m) => ({ userId: m.userId, email: m.email })),
  });
  // Canvas REST, for courses whose teacher authorised the tool in Canvas (issue #17).
  const canvasHttp = createCanvasHttp({ logger: createLogger('grades:canvas') });
  const sourceFactories = [moodleSourceFactory({ conn, ltiKey: config.ltiKey, http: moodleHttp, now }), chamiloSource, canvasSourceFactory({ conn, ltiKey: config.ltiKey, http: canvasHttp, now })];
  const ctx: WebContext = { config, conn, views, now, random, jobs, renderer, advantageFor, sourceFactories };
  // Certifications (programmes of courses) re-evaluate when a course certificate is issued or revoked.
  registerCertificationHooks(conn, { now, random });
  mailAwardsIssued(conn, now);
  // After each course sync: flag stale certificates, and re-issue them when the course asks for it (R5);
  // then the certifications whose programme has the course (Moodle's course completion arrives as a grade).
  registerSyncJob(jobs, {
    conn,
    now,
    advantageFor,
    sourceFactories,
    afterSync: async (courseId) => {
      await runAfterSync(conn, { courseId, now, random });
      await afterCourseGrades(conn, courseId, { now, random });
    },
  });
  registerGenerateAllJob(jobs, { conn, now, random });
  const exportJobs = registerExportJobs(jobs, { conn, now, renderer, publicUrl: config.publicUrl });
  jobs.start();
  mail.start();
  // certificates a crash left without their audit entry get it now (audit-repair.ts)
  void repairIssueAudit(conn).then(
    (n) => n > 0 && log.warn(`wrote ${n} missing "issued" audit entries (the process had stopped between a certificate and its entry)`),
    (err) => log.error('repairing the audit trail failed', err),
  );
  // certificates from before visibility was recorded at issue time get it once (src/privacy)
  void backfillPublicAtIssue(conn).catch((err) => log.error('recording certificate visibility failed', err));
  const pdfDeps = { conn, renderer, publicUrl: config.publicUrl, now };

  const app = express();
  app.disable('x-powered-by');
  // TRUST_PROXY (default: nobody): a client on the LAN must not choose its own address
  app.set('trust proxy', config.trustProxy);
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    // both connections: ours, and ltijs's (which it reopens on its own after an outage)
    const ok = await pingDatabase(db, [ltijsConnection()]);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unreachable', engine: db.engine });
  });
  // The sandbox LMS is another "site" in the same process: it has its own pages and scripts.
  if (mailbox) app.use('/sandbox/mailbox', mailbox.router);
  if (sandbox) app.use('/sandbox', sandbox.router);
  app.use(securityHeaders({ publicUrl: config.publicUrl }));
  // A stored certificate PDF needs its session and permission only: ahead of assets, ltijs, body parsers (#13).
  app.get(CERTIFICATE_PDF_PATH, ...certificatePdfDownload(ctx));
  app.use('/assets', express.static(join(__dirname, 'web', 'public'), { maxAge: '1h', index: false }));
  app.use(fontsRouter()); // /assets/fonts.css and its font files (src/web/fonts.routes.ts)

  app.use(
    dynamicRegistrationRouter({ ...ltiDeps, lti, tool: toolUrls, autoActivate: config.dynregAutoActivate, rateLimit: { windowMs: 10 * 60_000, limit: config.dynregRateLimit } }),
  );
  // ltijs parses its own request bodies (Express 4 body-parser); ours come after it.
  app.use(LTI_BASE, lti.handler);
  app.use(express.urlencoded({ extended: false, limit: '100kb' }));
  app.use(express.json({ limit: '100kb' }));
  // CSRF: writes under /app and /admin only from the tool's own origin; admin sign-in rate limited
  app.use(sameOriginWrites(config.publicUrl));
  app.use(adminLoginGuard({ conn }));
  app.use(
    '/app/:session',
    toolRouter({
      conn,
      views,
      now,
      learner: learnerRouter(ctx),
      teacher: teacherRouter(ctx),
      extra: [
        deepLinkingRouter({ ...ltiDeps, lti, launchUrl: toolUrls.launchUrl }),
        jobsRouter(ctx),
        // before certificateRouter: its /certificates/:id would otherwise take …/:id/badge.png
        credentialDownloadsRouter(ctx),
        certificateRouter(ctx),
        templateRouter(ctx),
        exportRouter(ctx),
        // After an import: the same stale check and automatic re-issue as after a sync.
        gradesRouter(ctx, {
          afterImport: async (courseId) => {
            const r = await runAfterSync(conn, { courseId, now, random });
            await afterCourseGrades(conn, courseId, { now, random });
            return r;
          },
        }),
        // external certifications' proofs (before certificationsRouter, which owns /certifications/:id)
        proofsRouter(ctx),
        certificationsRouter(ctx),
        moodleSourceRouter(ctx),
        canvasSourceRouter(ctx, { http: canvasHttp }),
        columnsRouter(ctx),
        learnerDataRouter(pdfDeps),
      ],
    }),
  );
  // before the code pages: /verify/credential is the verifier page, not a code
  app.use(verifyCredentialRouter(ctx));
  // an awarded certification's code, else on to the course certificates' verification page
  app.use(awardVerifyRouter(ctx));
  app.use(canvasCallbackRouter(ctx, { http: canvasHttp }));
  app.use(verifyRouter(ctx));
  app.use(credentialsPublicRouter(ctx));
  app.use(
    adminRouter({
      conn,
      lti,
      views,
      now,
      adminSecret: config.adminSecret,
      secureCookies: config.secureCookies,
      publicUrl: config.publicUrl,
      tool: toolUrls,
      settings: {
        unknownDeployment: config.unknownDeployment,
        dynregAutoActivate: config.dynregAutoActivate,
        publicCertificates: config.publicCertificates,
      },
      moodle: { ltiKey: config.ltiKey, http: moodleHttp },
      mail,
      mount: [(requireAdmin) => adminCertificationsRouter(ctx, lti, requireAdmin)],
      canvas: { ltiKey: config.ltiKey, http: canvasHttp },
      pdfBrowser: () => ctx.renderer.browserStatus(),
      pdfs: pdfDeps,
    }),
  );
  app.get('/', (req, res) => {
    const lang = req.get('accept-language');
    res.type('html').send(views.render('home', { title: createTranslator(pickLanguage(lang))('app.home.title'), lang, tool: toolUrls, sandbox: Boolean(sandbox) }));
  });
  app.use((req, _res, next) => {
    next(new NotFoundError(`Nothing here: ${req.method} ${req.path}`));
  });
  app.use(errorHandler(views));

  let jobsStopped: Promise<void> | undefined;
  const stopJobs = () =>
    (jobsStopped ??= (async () => {
      exportJobs.stop();
      await Promise.all([jobs.stop(), mail.stop()]);
    })());

  return {
    express: app,
    lti,
    toolUrls,
    sandbox,
    ctx,
    mail,
    mailbox,
    stopJobs,
    async close() {
      await stopJobs();
      smtp?.close();
      await mailbox?.close();
      // Chromium only after the queue: a job still printing must be handed back, not failed
      await renderer.close();
      await lti.close();
    },
  };
}

/**
 * Every setting of the tool, read from the environment once at start and validated.
 * Nothing else in the code reads `process.env`: services receive the parts of `Config` they need.
 * A bad setting stops the start with one line that names it and says how to fix it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

/** The raw environment schema. Each key is documented in README.md, "Configuration". */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url().optional(),
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  PLATFORM_CONFIG_DIR: z.string().min(1).default('./platform-config'),
  EMBEDDED_DB: z.enum(['auto', 'mongod', 'offline']).default('auto'),
  LTI_KEY: z.string().min(32, 'must be at least 32 characters (try: openssl rand -hex 32)').optional(),
  ADMIN_SECRET: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 16)').optional(),
  DYNREG_AUTO_ACTIVATE: bool(false),
  DYNREG_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(10),
  LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  UNKNOWN_DEPLOYMENT: z.enum(['accept', 'refuse']).default('accept'),
  PUBLIC_CERTIFICATES: bool(false),
  SANDBOX: bool(true),
  CHROMIUM_PATH: z.string().optional(),
  PUPPETEER_EXECUTABLE_PATH: z.string().optional(),
  UPLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(5 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  DB_RECONNECT_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  TRUST_PROXY: z.string().optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // e-mail (src/mail)
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://, e.g. smtp://user:password@mail.example.edu:587').optional(),
  MAIL_FROM: z.string().min(3).optional(),
  MAIL_REMINDER_DAYS: z
    .string()
    .regex(/^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/, 'must be a comma list of days before expiry, e.g. 30,7,0')
    .default('30,7,0'),
  // --- ops2 (#14): several instances, retention ---
  JOB_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  RENDER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(3),
  RUN_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  AUDIT_DETAIL_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(730),
  // --- launch (#13) ---
  LEARNER_REFRESH_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** External base URL of the tool, without trailing slash; every LTI URL is built from it. */
  publicUrl: string;
  /** Whether cookies can be `SameSite=None; Secure` (the tool is served over https). */
  secureCookies: boolean;
  mongodbUri?: string;
  dataDir: string;
  /** Folder of static platform registrations, one JSON file per platform. */
  platformConfigDir: string;
  embeddedDb: 'auto' | 'mongod' | 'offline';
  /** ltijs encrypts platform private keys with this. */
  ltiKey: string;
  adminSecret: string;
  dynregAutoActivate: boolean;
  /** Dynamic registration attempts allowed per client address in 10 minutes. */
  dynregRateLimit: number;
  /**
   * LTI logins (`/lti/login`) allowed per client address in a minute. A whole campus can reach the
   * tool from one NAT address, so the default (20 a second) is sized for a lecture hall launching at once.
   */
  loginRateLimit: number;
  unknownDeployment: 'accept' | 'refuse';
  /** The administrator's switch: may certificates be visible without a launch at all? */
  publicCertificates: boolean;
  /** The built-in sandbox LMS; always off in production. */
  sandbox: boolean;
  chromiumPath?: string;
  uploadMaxBytes: number;
  shutdownTimeoutMs: number;
  /**
   * How long the database may stay unreachable before the process exits with status 1 so that
   * its orchestrator restarts it (0: wait forever). The driver reconnects by itself meanwhile.
   */
  dbReconnectTimeoutMs: number;
  /**
   * express's `trust proxy`: which hops may say who the client is in X-Forwarded-For. `false`
   * (default): nobody, the client is the TCP peer; a number: that many proxies in front;
   * else a list of addresses, CIDR ranges or `loopback`/`linklocal`/`uniquelocal`. Rate limits
   * (verify, login, admin sign-in) count per client, so trusting a LAN range would let anyone on
   * it rotate the header past them.
   */
  trustProxy: false | number | string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** E-mail (src/mail). */
  mail: {
    /**
     * The SMTP server mail goes through (`smtp://user:pass@host:587`, `smtps://…:465`). Unset: no
     * mail is sent (events still wait in the outbox until their deadline) — except that with the
     * sandbox on, mail goes to the sandbox's own mailbox (/sandbox/mailbox), never in production.
     */
    smtpUrl?: string;
    /** The sender, e.g. `Certificates <certificates@example.edu>`. */
    from: string;
    /** Reminders are sent this many days before a certificate expires (0 = on the day it expires), largest first. */
    reminderDays: number[];
  };
  // --- ops2 (#14) ---
  /** A background job's lease: an instance that dies hands its job to another one after this. */
  jobLeaseMs: number;
  /** Background jobs one instance runs at once. */
  jobConcurrency: number;
  /** Chromium pages one instance prints at once (each instance has its own Chromium). */
  renderConcurrency: number;
  /** Course sync and CSV import run logs are kept this many days (TTL). */
  runLogRetentionDays: number;
  /** Days the personal part of an audit entry (names, reasons) is kept (audit_details TTL). */
  auditDetailRetentionDays: number;
  // --- launch (#13) ---
  /**
   * A learner's page asks the LMS for their grades at most once in this time (per instance): a
   * page opened again sooner shows the grades of that refresh and says how old they are (0: every
   * page view refreshes, in the background when the last refresh is under 10 minutes old).
   */
  learnerRefreshIntervalMs: number;
}

/** Thrown for a bad setting; main.ts prints its message as one line and exits. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Outside production a missing secret is generated once and kept in DATA_DIR, so that
 * `npm start` works with no configuration and a restart can still decrypt stored keys.
 */
function persistedSecret(dataDir: string, file: string): string {
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, secret + '\n', { mode: 0o600 });
  return secret;
}

const FIXES: Record<string, string> = {
  PORT: 'set it to a number between 0 and 65535, e.g. PORT=3000',
  PUBLIC_URL: 'set it to the URL the LMS reaches the tool at, e.g. PUBLIC_URL=https://certificates.example.edu',
  MONGODB_URI: 'e.g. MONGODB_URI=mongodb://db.example.edu:27017/lti-certificates, or unset it for the embedded database',
};

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY: unset/''/none/false → false; a hop count; or a comma list of names, IPs and CIDRs. */
function parseTrustProxy(raw: string | undefined): false | number | string {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'none' || v === 'false' || v === '0') return false;
  if (/^\d+$/.test(v)) return Number(v);
  const entries = v.split(',').map((x) => x.trim()).filter(Boolean);
  for (const entry of entries) {
    const [addr, bits, extra] = entry.split('/');
    const ok = PROXY_NAMES.has(entry) || (isIP(addr ?? '') !== 0 && extra === undefined && (bits === undefined || /^\d{1,3}$/.test(bits)));
    if (!ok) {
      throw new ConfigError(
        `Invalid setting TRUST_PROXY=${JSON.stringify(raw)}: "${entry}" is not a hop count, an IP address, a CIDR range or loopback/linklocal/uniquelocal; e.g. TRUST_PROXY=1 behind one reverse proxy, TRUST_PROXY=loopback for one on this host`,
      );
    }
  }
  return entries.join(', ');
}

/** Parses and validates `env` (default: process.env). Throws ConfigError naming the setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    const fix = FIXES[key] ? `; ${FIXES[key]}` : '';
    // SMTP_URL may hold a password: name the setting, never echo it
    const shown = key === 'SMTP_URL' ? '"…"' : JSON.stringify(env[key] ?? '');
    throw new ConfigError(`Invalid setting ${key}=${shown}: ${issue.message}${fix}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  const dataDir = resolve(e.DATA_DIR);
  if (production && !e.LTI_KEY) {
    throw new ConfigError('Missing setting LTI_KEY: production needs a fixed key of at least 32 characters (try: openssl rand -hex 32)');
  }
  if (production && !e.ADMIN_SECRET) {
    throw new ConfigError('Missing setting ADMIN_SECRET: production needs it to protect the admin page (try: openssl rand -hex 16)');
  }
  if (production && !e.PUBLIC_URL) {
    throw new ConfigError('Missing setting PUBLIC_URL: production needs the https URL the LMS reaches the tool at');
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  if (production && !publicUrl.startsWith('https://')) {
    throw new ConfigError(`Invalid setting PUBLIC_URL=${publicUrl}: production needs https (LMS iframes need Secure cookies)`);
  }
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    secureCookies: publicUrl.startsWith('https://'),
    mongodbUri: e.MONGODB_URI,
    dataDir,
    platformConfigDir: resolve(e.PLATFORM_CONFIG_DIR),
    embeddedDb: e.EMBEDDED_DB,
    ltiKey: e.LTI_KEY ?? persistedSecret(dataDir, 'lti-key'),
    adminSecret: e.ADMIN_SECRET ?? persistedSecret(dataDir, 'admin-secret'),
    dynregAutoActivate: e.DYNREG_AUTO_ACTIVATE,
    dynregRateLimit: e.DYNREG_RATE_LIMIT,
    loginRateLimit: e.LOGIN_RATE_LIMIT,
    unknownDeployment: e.UNKNOWN_DEPLOYMENT,
    publicCertificates: e.PUBLIC_CERTIFICATES,
    sandbox: e.SANDBOX && !production,
    chromiumPath: e.CHROMIUM_PATH ?? e.PUPPETEER_EXECUTABLE_PATH,
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    dbReconnectTimeoutMs: e.DB_RECONNECT_TIMEOUT_MS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    logLevel: e.LOG_LEVEL,
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? `Certificates <no-reply@${new URL(publicUrl).hostname}>`,
      reminderDays: [...new Set(e.MAIL_REMINDER_DAYS.split(',').map((d) => Number(d.trim())))].sort((a, b) => b - a),
    },
    jobLeaseMs: e.JOB_LEASE_MS,
    jobConcurrency: e.JOB_CONCURRENCY,
    renderConcurrency: e.RENDER_CONCURRENCY,
    runLogRetentionDays: e.RUN_LOG_RETENTION_DAYS,
    auditDetailRetentionDays: e.AUDIT_DETAIL_RETENTION_DAYS,
    learnerRefreshIntervalMs: e.LEARNER_REFRESH_INTERVAL_MS,
  });
}

/**
 * The mail service of one running tool: the outbox job that sends, the reminder scan that records
 * reminders before expiry, and what /admin says about both.
 *
 * Sending runs as a background job (`mail.deliver`, src/jobs) on a queue of its own, so that mail
 * never waits behind an hour-long export on the main queue (one job at a time per instance) nor
 * holds one up. `dedupe` keeps one delivery job active across all instances; the per-message claim
 * in outbox.ts keeps even two of them from sending a message twice. A ticker starts a delivery job
 * when a message is due (new, or its backoff is over) and runs the reminder scan every hour.
 */
import type { Connection } from 'mongoose';
import { createJobQueue, type JobQueue } from '../jobs';
import { createLogger } from '../logger';
import type { Clock } from '../runtime';
import { deliverDue, hasDueMail, outboxSummary, type MailTransport } from './outbox';
import { scanReminders, type ReminderSource } from './reminders';

export const MAIL_DELIVER_JOB = 'mail.deliver';
/** The job queue scopes jobs by course; the outbox belongs to no course. */
const MAIL_SCOPE = 'mail';

export interface MailServiceOptions {
  conn: Connection;
  now: Clock;
  /** Null: mail is off (no SMTP_URL and no sandbox mailbox): nothing is sent. */
  transport: MailTransport | null;
  /** Where mail goes, for /admin (`smtp://host:port`, or "the sandbox mailbox"). */
  destination: string | null;
  from: string;
  publicUrl: string;
  reminderDays: number[];
  reminderSources?: ReminderSource[];
  /** How often the ticker looks for due mail (default 5 s) and runs the reminder scan (default 1 h). */
  tickMs?: number;
  reminderEveryMs?: number;
  /** Backoff after a failed attempt (default 60 s, doubled each time). */
  backoffMs?: number;
  maxAttempts?: number;
}

export interface MailStatus {
  enabled: boolean;
  destination: string | null;
  from: string;
  reminderDays: number[];
  outbox: Awaited<ReturnType<typeof outboxSummary>>;
}

export interface MailService {
  readonly enabled: boolean;
  /** Starts a delivery job now if mail is due (the ticker does this every few seconds anyway). */
  kick(): Promise<void>;
  /** Records the reminders that are due now; returns how many new ones. */
  runReminderScan(): Promise<number>;
  /** Sends everything due and waits until the delivery job is done (tests, the benchmark); after start(). */
  flush(): Promise<void>;
  status(): Promise<MailStatus>;
  /** Adds a source of expiring things (certs' certifications) to the reminder scan. */
  addReminderSource(source: ReminderSource): void;
  start(): void;
  stop(): Promise<void>;
}

export function createMailService(opts: MailServiceOptions): MailService {
  const log = createLogger('mail');
  const sources = [...(opts.reminderSources ?? [])];
  const tickMs = opts.tickMs ?? 5000;
  const reminderEveryMs = opts.reminderEveryMs ?? 3600_000;
  let queue: JobQueue | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastScan = -Infinity;
  let ticking = false;

  if (opts.transport) {
    const transport = opts.transport;
    queue = createJobQueue({ conn: opts.conn, now: opts.now, logger: createLogger('mail:jobs'), pollMs: 500 });
    queue.register(MAIL_DELIVER_JOB, async (ctx) => {
      const result = await deliverDue(opts.conn, {
        transport,
        from: opts.from,
        publicUrl: opts.publicUrl,
        now: opts.now,
        backoffMs: opts.backoffMs,
        maxAttempts: opts.maxAttempts,
        signal: ctx.signal,
        onSent: (done) => ctx.progress({ done, total: done }),
      });
      if (result.failed + result.retrying > 0) log.warn(`mail: ${result.sent} sent, ${result.retrying} to retry, ${result.failed} failed for good`);
      return result;
    });
  }

  const kick = async () => {
    if (!queue) return;
    if (await hasDueMail(opts.conn, opts.now())) {
      await queue.enqueue(MAIL_DELIVER_JOB, { courseId: MAIL_SCOPE, createdBy: { userId: 'system', name: 'Outbox' }, dedupe: true });
    }
  };

  const runReminderScan = async () => {
    lastScan = Date.now();
    return scanReminders(opts.conn, { now: opts.now(), days: opts.reminderDays, sources, publicUrl: opts.publicUrl });
  };

  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      if (Date.now() - lastScan >= reminderEveryMs) await runReminderScan();
      await kick();
    } catch (err) {
      log.warn('mail ticker failed (retrying at the next tick)', err);
    } finally {
      ticking = false;
    }
  };

  return {
    enabled: Boolean(queue),
    kick,
    runReminderScan,
    async flush() {
      if (!queue) return;
      if (!timer) throw new Error('flush() needs a started mail service (start())');
      await kick();
      await queue.drain();
    },
    async status() {
      return { enabled: Boolean(queue), destination: opts.destination, from: opts.from, reminderDays: opts.reminderDays, outbox: await outboxSummary(opts.conn) };
    },
    addReminderSource(source) {
      sources.push(source);
    },
    start() {
      if (timer) return;
      queue?.start();
      // reminders are recorded even with mail off: they then wait (and expire) in the outbox, visible on /admin
      timer = setInterval(() => void tick(), tickMs);
      timer.unref();
      void tick();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await queue?.stop();
    },
  };
}

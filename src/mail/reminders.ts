/**
 * Reminders before expiry (R9): MAIL_REMINDER_DAYS before a recurring certificate or certification
 * expires (default 30 and 7 days before, and on the day), one mail each.
 *
 * The scan is idempotent: each reminder is an outbox event keyed `expiry.reminder:<thing>:<days>`,
 * so running it every hour, on two instances, or again after a crash records each reminder once.
 * Only the latest milestone that has passed is recorded: a certificate issued 10 days before it
 * expires gets the 7-day reminder, not a late 30-day one as well; the tool down for a week still
 * sends the one reminder that is current. An on-expiry mail is sent up to 7 days late, never later.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import { issueModel } from '../certificates/issue.model';
import { enqueueMail } from './outbox';

const DAY_MS = 24 * 3600 * 1000;
const LATE_EXPIRY_MAIL_DAYS = 7;

/** Something that expires and whose holder gets reminders. */
export interface ReminderCandidate {
  /** Stable across scans, e.g. `certificate:<issueId>`, `award:<awardId>`. */
  id: string;
  issuer?: string;
  userId?: string;
  email?: string;
  name?: string;
  locale?: string;
  title: string;
  expiresAt: Date;
  /** A path on the tool (`/verify/CODE`) or an absolute URL. */
  link: string;
}

/** Lists the active things expiring between `from` and `to` (certs adds its certifications). */
export type ReminderSource = (conn: Connection, window: { from: Date; to: Date }) => Promise<ReminderCandidate[]>;

/** Course certificates (src/certificates) that expire in the window and are still active. */
export const courseCertificateReminders: ReminderSource = async (conn, { from, to }) => {
  const issues = await issueModel(conn)
    .find({ status: 'active', expiresAt: { $gte: from, $lte: to } }, { courseId: 1, userId: 1, learnerName: 1, learnerEmail: 1, title: 1, expiresAt: 1, code: 1 })
    .lean();
  if (issues.length === 0) return [];
  const courseIds = [...new Set(issues.map((i) => String(i.courseId)))];
  const courses = await courseModel(conn).find({ _id: { $in: courseIds } }, { issuer: 1 }).lean();
  const issuerOf = new Map(courses.map((c) => [String(c._id), c.issuer as string]));
  return issues.map((i) => ({
    id: `certificate:${String(i._id)}`,
    issuer: issuerOf.get(String(i.courseId)),
    userId: i.userId,
    email: i.learnerEmail,
    name: i.learnerName,
    title: i.title,
    expiresAt: i.expiresAt!,
    link: `/verify/${i.code}`,
  }));
};

/** Which reminder is current at `now` for something expiring at `expiresAt`, or null. */
export function currentReminder(expiresAt: Date, now: Date, days: number[]): number | null {
  const sorted = [...days].sort((a, b) => a - b);
  for (const d of sorted) {
    if (now.getTime() >= expiresAt.getTime() - d * DAY_MS) {
      if (d === 0 && now.getTime() > expiresAt.getTime() + LATE_EXPIRY_MAIL_DAYS * DAY_MS) return null;
      return d;
    }
  }
  return null;
}

/** Records every reminder that is current now; returns how many were new. */
export async function scanReminders(
  conn: Connection,
  opts: { now: Date; days: number[]; sources: ReminderSource[]; publicUrl?: string },
): Promise<number> {
  if (opts.days.length === 0) return 0;
  const maxDays = Math.max(...opts.days);
  const window = { from: new Date(opts.now.getTime() - LATE_EXPIRY_MAIL_DAYS * DAY_MS), to: new Date(opts.now.getTime() + maxDays * DAY_MS) };
  let created = 0;
  for (const source of [courseCertificateReminders, ...opts.sources]) {
    for (const c of await source(conn, window)) {
      const d = currentReminder(c.expiresAt, opts.now, opts.days);
      if (d === null) continue;
      // the next milestone makes this one old news: it is not sent after that (nor after a week)
      const next = [...opts.days].filter((x) => x < d).sort((a, b) => b - a)[0];
      const sendBy = next === undefined ? new Date(c.expiresAt.getTime() + LATE_EXPIRY_MAIL_DAYS * DAY_MS) : new Date(c.expiresAt.getTime() - next * DAY_MS);
      const r = await enqueueMail(conn, {
        key: `expiry.reminder:${c.id}:${d}`,
        template: 'expiry.reminder',
        to: { issuer: c.issuer, userId: c.userId, email: c.email, name: c.name, locale: c.locale },
        params: { title: c.title, expiresAt: c.expiresAt, days: d, link: c.link },
        now: opts.now,
        sendBy,
      });
      if (r.queued && !r.duplicate) created++;
    }
  }
  return created;
}

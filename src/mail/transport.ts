/**
 * The SMTP transport (nodemailer, the well-kept SMTP client of Node.js): a small connection pool
 * to the server in SMTP_URL. `describeSmtpUrl` names the server for /admin without its password.
 */
import nodemailer from 'nodemailer';
import type { MailTransport } from './outbox';

export interface SmtpTransport extends MailTransport {
  close(): void;
}

/** A pooled transport to `url` (`smtp://user:pass@host:587`, `smtps://host:465`). */
export function createSmtpTransport(url: string, opts: { maxConnections?: number } = {}): SmtpTransport {
  // options in one object: createTransport(url, x) would take x as message defaults, not as pool settings
  const transporter = nodemailer.createTransport({ url, pool: true, maxConnections: opts.maxConnections ?? 4, maxMessages: Infinity } as never);
  return {
    sendMail: (message) => transporter.sendMail(message) as Promise<{ response?: string }>,
    close: () => transporter.close(),
  };
}

/** `smtp://mail.example.edu:587` — the URL without its credentials, for pages and logs. */
export function describeSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  } catch {
    return 'smtp://(unreadable URL)';
  }
}

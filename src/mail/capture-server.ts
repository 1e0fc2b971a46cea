/**
 * A small SMTP server that keeps what it receives in memory, parsed: the sandbox's mailbox
 * (src/sandbox/mailbox.ts) and the tests' SMTP server are this. It listens on 127.0.0.1 only and
 * offers neither STARTTLS nor AUTH (a loopback mailbox for one process, not a mail server).
 */
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  /** The envelope's recipients (RCPT TO), lower-cased. */
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Content-Language header (the language the tool wrote the mail in). */
  language: string;
  messageId: string;
  receivedAt: Date;
  /** Every http(s) link in the text part. */
  links: string[];
}

export interface CaptureServer {
  port: number;
  /** Messages accepted so far (also those no longer kept in `messages`). */
  readonly received: number;
  url: string;
  messages: CapturedMail[];
  /** Resolves when `count` messages matching `filter` have arrived (or rejects after `timeoutMs`). */
  waitFor(filter: (m: CapturedMail) => boolean, count?: number, timeoutMs?: number): Promise<CapturedMail[]>;
  /** Makes the next `n` messages fail with this SMTP reply code (tests of retries). */
  failNext(n: number, code?: number): void;
  close(): Promise<void>;
}

export async function startCaptureServer(opts: { maxMessages?: number; parse?: boolean } = {}): Promise<CaptureServer> {
  const messages: CapturedMail[] = [];
  const waiters = new Set<() => void>();
  const keep = opts.maxMessages ?? 500;
  let failures = 0;
  let failCode = 451;
  let received = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    banner: 'capture',
    // no reverse DNS of the client (127.0.0.1): nothing to learn, and a lookup costs time
    disableReverseLookup: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          const err = Object.assign(new Error('try again later'), { responseCode: failCode });
          callback(err);
          return;
        }
        received++;
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        if (opts.parse === false) {
          messages.push({ to, from, subject: '', text: '', html: '', language: '', messageId: '', receivedAt: new Date(), links: [] });
          if (messages.length > keep) messages.shift();
          callback(null);
          for (const w of waiters) w();
          return;
        }
        simpleParser(Buffer.concat(chunks))
          .then((parsed) => {
            const text = parsed.text ?? '';
            messages.push({
              to,
              from,
              subject: parsed.subject ?? '',
              text,
              html: typeof parsed.html === 'string' ? parsed.html : '',
              language: String(parsed.headers.get('content-language') ?? ''),
              messageId: parsed.messageId ?? '',
              receivedAt: new Date(),
              links: text.match(/https?:\/\/[^\s<>"]+/g) ?? [],
            });
            if (messages.length > keep) messages.shift();
            callback(null);
            for (const w of waiters) w();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get received() {
      return received;
    },
    waitFor(filter, count = 1, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.filter(filter);
          if (found.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} message(s), got ${messages.filter(filter).length} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    failNext(n, code = 451) {
      failures = n;
      failCode = code;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  } as CaptureServer;
}

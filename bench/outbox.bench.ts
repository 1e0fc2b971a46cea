/**
 * The outbox sending 10,000 mails to a local SMTP server (not part of `npm test`):
 *   npx tsx bench/outbox.bench.ts [count] [--uri mongodb://…]
 * Anchor, in the same run: nodemailer sending the same rendered mails directly over the same pool
 * (4 connections, 4 in flight) — what the outbox adds is recording each event, the claim and the
 * "sent" mark in MongoDB (the offline engine unless --uri names a real one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { startOfflineEngine } from '../src/db/offline/server';
import { deliverDue, enqueueMail, outboxModel, renderMail, createSmtpTransport } from '../src/mail';
import { startCaptureServer } from '../src/mail/capture-server';
import { quietLogger } from '../test/support/db';

const N = Number(process.argv.find((a, i) => i >= 2 && /^\d+$/.test(a)) ?? 10_000);
const uriArg = process.argv.indexOf('--uri');
const PARALLEL = 4;

async function time<T>(label: string, fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label.padEnd(52)} wall ${ms.toFixed(0).padStart(7)} ms   cpu ${((cpu.user + cpu.system) / 1000).toFixed(0).padStart(7)} ms   ${((N / ms) * 1000).toFixed(0).padStart(6)} mails/s`);
  return { ms, result };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-bench-'));
  const engine = uriArg > 0 ? null : await startOfflineEngine({ logger: quietLogger, dir });
  const uri = uriArg > 0 ? process.argv[uriArg + 1]! : `${engine!.uri}/outbox-bench`;
  const conn = await mongoose.createConnection(uri).asPromise();
  await outboxModel(conn).init();
  const smtp = await startCaptureServer({ parse: false, maxMessages: 10 });
  const transport = createSmtpTransport(smtp.url, { maxConnections: PARALLEL });
  const from = 'Certificates <certificates@bench.test>';
  const params = (i: number) => ({ title: `Certificate ${i}`, course: 'Digital Literacy', issuedAt: new Date(), link: `/verify/CODE-${i}` });
  console.log(`# outbox benchmark, N=${N}, ${PARALLEL} SMTP connections, database ${engine ? 'offline engine' : uri}`);

  // warm up the pool and the code paths
  await transport.sendMail({ from, to: 'warm@bench.test', subject: 'warm', text: 'x', html: 'x', messageId: '<warm@bench.test>' });

  const direct = await time(`anchor: nodemailer directly, ${PARALLEL} in flight`, async () => {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < N; i = next++) {
        const m = renderMail('certificate.issued', 'en', { ...params(i), link: `https://bench.test/verify/CODE-${i}` }, 'Learner');
        await transport.sendMail({ from, to: `direct${i}@bench.test`, subject: m.subject, text: m.text, html: m.html, messageId: `<direct${i}@bench.test>` });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  });

  const now = new Date();
  const recorded = await time('outbox: enqueueMail x N (one upsert each)', async () => {
    for (let i = 0; i < N; i++) {
      await enqueueMail(conn, { key: `certificate.issued:${i}`, template: 'certificate.issued', to: { email: `outbox${i}@bench.test`, name: 'Learner' }, params: params(i), now });
    }
  });
  const received0 = smtp.received;
  const sent = await time(`outbox: deliverDue, ${PARALLEL} in flight`, () => deliverDue(conn, { transport, from, publicUrl: 'https://bench.test', now: () => new Date(), parallel: PARALLEL }));
  const received = smtp.received - received0;
  console.log(`sent ${sent.result.sent}, retrying ${sent.result.retrying}, failed ${sent.result.failed}; the SMTP server received ${received}`);
  const again = await time('outbox: deliverDue again (nothing due)', () => deliverDue(conn, { transport, from, publicUrl: 'https://bench.test', now: () => new Date(), parallel: PARALLEL }));
  console.log(`second run sent ${again.result.sent}`);
  console.log(`\nratio outbox send ÷ direct send: ${(sent.ms / direct.ms).toFixed(2)}×; with recording: ${((sent.ms + recorded.ms) / direct.ms).toFixed(2)}×`);

  transport.close();
  await smtp.close();
  await conn.close();
  await engine?.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

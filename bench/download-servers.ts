/**
 * The two servers of bench/download.bench.ts, each in a process of its own so that each one's CPU
 * time per request can be read (/proc/<pid>/stat) apart from the load generator's:
 *
 *   tool             this tool (offline engine in the process, as the embedded default runs it) with
 *                    its sandbox, one learner's claimed certificate whose PDF has been rendered
 *                    and stored once; sends the bench { pdfUrl, etag, bytes } over IPC
 *   static <file>    express.static serving that file, with the headers the tool sends a download
 *                    (so both answers carry about the same header bytes)
 *
 * Started by the bench (`process.send`); stops when the bench disconnects.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import express from 'express';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { setLogLevel } from '../src/logger';
import { HttpBrowser, sessionOf } from '../test/support/browser';
import { buildDefinition } from '../test/support/builders';
import { courseModel } from '../src/courses/course.model';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function report(message: Record<string, unknown>): void {
  if (!process.send) throw new Error('run by bench/download.bench.ts');
  process.send(message);
}

async function tool() {
  setLogLevel('error');
  const srv = createServer({ keepAliveTimeout: 60_000 });
  const port = await listen(srv);
  const dataDir = mkdtempSync(join(tmpdir(), 'lticert-bench-'));
  mkdirSync(join(dataDir, 'pc'));
  const config = loadConfig({
    NODE_ENV: 'test', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: dataDir,
    PLATFORM_CONFIG_DIR: join(dataDir, 'pc'), EMBEDDED_DB: 'offline', LOG_LEVEL: 'error',
  });
  const db = await connectDatabase(config);
  const app = await createApp({ config, db });
  srv.on('request', app.express);
  const sandbox = app.sandbox!;
  const c = sandbox.store.createCourse({ title: 'Bench', quirks: 'standard', learners: 1, items: 2, scoreMaximum: 10, score: () => 10 });
  await new HttpBrowser().open(sandbox.launchUrl(c.course.id, c.teacherIds[0]!));
  const course = await courseModel(db.connection).findOne({ contextId: sandbox.store.contextIdOf(c.course) }).lean();
  const definition = await buildDefinition(db.connection, course!._id, {}, { by: { kind: 'teacher', userId: 't', name: 'T' }, now: new Date() });
  const browser = new HttpBrowser();
  const launched = await browser.open(sandbox.launchUrl(c.course.id, c.learnerIds[0]!));
  const appUrl = `${config.publicUrl}/app/${sessionOf(launched.url)}`;
  const claimed = await browser.request(`${appUrl}/learner/claim`, { form: { definitionId: String(definition._id) } });
  const pdfUrl = `${new URL(claimed.headers.get('location')!, appUrl).toString()}.pdf`;
  const first = await fetch(pdfUrl);
  if (first.status !== 200) throw new Error(`first download: ${first.status}`);
  const pdf = Buffer.from(await first.arrayBuffer());
  const file = join(mkdtempSync(join(tmpdir(), 'lticert-static-')), 'certificate.pdf');
  writeFileSync(file, pdf);
  report({ pdfUrl, etag: first.headers.get('etag'), bytes: pdf.length, file, engine: db.engine });
  process.once('disconnect', () => {
    srv.closeAllConnections();
    srv.close();
    void app.close().then(() => db.close()).finally(() => process.exit(0));
  });
}

async function staticServer(file: string) {
  const bare = express();
  // the security headers and the attachment name the tool's download carries
  bare.use(
    express.static(dirname(file), {
      setHeaders: (res) => {
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Referrer-Policy', 'same-origin');
        res.setHeader(
          'Content-Security-Policy',
          "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'",
        );
        res.setHeader('Content-Disposition', 'attachment; filename="Learner-1_Bench.pdf"');
      },
    }),
  );
  const srv = createServer({ keepAliveTimeout: 60_000 }, bare);
  const port = await listen(srv);
  report({ url: `http://127.0.0.1:${port}/${basename(file)}` });
  process.once('disconnect', () => {
    srv.closeAllConnections();
    srv.close();
    process.exit(0);
  });
}

const [mode, file] = process.argv.slice(2);
(mode === 'static' ? staticServer(file!) : tool()).catch((err) => {
  console.error(err);
  process.exit(1);
});

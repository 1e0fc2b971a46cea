/**
 * The sandbox's mailbox: with the sandbox on and no SMTP_URL, the tool's mail goes to an SMTP
 * listener of the sandbox's own (127.0.0.1, a random port) and /sandbox/mailbox shows what each
 * learner and teacher would have received. Real platforms do not deliver the tool's mail — the
 * tool sends it itself, through the institution's SMTP server — so this mailbox stands for the
 * people's inboxes, not for anything an LMS does. Production never has a sandbox (config.ts), so
 * it never sends here.
 */
import { Router } from 'express';
import { startCaptureServer, type CaptureServer } from '../mail/capture-server';
import { esc, renderPage } from './html';

export interface SandboxMailbox {
  server: CaptureServer;
  router: Router;
  close(): Promise<void>;
}

export async function startSandboxMailbox(): Promise<SandboxMailbox> {
  const server = await startCaptureServer({ maxMessages: 200 });
  const router = Router();
  router.get('/', (req, res) => {
    const only = typeof req.query.to === 'string' ? req.query.to.toLowerCase() : '';
    const list = server.messages.filter((m) => !only || m.to.includes(only)).slice().reverse();
    const rows = list
      .map(
        (m) => `<article class="card mail">
<h2>${esc(m.subject)}</h2>
<p class="muted">To <strong>${esc(m.to.join(', '))}</strong> · ${esc(m.receivedAt.toISOString())} · language <code>${esc(m.language)}</code></p>
<pre style="white-space:pre-wrap;font:inherit">${esc(m.text)}</pre>
${m.links.map((l) => `<p><a class="button" href="${esc(l)}">${esc(l)}</a></p>`).join('')}
</article>`,
      )
      .join('\n');
    const body = `<h1>Mailbox</h1>
<p class="muted">The mail the tool sent (the last 200), as its recipients would have received it. With <code>SMTP_URL</code> set, mail goes to that server instead and this page stays empty.${only ? ` Showing mail to <code>${esc(only)}</code> — <a href="?">show all</a>.` : ''}</p>
${rows || '<p>No mail yet.</p>'}`;
    res.type('html').send(renderPage('Mailbox', body, { homeUrl: req.baseUrl.replace(/\/mailbox$/, '') || '/sandbox' }));
  });
  return { server, router, close: () => server.close() };
}

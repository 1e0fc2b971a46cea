/**
 * Canvas mode's "Admin › Developer Keys" page: the API keys with their client id ("Details"),
 * secret ("Show Key"), redirect URIs, enforced scopes and ON/OFF state, and the grants users gave
 * (Canvas lists them per user under Account › Settings › Approved Integrations, with "Delete").
 * A form turns a key off or on, and deletes a grant, so the demo can show a revoked grant.
 */
import express from 'express';
import type { SandboxContext } from './context';
import type { CanvasSite } from './canvas-site';
import { esc, renderPage } from './html';

export function canvasAdminRoutes(ctx: SandboxContext, site: CanvasSite): express.Router {
  const router = express.Router();
  router.get('/accounts/site/developer_keys', (_req, res) => {
    const keys = [...site.keys.values()]
      .map(
        (k) => `<tr><td>${esc(k.name)}</td><td><code data-client-id>${esc(k.clientId)}</code></td><td><details><summary>Show Key</summary><code data-secret>${esc(k.secret)}</code></details></td>
<td>${k.redirectUris.map((u) => `<code>${esc(u)}</code>`).join('<br>')}</td><td>${k.scopes ? `${k.scopes.length} scopes (enforced)<br><small>${k.scopes.map(esc).join('<br>')}</small>` : 'all (scopes not enforced)'}</td>
<td><form method="post" action="${esc(ctx.baseUrl)}/accounts/site/developer_keys/${esc(k.clientId)}" class="inline"><input type="hidden" name="active" value="${k.active ? 'off' : 'on'}"><button type="submit">${k.active ? 'ON — turn off' : 'OFF — turn on'}</button></form></td></tr>`,
      )
      .join('');
    const grants = site
      .activeGrants()
      .map((g) => `<tr><td>${esc(ctx.store.getUser(g.userId)?.name ?? g.userId)}</td><td><code>${esc(g.clientId)}</code></td><td>${g.scopes.length} scopes</td><td><form method="post" action="${esc(ctx.baseUrl)}/accounts/site/approved_integrations/delete" class="inline"><input type="hidden" name="user" value="${esc(g.userId)}"><button type="submit">Delete</button></form></td></tr>`)
      .join('');
    const body = `<h1>Developer Keys (Canvas mode)</h1>
<div class="card"><p>API keys let a tool ask users for an OAuth2 token to Canvas's REST API (doc/api/developer_keys.md). The tool's administrator copies the <b>Client ID</b> and the secret (<b>Show Key</b>) to the tool's /admin page › Canvas API key.</p></div>
<table><thead><tr><th>Name</th><th>Client ID</th><th>Secret</th><th>Redirect URIs</th><th>Scopes</th><th>State</th></tr></thead><tbody>${keys}</tbody></table>
<h2>Approved integrations (users' grants)</h2><table><thead><tr><th>User</th><th>Key</th><th>Access</th><th></th></tr></thead><tbody>${grants || '<tr><td colspan="4" class="muted">none</td></tr>'}</tbody></table>`;
    res.type('html').send(renderPage('Developer Keys', body, { homeUrl: `${ctx.baseUrl}/`, subtitle: 'Canvas mode' }));
  });
  router.post('/accounts/site/developer_keys/:clientId', express.urlencoded({ extended: false }), (req, res) => {
    const key = site.keys.get(String(req.params.clientId));
    if (key) key.active = (req.body as Record<string, string>).active === 'on';
    res.redirect(303, `${ctx.baseUrl}/accounts/site/developer_keys`);
  });
  router.post('/accounts/site/approved_integrations/delete', express.urlencoded({ extended: false }), (req, res) => {
    site.revokeUser(String((req.body as Record<string, string>).user ?? ''));
    res.redirect(303, `${ctx.baseUrl}/accounts/site/developer_keys`);
  });
  return router;
}

/**
 * Server-rendered HTML for the sandbox pages: one escaping function for every value, one layout
 * with inline CSS (no external assets), and the auto-submitting form platforms use to POST an
 * id_token to the tool.
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const CSS = `
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --accent:#0b6e4f; --bg:#f5f7fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink); background:var(--bg); }
header.bar { background:var(--accent); color:#fff; padding:.6rem 1.2rem; display:flex; gap:1rem; align-items:baseline; }
header.bar a { color:#fff; text-decoration:none; font-weight:600; }
header.bar .mode { opacity:.85; font-size:.9em; }
main { padding:1rem 1.2rem; max-width:1400px; }
h1 { font-size:1.4rem; margin:.2rem 0 .8rem; } h2 { font-size:1.1rem; margin:1.2rem 0 .5rem; }
table { border-collapse:collapse; background:#fff; }
th, td { border:1px solid var(--line); padding:.25rem .5rem; text-align:left; vertical-align:middle; }
th { background:#eef2f7; font-weight:600; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.muted { color:var(--muted); } .inactive { color:var(--muted); font-style:italic; }
.layout { display:grid; grid-template-columns:minmax(420px, 1fr) minmax(480px, 1.3fr); gap:1rem; align-items:start; }
/* The people table scrolls inside its column (launch buttons sit next to the names), and the
   tool stays in view beside it, the way an LMS keeps its content area. */
.layout > section { min-width:0; } .layout > section:first-child { overflow-x:auto; }
.layout > section:last-child { position:sticky; top:.5rem; } td.launch { white-space:nowrap; }
iframe#tool-frame { width:100%; height:80vh; border:1px solid var(--line); background:#fff; }
.button, button { display:inline-block; padding:.2rem .6rem; border:1px solid var(--accent); border-radius:4px; background:#fff; color:var(--accent); text-decoration:none; cursor:pointer; font:inherit; }
.button.primary, button.primary { background:var(--accent); color:#fff; }
form.inline { display:inline; } .card { background:#fff; border:1px solid var(--line); padding:.8rem 1rem; margin:.6rem 0; }
.error { border-left:4px solid #c53030; } code { background:#eef2f7; padding:0 .2rem; }
`;

/** Wraps page content (already escaped HTML) in the sandbox layout. */
export function renderPage(title: string, body: string, opts: { subtitle?: string; homeUrl?: string } = {}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Sandbox LMS</title><style>${CSS}</style></head>
<body><header class="bar"><a href="${esc(opts.homeUrl ?? '.')}">Sandbox LMS</a>${opts.subtitle ? `<span class="mode">${esc(opts.subtitle)}</span>` : ''}</header>
<main>${body}</main></body></html>`;
}

/** A page that explains why a request was refused (400/401/…): what is wrong, in words. */
export function renderErrorPage(title: string, error: string, description: string, homeUrl?: string): string {
  return renderPage(title, `<div class="card error"><h1>${esc(title)}</h1><p>${esc(description)}</p><p class="muted">Error code: <code id="error-code">${esc(error)}</code></p></div>`, { homeUrl });
}

/** The auto-submitting form that carries an id_token (or another message) to `action` by POST. */
export function renderAutoPostForm(action: string, fields: Record<string, string>, title = 'Launching…'): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><form id="lti-auto-post" method="post" action="${esc(action)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form>
<script>document.getElementById('lti-auto-post').submit();</script></body></html>`;
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Reads back a form made by `renderAutoPostForm`: what a browser would POST, and where. Tests use
 * it to follow a launch without a browser.
 */
export function readAutoPostForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form id="lti-auto-post" method="post" action="([^"]*)">/.exec(html);
  if (!form) throw new Error('No auto-submitting form in this page');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(m[1])] = unescapeHtml(m[2]);
  return { action: unescapeHtml(form[1]), fields };
}

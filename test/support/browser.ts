/**
 * A small cookie-keeping HTTP client that walks through LTI launches the way a browser does:
 * follows redirects, keeps cookies, and submits the auto-posting forms platforms return.
 * (The Chromium tests use a real browser; this one is for the many HTTP-level tests.)
 */
import { all, maybe, parseHtml } from './html';
export interface Page {
  status: number;
  url: string;
  html: string;
  headers: Headers;
}

export class HttpBrowser {
  private cookies = new Map<string, string>();

  /**
   * `address`: the client address this browser's requests carry in X-Forwarded-For (the test app
   * trusts loopback as its proxy), so that it counts as its own client for per-address rate limits,
   * as separate users on separate machines do. Without it, every request comes from 127.0.0.1.
   * `headers`: sent with every request, as a browser sends its Accept-Language.
   */
  constructor(private readonly opts: { address?: string; headers?: Record<string, string> } = {}) {}

  async request(url: string, init: { method?: string; form?: Record<string, string | string[]>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(this.opts.address ? { 'x-forwarded-for': this.opts.address } : {}), ...this.opts.headers, ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // a repeated field (checkboxes) is an array
      body = new URLSearchParams(Object.entries(init.form).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Requests `url` and follows redirects (as GETs after 302/303) and auto-posting forms. */
  async open(url: string, init: Parameters<HttpBrowser['request']>[1] = {}, maxHops = 12): Promise<Page> {
    let current = url;
    let req = init;
    for (let hop = 0; hop < maxHops; hop++) {
      const res = await this.request(current, req);
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        current = new URL(res.headers.get('location')!, current).toString();
        req = res.status === 307 || res.status === 308 ? req : {};
        continue;
      }
      const html = await res.text();
      const form = autoPostForm(html);
      if (form) {
        current = new URL(form.action, current).toString();
        req = { form: form.fields };
        continue;
      }
      return { status: res.status, url: current, html, headers: res.headers };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  clearCookies(): void {
    this.cookies.clear();
  }
}

/** Finds a self-submitting form (platform launch forms, deep-linking responses). */
export function autoPostForm(html: string): { action: string; fields: Record<string, string> } | null {
  // a form that submits itself says so in a script or an attribute
  if (!/\.submit\(\)|onload=|data-auto-submit/i.test(html)) return null;
  const el = maybe(parseHtml(html), 'form[action]');
  if (!el) return null;
  const fields: Record<string, string> = {};
  for (const input of all(el, 'input[name]')) fields[input.getAttribute('name')!] = input.getAttribute('value') ?? '';
  return { action: el.getAttribute('action')!, fields };
}

/** The session token in a tool URL (`/app/<token>/…`). */
export function sessionOf(url: string): string {
  const m = /\/app\/([A-Za-z0-9_-]{43})\//.exec(url);
  if (!m) throw new Error(`not a tool page: ${url}`);
  return m[1]!;
}

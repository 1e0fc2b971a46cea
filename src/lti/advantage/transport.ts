/**
 * How the AGS and NRPS clients reach the platform: undici's `request`, behind the `fetch`
 * contract the shared retry policy (src/http/retry-policy.ts) speaks. Every one of their requests
 * already handles redirects itself (`redirect: 'manual'`: each target passes the URL check before
 * the Bearer token goes there), which is all `request` does; it costs a third of the CPU of
 * Node's `fetch` per call (bench/launch.bench.ts: a learner page's refresh is a listing and one
 * results call per column). Anything else (a redirect to follow) still goes through `fetch`.
 */
import { request } from 'undici';

/** Statuses whose response has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** `request` reads header bytes as UTF-8, `fetch` (and the Headers class) as Latin-1: read them as fetch does. */
const asFetchReads = (value: string) => (/[^\x00-\xff]/.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value);

export const platformFetch: typeof fetch = async (input, init = {}) => {
  if (init.redirect !== 'manual' || (init.body !== undefined && init.body !== null && typeof init.body !== 'string')) return fetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers instanceof Headers ? Object.fromEntries(init.headers) : (init.headers as Record<string, string> | undefined),
    body: init.body ?? undefined,
    signal: init.signal ?? undefined,
  });
  const text = await res.body.text();
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, asFetchReads(v));
    else if (value !== undefined) headers.set(name, asFetchReads(value));
  }
  return new Response(NULL_BODY.has(res.statusCode) ? null : text, { status: res.statusCode, headers });
};

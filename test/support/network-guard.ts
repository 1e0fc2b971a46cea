/**
 * Outgoing-network guard for the test run (loaded by test/support/setup.ts): a test may talk
 * to servers it started itself on loopback (the tool, the sandbox LMS, fake platforms, the
 * database) and to nothing else. Any TCP/TLS connection or DNS lookup towards another host
 * fails at once with an error that names the host, and the test that caused it fails too
 * (root afterEach hook), even if the code under test swallowed the error and retried.
 *
 * Why: a test that reaches the internet passes or fails with the weather, and may leak data
 * (a real LMS URL copied into a fixture). This machine has no internet anyway, so without the
 * guard such a test would only show up as a slow timeout.
 */
import dns from 'node:dns';
import net from 'node:net';

/** The error a refused connection or lookup fails with. */
export class NetworkBlockedError extends Error {
  readonly code = 'ERR_TEST_NETWORK_BLOCKED';
  constructor(readonly host: string, what: 'connection to' | 'DNS lookup of') {
    super(`test network guard: refused ${what} ${host} — tests may only reach loopback servers they started (test/support/network-guard.ts)`);
    this.name = 'NetworkBlockedError';
  }
}

/** True for the hosts a test may reach: loopback addresses and names. */
export function isLoopbackHost(host: string | undefined | null): boolean {
  if (host === undefined || host === null || host === '') return true; // node defaults to localhost
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

const blocked: NetworkBlockedError[] = [];

/** Refusals since the last call (the root hook fails the current test when there are any). */
export function takeBlockedAttempts(): NetworkBlockedError[] {
  return blocked.splice(0);
}

function refuse(host: string, what: 'connection to' | 'DNS lookup of'): NetworkBlockedError {
  const err = new NetworkBlockedError(host, what);
  blocked.push(err);
  return err;
}

/** The host of a `socket.connect(...)` call in any of its shapes (options, port+host, path, normalized array). */
function targetOf(args: unknown[]): { host?: string; path?: string } {
  let first = args[0];
  // net.connect() passes its already-normalized arguments as one array
  if (Array.isArray(first)) first = first[0];
  if (first && typeof first === 'object') {
    const o = first as { host?: string; path?: string };
    return { host: o.host, path: o.path };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : undefined };
}

const KEY = Symbol.for('lti-certificates.network-guard');

/** Installs the guard once per process. */
export function installNetworkGuard(): void {
  const g = globalThis as { [KEY]?: boolean };
  if (g[KEY]) return;
  g[KEY] = true;

  // net.connect, tls.connect, http(s) and fetch (undici) all end in Socket.prototype.connect
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const { host, path } = targetOf(args);
    if (path === undefined && !isLoopbackHost(host)) {
      const err = refuse(String(host), 'connection to');
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;

  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    if (!isLoopbackHost(hostname)) {
      const cb = rest[rest.length - 1] as (err: Error) => void;
      const err = refuse(hostname, 'DNS lookup of');
      process.nextTick(() => cb(err));
      return;
    }
    return (lookup as (...a: unknown[]) => unknown).call(dns, hostname, ...rest);
  } as typeof dns.lookup;

  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = async function guardedPromisesLookup(hostname: string, ...rest: unknown[]) {
    if (!isLoopbackHost(hostname)) throw refuse(hostname, 'DNS lookup of');
    return (promisesLookup as (...a: unknown[]) => Promise<unknown>).call(dns.promises, hostname, ...rest);
  } as typeof dns.promises.lookup;
}

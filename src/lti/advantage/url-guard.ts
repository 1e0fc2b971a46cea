/**
 * The SSRF guard for every platform URL the tool fetches (AGS and NRPS URLs from the id_token,
 * Link-header next pages, the token URL, the keyset URL, the openid-configuration).
 *
 * A platform URL is fetched only when
 * - it is http(s), without credentials in it;
 * - its host is one of the registration's own hosts (issuer, login, token and keyset URLs), when
 *   the caller names them: an id_token can then never send the tool's Bearer token elsewhere;
 * - neither its name nor any address it resolves to is link-local (169.254.0.0/16, fe80::/10,
 *   where cloud metadata services live), "this host" (0.0.0.0/8, ::), or a known metadata host;
 * - it is not loopback, unless the registration itself is on loopback (the sandbox LMS, tests,
 *   a developer's local Moodle): a platform on the internet has no business on our 127.0.0.1.
 * Private ranges (10/8, 192.168/16, fc00::/7) stay allowed: campus LMSs live there.
 *
 * The check resolves DNS itself and checks every address; the fetch then resolves again, so a
 * host that rebinds between the two could still reach a refused address — which only the
 * registration's own DNS can do, since the host must be one of its hosts.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { PlatformError } from '../../errors';
import { PlatformUnreachableError } from '../../http/platform-errors';
import { inEnglish } from '../../i18n/english';

export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface UrlPolicy {
  /** Host names the URL may be on (the registration's hosts). Omitted: any host passing the address checks. */
  allowedHosts?: Iterable<string>;
  /** Whether loopback addresses may be fetched (only when the registration itself is on loopback). */
  allowLoopback: boolean;
  /** What the URL is, for the message ("the grade service (AGS) URL"). */
  what?: string;
  lookup?: Lookup;
}

const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'metadata.azure.internal', 'instance-data', 'instance-data.ec2.internal']);

const forbidden = new BlockList();
forbidden.addSubnet('0.0.0.0', 8, 'ipv4');
forbidden.addSubnet('169.254.0.0', 16, 'ipv4');
// Alibaba Cloud's metadata service is outside the link-local range.
forbidden.addAddress('100.100.100.200', 'ipv4');
forbidden.addAddress('::', 'ipv6');
forbidden.addSubnet('fe80::', 10, 'ipv6');
// AWS's IPv6 metadata endpoint.
forbidden.addAddress('fd00:ec2::254', 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** An URL the guard refuses; nothing was fetched. */
export class UnsafePlatformUrlError extends PlatformError {}

/** `[::1]` → `::1`; lower case. */
export function hostOf(url: URL | string): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/** IPv4-mapped IPv6 (::ffff:169.254.169.254) is checked as the IPv4 address it maps. */
function normalise(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, type: 'ipv4' };
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Whether an address is loopback (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  const a = normalise(address);
  return loopback.check(a.address, a.type);
}

/** Whether a host name (or literal) is loopback without resolving it (`localhost` counts). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  return isIP(h) !== 0 && isLoopbackAddress(h);
}

/** The hosts of a registration: issuer, login, token and keyset URLs. */
export function registrationHosts(reg: { issuer: string; authUrl?: string; tokenUrl?: string; jwksUrl?: string }): string[] {
  const hosts = new Set<string>();
  for (const u of [reg.issuer, reg.authUrl, reg.tokenUrl, reg.jwksUrl]) {
    if (!u) continue;
    try {
      hosts.add(hostOf(u));
    } catch {
      // not an URL: contributes no host
    }
  }
  return [...hosts];
}

/** The policy for a registration's URLs: its own hosts; loopback only when it is on loopback itself. */
export function policyForRegistration(reg: { issuer: string; authUrl?: string; tokenUrl?: string; jwksUrl?: string }, what?: string): UrlPolicy {
  const hosts = registrationHosts(reg);
  return { allowedHosts: hosts, allowLoopback: hosts.length > 0 && hosts.every(isLoopbackHost), what };
}

/**
 * The URLs the guard names (`UrlPolicy.what`), by the code their message key reads
 * (grades.syncError.url.*: `{target, select, …}`); another wording keeps its English.
 */
const TARGETS: Record<string, string> = {
  'the platform URL': 'platform',
  'the service URL': 'service',
  "the platform's token URL": 'token',
  "the platform's keyset URL": 'keyset',
  'the Moodle web-service address': 'moodle',
  'the Canvas API': 'canvasApi',
  'the Canvas address': 'canvas',
  'the Canvas token endpoint': 'canvasToken',
  'the keyset URL of the LMS': 'lmsKeyset',
  'the token URL of the LMS': 'lmsToken',
  'the login URL of the LMS': 'lmsLogin',
};

/** Why a URL is refused, with what the message names. */
type Refusal =
  | { reason: 'notUrl' }
  | { reason: 'scheme'; protocol: string }
  | { reason: 'credentials' }
  | { reason: 'foreignHost'; host: string; hosts?: string }
  | { reason: 'metadataHost'; host: string }
  | { reason: 'forbiddenAddress'; host: string }
  | { reason: 'loopback'; host: string };

/** The target's parameters of a message: its code, and its English for a wording not in TARGETS. */
function targetParams(what: string): { target: string; what: string } {
  return { target: TARGETS[what] ?? 'other', what };
}

function refuse(what: string, url: string, why: Refusal): never {
  const ref = { key: 'grades.syncError.url.unsafe', params: { ...targetParams(what), url, ...why } };
  throw new UnsafePlatformUrlError(inEnglish(ref), { url, reason: 'unsafe_url' }, ref);
}

/** The parts of the check that need no DNS (host allow-list, scheme, literal addresses, names). */
export function checkUrlShape(raw: string, policy: UrlPolicy): URL {
  const what = policy.what ?? 'the platform URL';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse(what, JSON.stringify(String(raw).slice(0, 200)), { reason: 'notUrl' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse(what, url.href, { reason: 'scheme', protocol: url.protocol });
  if (url.username || url.password) refuse(what, url.href, { reason: 'credentials' });
  const host = hostOf(url);
  if (policy.allowedHosts) {
    const allowed = new Set([...policy.allowedHosts].map((h) => h.toLowerCase()));
    if (!allowed.has(host)) refuse(what, url.href, { reason: 'foreignHost', host, ...(allowed.size ? { hosts: [...allowed].join(', ') } : {}) });
  }
  if (METADATA_HOSTS.has(host)) refuse(what, url.href, { reason: 'metadataHost', host });
  if (isIP(host)) checkAddress(what, url.href, host, policy.allowLoopback);
  else if (!policy.allowLoopback && isLoopbackHost(host)) refuse(what, url.href, { reason: 'loopback', host });
  return url;
}

function checkAddress(what: string, href: string, address: string, allowLoopback: boolean): void {
  const a = normalise(address);
  if (forbidden.check(a.address, a.type)) refuse(what, href, { reason: 'forbiddenAddress', host: address });
  if (!allowLoopback && loopback.check(a.address, a.type)) refuse(what, href, { reason: 'loopback', host: address });
}

/** The whole check: shape, then every address the host resolves to. Throws UnsafePlatformUrlError. */
export async function checkPlatformUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = checkUrlShape(raw, policy);
  const host = hostOf(url);
  if (isIP(host)) return url;
  const what = policy.what ?? 'the platform URL';
  const lookup: Lookup = policy.lookup ?? ((h) => dnsLookup(h, { all: true, verbatim: true }));
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host);
  } catch (err) {
    const ref = { key: 'grades.syncError.url.unresolved', params: { host, detail: (err as Error).message, ...targetParams(what), url: url.href } };
    throw new PlatformUnreachableError(inEnglish(ref), url.href, undefined, ref);
  }
  for (const { address } of addresses) checkAddress(what, url.href, address, policy.allowLoopback);
  return url;
}

/**
 * Which certificates a viewer was allowed to see in the last VIEWER_ACCESS_CACHE_MS, with the
 * certificate as it was read then: a repeated download of a stored PDF (a browser revalidating its
 * copy, a second click) is answered from memory, with no database command at all.
 *
 * What keeps it honest:
 * - A permission is the same function of (course, role, user, certificate) as
 *   certificateForViewer's; only a lookup that passed certificateForViewer is remembered.
 * - Every update or delete of a certificate on this connection (revoke, re-issue, erasure, the PDF
 *   being attached: issue.model.ts's query middleware) clears this process's entries, before and
 *   after the write, and a read that started before such a write is not remembered (the epoch), so
 *   a certificate revoked on this instance is never served after the revocation.
 * - Another instance's revocation reaches this one within VIEWER_ACCESS_CACHE_MS, the same bound
 *   as the session cache's (src/lti/session.service.ts SESSION_CACHE_MS): a session erased
 *   elsewhere is also still honoured here for that long.
 * - Only the stored-PDF download reads it; pages always read the certificate from the database.
 */
import type { Connection } from 'mongoose';
import type { IssueDoc } from './issue.model';
import type { CertificateViewer } from './certificate.queries';

/** As long as a cached session (src/lti/session.service.ts SESSION_CACHE_MS). */
export const VIEWER_ACCESS_CACHE_MS = 60_000;
const MAX_ENTRIES = 20_000;

interface Entry {
  issue: IssueDoc;
  cachedAt: number;
}
interface Cache {
  /** Bumped by every certificate write: a read that saw another epoch is not remembered. */
  epoch: number;
  entries: Map<string, Entry>;
}
const caches = new WeakMap<Connection, Cache>();

function cacheOf(conn: Connection): Cache {
  let cache = caches.get(conn);
  if (!cache) caches.set(conn, (cache = { epoch: 0, entries: new Map() }));
  return cache;
}

const keyOf = (viewer: CertificateViewer, issueId: string) => `${String(viewer.courseId)} ${viewer.role} ${viewer.userId} ${issueId}`;

/** Taken before reading a certificate; give it to rememberViewerAccess. */
export function viewerAccessEpoch(conn: Connection): number {
  return cacheOf(conn).epoch;
}

/** The certificate this viewer was allowed to see, when that was decided less than VIEWER_ACCESS_CACHE_MS ago. */
export function cachedViewerAccess(conn: Connection, viewer: CertificateViewer, issueId: string, nowMs = Date.now()): IssueDoc | undefined {
  const cache = caches.get(conn);
  const entry = cache?.entries.get(keyOf(viewer, issueId));
  if (!entry) return undefined;
  if (nowMs - entry.cachedAt >= VIEWER_ACCESS_CACHE_MS) {
    cache!.entries.delete(keyOf(viewer, issueId));
    return undefined;
  }
  return entry.issue;
}

/** Remembers that certificateForViewer let this viewer see `issue` (read at `epoch`). */
export function rememberViewerAccess(conn: Connection, viewer: CertificateViewer, issue: IssueDoc, epoch: number, nowMs = Date.now()): void {
  const cache = cacheOf(conn);
  if (cache.epoch !== epoch) return;
  if (cache.entries.size >= MAX_ENTRIES) cache.entries.clear();
  cache.entries.set(keyOf(viewer, String(issue._id)), { issue, cachedAt: nowMs });
}

/** Forgets every remembered permission on this connection (a certificate is being changed). */
export function forgetViewerAccess(conn: Connection): void {
  const cache = cacheOf(conn);
  cache.epoch++;
  cache.entries.clear();
}

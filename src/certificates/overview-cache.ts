/**
 * A short-lived cache of the roster overview, so that paging, sorting and filtering a course of
 * 5,000 learners costs one overview, not one per click (the overview reads every grade of the
 * course: seconds on the embedded engine).
 *
 * Never stale by construction: the key includes what changes the overview — the definition's
 * version, the newest audit entry (every issue, re-issue, revoke and definition change writes
 * one) and the newest grade import run with its status (syncs, learner refreshes and CSV imports
 * each record one). Expiry dates depend on the clock, hence the time limit on every entry.
 */
import type { Connection, Types } from 'mongoose';
import { auditModel } from './audit.model';
import type { DefinitionDoc } from './definition.model';
import { courseOverview, type CourseOverview } from './overview.service';
import { syncRunModel } from '../grades/sync-run.model';

export interface OverviewCache {
  /** The overview of `definition` at `now`, from the cache when nothing changed since. */
  get(conn: Connection, definition: DefinitionDoc, now: Date): Promise<CourseOverview>;
}

export function createOverviewCache(opts: { ttlMs?: number; maxEntries?: number } = {}): OverviewCache {
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxEntries = opts.maxEntries ?? 8;
  // Map order is insertion order: re-inserting on use makes the first entry the least recently used.
  const entries = new Map<string, { key: string; at: number; overview: CourseOverview }>();

  async function versionOf(conn: Connection, courseId: Types.ObjectId, definition: DefinitionDoc): Promise<string> {
    const [audit, run] = await Promise.all([
      auditModel(conn).findOne({ courseId }, { _id: 1 }).sort({ at: -1, _id: -1 }).lean(),
      syncRunModel(conn).findOne({ courseId }, { _id: 1, status: 1, finishedAt: 1 }).sort({ startedAt: -1, _id: -1 }).lean(),
    ]);
    return [definition.version, audit?._id ?? '-', run?._id ?? '-', run?.status ?? '-', run?.finishedAt?.getTime() ?? '-'].join(':');
  }

  return {
    async get(conn, definition, now) {
      const slot = String(definition._id);
      const key = await versionOf(conn, definition.courseId, definition);
      const hit = entries.get(slot);
      if (hit && hit.key === key && now.getTime() - hit.at < ttlMs && now.getTime() >= hit.at) {
        entries.delete(slot);
        entries.set(slot, hit);
        return hit.overview;
      }
      const overview = await courseOverview(conn, definition.courseId, definition._id, now);
      entries.delete(slot);
      entries.set(slot, { key, at: now.getTime(), overview });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      return overview;
    },
  };
}

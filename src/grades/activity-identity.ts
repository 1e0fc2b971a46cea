/**
 * One activity, however it reached the tool. The same activity can arrive twice: the tool's own
 * LTI activity over AGS and again as Moodle's CSV column `External tool: <name> (Real)` (or as a
 * Moodle web-service grade item of module `lti`). It must count once. And the column tied to the
 * resource link the tool is launched from is the launcher, never a course activity.
 *
 * Pure functions over stored columns, used when the grades are loaded for the rules.
 */
import type { ColumnKind, GradeSourceKind } from './sources/grade-source';

/** Why a current column takes no part in "all activities". */
export type ColumnExclusion = 'launcher' | 'duplicate' | 'total';

export interface IdentifiableColumn {
  _id: { toString(): string };
  source: GradeSourceKind;
  label: string;
  resourceLinkId?: string;
  kind?: ColumnKind;
}

/** Sources in order of preference when one activity comes from several: the live, per-learner ones first. */
const PREFERENCE: Record<GradeSourceKind, number> = { ags: 0, moodle: 1, chamilo: 2, canvas: 3, csv: 4 };

/** Moodle's export names a tool activity `External tool: <name>`, with the display type in brackets. */
const MOODLE_TOOL_COLUMN = /^External tool:\s*(.+?)(?:\s+\((?:Real|Percentage|Letter)\))?\s*$/i;

const norm = (s: string) => s.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();

/** The name of the tool activity a column names, when it is one (by link or by Moodle's prefix). */
function toolActivityName(c: IdentifiableColumn): string | undefined {
  const m = MOODLE_TOOL_COLUMN.exec(c.label);
  if (m) return norm(m[1]!);
  return c.resourceLinkId !== undefined ? norm(c.label) : undefined;
}

/**
 * For each column that should not count as a course activity of its own, why: `launcher` (tied to
 * a resource link the tool is launched from), `duplicate` (the same tool activity as a preferred
 * column of another source, matched by resource link, else by the activity's name), `total`
 * (categories and course totals). Keyed by the column's id.
 */
export function columnExclusions(columns: readonly IdentifiableColumn[], launcherLinkIds: ReadonlySet<string>): Map<string, { reason: ColumnExclusion; sameAs?: string }> {
  const out = new Map<string, { reason: ColumnExclusion; sameAs?: string }>();
  const ordered = [...columns].sort((a, b) => PREFERENCE[a.source] - PREFERENCE[b.source]);
  // First column seen per tool activity (by link, by name), with its source and whether it is the launcher.
  type Seen = { id: string; source: GradeSourceKind; launcher: boolean };
  const byLink = new Map<string, Seen>();
  const byName = new Map<string, Seen>();
  for (const c of ordered) {
    const id = String(c._id);
    if (c.kind === 'category' || c.kind === 'course-total') {
      out.set(id, { reason: 'total' });
      continue;
    }
    const name = toolActivityName(c);
    const seen = (c.resourceLinkId !== undefined ? byLink.get(c.resourceLinkId) : undefined) ?? (name !== undefined ? byName.get(name) : undefined);
    // Only a column of another source is the same activity: two AGS line items may share a name.
    if (seen && seen.source !== c.source) {
      out.set(id, seen.launcher ? { reason: 'launcher', sameAs: seen.id } : { reason: 'duplicate', sameAs: seen.id });
      continue;
    }
    const launcher = c.resourceLinkId !== undefined && launcherLinkIds.has(c.resourceLinkId);
    if (launcher) out.set(id, { reason: 'launcher' });
    const entry = { id, source: c.source, launcher };
    if (c.resourceLinkId !== undefined && !byLink.has(c.resourceLinkId)) byLink.set(c.resourceLinkId, entry);
    if (name !== undefined && !byName.has(name)) byName.set(name, entry);
  }
  return out;
}

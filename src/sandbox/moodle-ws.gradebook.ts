/**
 * A sandbox course's gradebook seen the way Moodle's user report builds it for the web service
 * (grade/report/user/classes/report/user.php `fill_table_recursive`): one row per grade item in
 * gradebook order, the course total last, with the values `gradereport_user_get_grade_items` puts
 * in `gradeitems[]` (grade/report/user/classes/external/user.php `get_grade_items_returns`).
 *
 * Moodle's defaults are modelled: "Natural" aggregation with "Exclude empty grades" on, so a
 * learner's course total is the sum over the items they were graded on, out of the sum of those
 * items' maxima (grade_grade::get_grade_max), and each item's weight is its maximum over the sum of
 * the maxima (lib/grade/grade_category.php `aggregate_grades`). Hidden items are returned with
 * their values only to a user holding moodle/grade:viewhidden; to others they are left out
 * (the report's default `showhiddenitems` = "hide until"), as for a learner.
 */
import type { SandboxStore } from './sandbox.store';

export interface GradebookItem {
  id: number;
  /** null for totals (their name is the category's). */
  itemname: string | null;
  itemtype: 'mod' | 'manual' | 'category' | 'course';
  itemmodule: string | null;
  iteminstance: number | null;
  itemnumber: number | null;
  idnumber: string | null;
  categoryid: number | null;
  cmid?: number;
  grademin: number;
  grademax: number;
  hidden: boolean;
  locked: boolean;
}

export interface GradebookGrade {
  value: number | null;
  /** Unix seconds. */
  dategraded: number | null;
}

/** Where the emulation reads a course's grade items and grades from. */
export interface GradebookReader {
  /** Graded items (activities and manual items) in gradebook order, totals excluded. */
  items(courseId: string): GradebookItem[];
  grade(courseId: string, itemId: number, userId: string): GradebookGrade | undefined;
}

/** Item ids of course totals live above the store's line item ids. */
const COURSE_ITEM_BASE = 900_000;

/**
 * Reads the sandbox gradebook (the store's columns) as Moodle grade items: `module` is Moodle's
 * itemmodule (`manual` = itemtype `manual`, no module); the tool's own External tool activity has
 * its mod_lti instance id, which is the launch's resource_link.id (mod/lti/locallib.php).
 */
export function storeGradebook(store: SandboxStore): GradebookReader {
  return {
    items(courseId) {
      return store.listLineItems(courseId).map((li) => {
        const id = Number(li.id);
        const manual = li.module === 'manual';
        return {
          id,
          itemname: li.label,
          itemtype: manual ? 'manual' : 'mod',
          itemmodule: manual ? null : li.module,
          iteminstance: manual ? null : li.module === 'lti' && li.resourceLinkId ? Number(li.resourceLinkId) : id,
          itemnumber: 0,
          idnumber: li.idnumber ?? '',
          categoryid: Number(courseId),
          ...(manual ? {} : { cmid: 1000 + id }),
          grademin: 0,
          grademax: li.scoreMaximum,
          hidden: li.hidden === true,
          locked: false,
        } satisfies GradebookItem;
      });
    },
    grade(courseId, itemId, userId) {
      const r = store.getResult(courseId, String(itemId), userId);
      if (!r) return undefined;
      const item = store.getLineItem(courseId, String(itemId));
      // Moodle stores a grade on the item's own scale.
      const value = item && r.scoreMaximum !== item.scoreMaximum ? (r.scoreGiven / r.scoreMaximum) * item.scoreMaximum : r.scoreGiven;
      return { value, dategraded: Math.floor(Date.parse(r.timestamp) / 1000) };
    },
  };
}

/** The course total item of a course (grade_item::fetch_course_item). */
export function courseTotalItem(courseId: string, grademax: number): GradebookItem {
  return {
    id: COURSE_ITEM_BASE + Number(courseId),
    itemname: null,
    itemtype: 'course',
    itemmodule: null,
    iteminstance: Number(courseId),
    itemnumber: null,
    idnumber: null,
    categoryid: null,
    grademin: 0,
    grademax,
    hidden: false,
    locked: false,
  };
}

const fmt = (n: number) => n.toFixed(2);

/**
 * One user's `gradeitems[]`, as the web-service user sees them. With "exclude empty grades" an
 * ungraded item weighs 0 (`status: "novalue"`) and the graded ones share the course total, out of
 * the sum of their maxima (test/fixtures/moodle-ws/gradereport_user_get_grade_items.full.json).
 */
export function userGradeItems(reader: GradebookReader, courseId: string, userId: string, opts: { canViewHidden: boolean }): Record<string, unknown>[] {
  const visible = reader.items(courseId).filter((i) => opts.canViewHidden || !i.hidden);
  const graded = visible.map((item) => ({ item, g: reader.grade(courseId, item.id, userId) }));
  const possible = graded.reduce((s, x) => s + (x.g?.value != null ? x.item.grademax : 0), 0);
  const earned = graded.reduce((s, x) => s + (x.g?.value ?? 0), 0);
  const lastGraded = graded.reduce<number | null>((m, x) => (x.g?.dategraded != null ? Math.max(m ?? 0, x.g.dategraded) : m), null);
  const rows = graded.map(({ item, g }) => {
    const value = g?.value ?? null;
    return row(item, value, value === null ? null : (g?.dategraded ?? null), { weight: value === null || possible === 0 ? 0 : item.grademax / possible, status: value === null ? 'novalue' : undefined });
  });
  const total = courseTotalItem(courseId, possible > 0 ? possible : visible.reduce((s, i) => s + i.grademax, 0));
  rows.push(row(total, possible > 0 ? earned : null, lastGraded, undefined));
  return rows;
}

function row(item: GradebookItem, value: number | null, dategraded: number | null, weight: { weight: number; status?: string } | undefined): Record<string, unknown> {
  const percent = value === null || item.grademax === item.grademin ? '-' : `${fmt(((value - item.grademin) / (item.grademax - item.grademin)) * 100)} %`;
  return {
    id: item.id,
    itemname: item.itemname,
    itemtype: item.itemtype,
    itemmodule: item.itemmodule,
    iteminstance: item.iteminstance,
    itemnumber: item.itemnumber,
    idnumber: item.idnumber,
    categoryid: item.categoryid,
    outcomeid: null,
    scaleid: null,
    locked: item.locked,
    ...(item.cmid !== undefined ? { cmid: item.cmid } : {}),
    // The course total carries no weight of its own.
    ...(weight ? { weightraw: Math.round(weight.weight * 100000) / 100000, weightformatted: `${fmt(weight.weight * 100)} %` } : {}),
    ...(weight?.status ? { status: weight.status } : {}),
    graderaw: value,
    gradedatesubmitted: null,
    gradedategraded: dategraded,
    gradehiddenbydate: false,
    gradeneedsupdate: false,
    gradeishidden: item.hidden,
    gradeislocked: item.locked,
    gradeisoverridden: false,
    gradeformatted: value === null ? '-' : fmt(value),
    grademin: item.grademin,
    grademax: item.grademax,
    rangeformatted: `${fmtRange(item.grademin)}&ndash;${fmtRange(item.grademax)}`,
    percentageformatted: percent,
    feedback: '',
    feedbackformat: 2,
  };
}

/** Moodle formats a range with the item's decimals, dropping trailing zeros of whole numbers ("0&ndash;10"). */
const fmtRange = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

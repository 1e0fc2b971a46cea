/**
 * Rule evaluation: does a learner qualify for a certificate, with which score, and why (not)?
 *
 * A pure function of a definition's rules and one learner's imported grades, so that the claim
 * page, the teacher overview, "generate all" and stale detection all decide the same way and a
 * unit test can pin every case. Reasons are codes with parameters, never sentences: the pages
 * translate them.
 *
 * Semantics (written here once because Chamilo and customcert users keep tripping over them):
 * - The score is the weighted mean of the counted items' percentages; an ungraded counted item
 *   contributes 0 but is flagged (`graded: false`) and reported (`not_all_graded` when the
 *   definition requires every item to be graded, else the `ungraded_counted_as_zero` notice).
 * - An item is counted when it exists, has a weight above 0 and a maximum above 0. Weights need
 *   not sum to 1 or 100: each counted item's share is its weight over the sum of counted weights.
 * - A non-mandatory item's minimum is a requirement of its own (`item_below_minimum`). A
 *   mandatory item's minimum is what "passing" that item means, and the rule is "at least N of
 *   the mandatory items passed" (`mandatory_not_met`), ALM style; N defaults to all of them.
 * - The threshold is compared on the exact value with a tiny epsilon for float noise, never after
 *   rounding: 79.995% does not reach 80%.
 */

import { createHash } from 'node:crypto';
import { labelRefParams } from '../grades/label-ref';

/** Float noise tolerance in percentage points (far below any displayed precision). */
const EPSILON = 1e-9;
/** Smallest score change that makes a certificate stale. */
const STALE_EPSILON = 1e-6;

export interface SelectedItem {
  lineItemId: string;
  weight: number;
  minimumPercent?: number | null;
  mandatory?: boolean;
}

/** Which line items count: every current one with equal weight, or an explicit selection. */
/**
 * Which columns count. `all` counts every course activity — but only those in `known` (the
 * columns there were when the teacher made or last confirmed the definition), so that a source
 * bringing new columns never silently changes who qualifies; `known` absent (older definitions)
 * means every current activity.
 */
export type ItemSelection = { mode: 'all'; known?: string[] } | { mode: 'selected'; items: SelectedItem[] } | GroupSelection;

/**
 * The LMS's own weighting: every current category column (Canvas assignment groups, Moodle
 * categories) counts with the weight the LMS gives it (`GradeLineItem.weight`: Canvas's
 * `group_weight` when the course applies group weights, else the group's points possible), so the
 * score is the course score the LMS computes from those groups. A category without a weight counts 0.
 */
export interface GroupSelection {
  mode: 'groups';
  /** Only the categories of this source (e.g. `canvas`); absent = every source's. */
  source?: string;
}

/** The part of a certificate definition that decides eligibility. */
export interface EligibilityRules {
  items: ItemSelection;
  /** 0–100. */
  thresholdPercent: number;
  /** The guard against temporary scores (R5): every relevant item must be graded. */
  requireAllGraded: boolean;
  /** "At least N of the mandatory items"; null/absent means all of them. */
  mandatoryMinimum?: number | null;
}

/** A line item as the grade models store it (`_id`) or already keyed (`id`). */
export interface GradeLineItem {
  id?: string;
  _id?: { toString(): string } | string;
  label: string;
  scoreMaximum: number;
  removedAt?: Date | null;
  /** Where the column came from (ags, moodle, chamilo, csv), and its name for people (AGS, Moodle…). */
  source?: string;
  sourceLabel?: string;
  /** Set when the tool wrote the label (src/grades/column-label.ts): a page shows this message instead. */
  labelRef?: { key: string; params?: Record<string, string | number> };
  /** Set when the column is no course activity of its own: the tool's launcher, a copy, a total. Never counted by "all". */
  excluded?: 'launcher' | 'duplicate' | 'total';
  /** What the column is in the LMS (`activity`, `category`, `course-total`) and its LMS weight: "groups" counts categories by it. */
  kind?: string;
  weight?: number;
}

export interface GradeResult {
  scoreGiven: number | null;
  scoreMaximum?: number | null;
}

/** One learner's grades: the course's line items and the learner's results keyed by line item id. */
export interface LearnerGrades {
  lineItems: readonly GradeLineItem[];
  results: ReadonlyMap<string, GradeResult>;
}

export type ReasonCode =
  | 'no_items'
  | 'not_all_graded'
  | 'below_threshold'
  | 'item_below_minimum'
  | 'mandatory_not_met';

export type NoticeCode = 'ungraded_counted_as_zero' | 'item_missing' | 'zero_maximum';

export interface Reason<C extends string = ReasonCode> {
  code: C;
  params: Record<string, string | number | null>;
}

export interface EvaluatedItem {
  lineItemId: string;
  label: string;
  weight: number;
  /** This item's share of the score, 0–1 (0 when not counted). */
  weightShare: number;
  /** Whether the item contributes to the score. */
  counted: boolean;
  graded: boolean;
  scoreGiven: number | null;
  scoreMaximum: number;
  /** Percentage of this item, null when ungraded or when its maximum is 0. */
  percent: number | null;
  minimumPercent?: number;
  minimumMet?: boolean;
  mandatory: boolean;
  /** The selected line item no longer exists in the course (removed in the LMS). */
  missing?: boolean;
  /** Where the column comes from (`ags`, `moodle`, `chamilo`, `csv`) and its name for people. */
  source?: string;
  sourceLabel?: string;
  /** The column's label in the viewer's language, when the tool wrote it (see GradeLineItem). */
  labelRef?: { key: string; params?: Record<string, string | number> };
}

export interface Evaluation {
  eligible: boolean;
  /** Weighted score over all counted items, ungraded ones as 0. Exact value; round for display only. */
  scorePercent: number;
  /** Weighted score over the graded counted items only (informative); null when none is graded. */
  gradedPercent: number | null;
  thresholdPercent: number;
  requireAllGraded: boolean;
  /** Items that must be graded (counted, mandatory, or with a minimum) and how many are. */
  gradedCount: number;
  itemCount: number;
  items: EvaluatedItem[];
  /** Why the learner is not eligible; empty when eligible. */
  reasons: Reason[];
  /** Facts the learner should see even when eligible (e.g. an ungraded item counted as 0). */
  notices: Reason<NoticeCode>[];
}

/** Rounds a percentage DOWN to two decimals for display, so a failing score never prints as passing. */
export function floorPercent(value: number): number {
  return Math.floor(value * 100 + 1e-7) / 100;
}

function lineItemKey(li: GradeLineItem): string {
  return li.id ?? String(li._id);
}

function isRemoved(li: GradeLineItem): boolean {
  return li.removedAt !== undefined && li.removedAt !== null;
}

/** The course activities "all" may count now: current, not the launcher, a copy or a total. */
export function activitiesOf(lineItems: readonly GradeLineItem[]): GradeLineItem[] {
  return lineItems.filter((li) => !isRemoved(li) && li.excluded === undefined);
}

/** The columns an "all" selection counts: the activities it knows (all of them when it knows none). */
export function countedByAll(items: { known?: readonly string[] }, lineItems: readonly GradeLineItem[]): GradeLineItem[] {
  const activities = activitiesOf(lineItems);
  if (!items.known) return activities;
  const known = new Set(items.known);
  return activities.filter((li) => known.has(lineItemKey(li)));
}

/** The category columns a "groups" selection counts, each with the LMS's weight. */
export function countedByGroups(sel: GroupSelection, lineItems: readonly GradeLineItem[]): SelectedItem[] {
  return lineItems
    .filter((li) => !isRemoved(li) && li.kind === 'category' && (sel.source === undefined || li.source === sel.source) && li.excluded !== 'duplicate' && li.excluded !== 'launcher')
    .map((li) => ({ lineItemId: lineItemKey(li), weight: typeof li.weight === 'number' && li.weight > 0 ? li.weight : 0 }));
}

/** Activities that arrived after an "all" definition was made or last confirmed: listed for the teacher, not counted. */
export function newSinceDefinition(items: ItemSelection, lineItems: readonly GradeLineItem[]): GradeLineItem[] {
  if (items.mode !== 'all' || !items.known) return [];
  const known = new Set(items.known);
  return activitiesOf(lineItems).filter((li) => !known.has(lineItemKey(li)));
}

/**
 * Decides whether one learner qualifies under `rules`, with the weighted score and every reason.
 * Pure: no clock, no database.
 */
export function evaluateEligibility(rules: EligibilityRules, grades: LearnerGrades): Evaluation {
  const byId = new Map<string, GradeLineItem>();
  for (const li of grades.lineItems) byId.set(lineItemKey(li), li);

  const selection: SelectedItem[] =
    rules.items.mode === 'all'
      ? countedByAll(rules.items, grades.lineItems).map((li) => ({ lineItemId: lineItemKey(li), weight: 1 }))
      : rules.items.mode === 'groups'
        ? countedByGroups(rules.items, grades.lineItems)
        : rules.items.items;

  const notices: Reason<NoticeCode>[] = [];
  const items: EvaluatedItem[] = selection.map((sel) => {
    const li = byId.get(sel.lineItemId);
    const missing = !li || isRemoved(li);
    const result = grades.results.get(sel.lineItemId);
    const given = result?.scoreGiven;
    const graded = !missing && typeof given === 'number' && Number.isFinite(given);
    // The result's own maximum is the scale it was scored on; the line item's may have changed since.
    const max = result?.scoreMaximum && result.scoreMaximum > 0 ? result.scoreMaximum : li?.scoreMaximum ?? 0;
    const percent = graded && max > 0 ? ((given as number) / max) * 100 : null;
    const mandatory = sel.mandatory === true;
    const item: EvaluatedItem = {
      lineItemId: sel.lineItemId,
      label: li?.label ?? sel.lineItemId,
      weight: sel.weight,
      weightShare: 0,
      counted: !missing && sel.weight > 0 && max > 0,
      graded,
      scoreGiven: graded ? (given as number) : null,
      scoreMaximum: max,
      percent,
      mandatory,
    };
    if (li?.source) item.source = li.source;
    if (li?.sourceLabel) item.sourceLabel = li.sourceLabel;
    if (li?.labelRef) item.labelRef = li.labelRef;
    if (missing) {
      item.missing = true;
      notices.push({ code: 'item_missing', params: { lineItemId: sel.lineItemId } });
    } else if (max <= 0 && sel.weight > 0) {
      notices.push({ code: 'zero_maximum', params: { lineItemId: sel.lineItemId, label: item.label, ...labelRefParams(item.labelRef) } });
    }
    if (sel.minimumPercent !== undefined && sel.minimumPercent !== null) {
      item.minimumPercent = sel.minimumPercent;
      item.minimumMet = graded && (percent === null || percent >= sel.minimumPercent - EPSILON);
    }
    return item;
  });

  const counted = items.filter((i) => i.counted);
  const totalWeight = counted.reduce((s, i) => s + i.weight, 0);
  let weightedSum = 0;
  let gradedWeight = 0;
  let gradedSum = 0;
  for (const i of counted) {
    i.weightShare = i.weight / totalWeight;
    if (i.percent !== null) {
      weightedSum += i.weight * i.percent;
      gradedWeight += i.weight;
      gradedSum += i.weight * i.percent;
    }
  }
  const scorePercent = totalWeight > 0 ? weightedSum / totalWeight : 0;
  const gradedPercent = gradedWeight > 0 ? gradedSum / gradedWeight : null;

  const relevant = items.filter((i) => !i.missing && (i.counted || i.mandatory || i.minimumPercent !== undefined));
  const gradedCount = relevant.filter((i) => i.graded).length;
  const ungraded = relevant.length - gradedCount;

  const reasons: Reason[] = [];
  if (counted.length === 0) reasons.push({ code: 'no_items', params: {} });
  if (ungraded > 0) {
    if (rules.requireAllGraded) {
      reasons.push({ code: 'not_all_graded', params: { missing: ungraded, total: relevant.length } });
    } else {
      notices.unshift({ code: 'ungraded_counted_as_zero', params: { missing: ungraded, total: relevant.length } });
    }
  }

  const mandatoryItems = items.filter((i) => i.mandatory);
  if (mandatoryItems.length > 0) {
    const passed = mandatoryItems.filter((i) => i.graded && i.minimumMet !== false).length;
    const required = Math.min(rules.mandatoryMinimum ?? mandatoryItems.length, mandatoryItems.length);
    if (passed < required) {
      reasons.push({ code: 'mandatory_not_met', params: { met: passed, required, total: mandatoryItems.length } });
    }
  }

  for (const i of items) {
    if (i.mandatory || i.minimumMet !== false || i.missing) continue;
    reasons.push({
      code: 'item_below_minimum',
      params: {
        lineItemId: i.lineItemId,
        label: i.label,
        ...labelRefParams(i.labelRef),
        percent: i.percent === null ? null : floorPercent(i.percent),
        minimum: i.minimumPercent ?? null,
      },
    });
  }

  if (counted.length > 0 && scorePercent < rules.thresholdPercent - EPSILON) {
    reasons.push({ code: 'below_threshold', params: { score: floorPercent(scorePercent), threshold: rules.thresholdPercent } });
  }

  return {
    eligible: reasons.length === 0,
    scorePercent,
    gradedPercent,
    thresholdPercent: rules.thresholdPercent,
    requireAllGraded: rules.requireAllGraded,
    gradedCount,
    itemCount: relevant.length,
    items,
    reasons,
    notices,
  };
}

/** Rounds to the stale tolerance, so float noise gives the same fingerprint. */
function fingerprintNumber(n: number | null): string {
  return n === null ? '-' : String(Math.round(n / STALE_EPSILON));
}

/**
 * A short string that changes whenever `compareToSnapshot` could report a change: the score and
 * each item's grade, percentage, share and counting. Stored with each certificate so that an
 * overview of thousands compares strings and loads the per-item snapshot only where they differ.
 * Equal fingerprints mean "not stale"; different ones are confirmed with `compareToSnapshot`.
 */
export function evaluationFingerprint(e: EvaluationSnapshot): string {
  const parts = e.items
    .map((i) => `${i.lineItemId}:${i.graded ? 1 : 0}${i.counted ? 1 : 0}:${fingerprintNumber(i.percent)}:${fingerprintNumber(i.weightShare)}`)
    .sort();
  return createHash('sha1').update(`${fingerprintNumber(e.scorePercent)}|${parts.join(',')}`).digest('base64url');
}

/** What an issued certificate recorded, as far as staleness is concerned. */
export interface EvaluationSnapshot {
  scorePercent: number;
  items: ReadonlyArray<Pick<EvaluatedItem, 'lineItemId' | 'label' | 'graded' | 'percent' | 'weightShare' | 'counted' | 'labelRef'>>;
}

export interface ItemChange {
  lineItemId: string;
  /** The stored label (English when the tool wrote it); `labelRef` shows it in the viewer's language. */
  label: string;
  labelRef?: { key: string; params?: Record<string, string | number> };
  before: { graded: boolean; percent: number | null; counted: boolean } | null;
  after: { graded: boolean; percent: number | null; counted: boolean } | null;
}

export interface SnapshotComparison {
  /** The certificate no longer says what the grades say now (score or per-item breakdown). */
  stale: boolean;
  scoreChanged: boolean;
  issuedScore: number;
  currentScore: number;
  itemChanges: ItemChange[];
  /** Whether the learner would qualify today (a re-issue needs it). */
  stillEligible: boolean;
}

function differs(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a !== b;
  return Math.abs(a - b) > STALE_EPSILON;
}

/**
 * Compares what a certificate recorded with a fresh evaluation ("issued at 85%, now 95%").
 * A certificate is stale when its score or any item's grade, percentage or share changed.
 */
export function compareToSnapshot(issued: EvaluationSnapshot, current: Evaluation): SnapshotComparison {
  const before = new Map(issued.items.map((i) => [i.lineItemId, i]));
  const after = new Map(current.items.map((i) => [i.lineItemId, i]));
  const itemChanges: ItemChange[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(id);
    const a = after.get(id);
    const changed =
      !a || !b || a.graded !== b.graded || a.counted !== b.counted || differs(a.percent, b.percent) || differs(a.weightShare, b.weightShare);
    if (!changed) continue;
    const item = (a ?? b)!;
    itemChanges.push({
      lineItemId: id,
      label: item.label,
      ...(item.labelRef ? { labelRef: item.labelRef } : {}),
      before: b ? { graded: b.graded, percent: b.percent, counted: b.counted } : null,
      after: a ? { graded: a.graded, percent: a.percent, counted: a.counted } : null,
    });
  }
  const scoreChanged = differs(issued.scorePercent, current.scorePercent);
  return {
    stale: scoreChanged || itemChanges.length > 0,
    scoreChanged,
    issuedScore: issued.scorePercent,
    currentScore: current.scorePercent,
    itemChanges,
    stillEligible: current.eligible,
  };
}

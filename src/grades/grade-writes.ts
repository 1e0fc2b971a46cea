/**
 * Turning "what the platform (or a CSV file) says now" into the smallest set of writes against
 * what is stored. Shared by the AGS sync and the CSV import, so both keep history the same way.
 *
 * Every write is a single-document operation guarded so that two runs racing (a learner's launch
 * during a course sync) cannot both push the same history entry: updates of a result match on
 * `changedAt` as well as `_id`; a new document is an insert that the unique index (courseId +
 * lineItemId + userId, courseId + userId, courseId + source + externalId) refuses when another run
 * inserted it first. That is what an upsert keyed on the same index would do, at less than half
 * the cost on the embedded engine (measured in bench/README.md).
 */
import { Types, type mongo } from 'mongoose';
import type { GradeSourceKind } from './sources/grade-source';
import type { ColumnKind } from './sources/grade-source';
import type { Member, MemberStatus } from './member.model';
import type { Result } from './result.model';
import type { LineItem } from './line-item.model';

type Document = mongo.Document;
type AnyBulkWriteOperation<T extends Document> = mongo.AnyBulkWriteOperation<T>;
type Collection<T extends Document> = mongo.Collection<T>;

/** A score as a source reports it. */
export interface IncomingScore {
  userId: string;
  scoreGiven: number | null;
  scoreMaximum: number;
  timestamp?: Date;
  comment?: string;
}

export type StoredResult = Pick<Result, '_id' | 'userId' | 'lineItemId' | 'scoreGiven' | 'scoreMaximum' | 'timestamp' | 'comment' | 'changedAt' | 'source'>;

/** Projection that loads exactly what the diff needs. */
export const STORED_RESULT_PROJECTION = {
  _id: 1,
  userId: 1,
  lineItemId: 1,
  scoreGiven: 1,
  scoreMaximum: 1,
  timestamp: 1,
  comment: 1,
  changedAt: 1,
  source: 1,
} as const;

export interface WritePlan {
  ops: AnyBulkWriteOperation<Document>[];
  changed: number;
  unchanged: number;
}

const sameDate = (a?: Date | null, b?: Date | null) => (a ? a.getTime() : null) === (b ? b.getTime() : null);
const sameValue = <V>(a: V | null | undefined, b: V | undefined) => (a ?? undefined) === b;

/** Puts each optional field whose value changed into `$set`, or into `$unset` when it is now absent. */
function diffOptionalFields<K extends string, V>(
  old: Partial<Record<K, V | null>>,
  next: Partial<Record<K, V>>,
  fields: readonly K[],
  same: (a: V | null | undefined, b: V | undefined) => boolean,
  update: { $set: Document; $unset: Document },
): void {
  for (const f of fields) {
    if (same(old[f], next[f])) continue;
    if (next[f] === undefined) update.$unset[f] = '';
    else update.$set[f] = next[f];
  }
}
const sameText = (a?: string | null, b?: string | null) => (a ?? '') === (b ?? '');

/**
 * Plans the writes for one line item's scores.
 * - new learner: insert (the unique index on courseId+lineItemId+userId refuses a second one);
 * - score or maximum changed: update, previous value pushed to `history` (from its changedAt to now);
 * - only comment/timestamp changed: update those, no history;
 * - `missingClears`: a stored score no longer reported becomes null (with history), e.g. a grade
 *   deleted in the LMS; only used when the listing was complete.
 */
export function planResultWrites(args: {
  courseId: Types.ObjectId;
  lineItemId: Types.ObjectId;
  source: GradeSourceKind;
  incoming: Iterable<IncomingScore>;
  stored: Map<string, StoredResult>;
  now: Date;
  /** userIds whose stored scores are cleared when absent from `incoming`. */
  missingClears?: Iterable<string>;
}): WritePlan {
  const { courseId, lineItemId, source, now } = args;
  const ops: AnyBulkWriteOperation<Document>[] = [];
  let changed = 0;
  let unchanged = 0;
  const seen = new Set<string>();

  const change = (old: StoredResult, next: IncomingScore) => {
    const scoreChanged = old.scoreGiven !== next.scoreGiven || old.scoreMaximum !== next.scoreMaximum;
    const $set: Document = {
      scoreGiven: next.scoreGiven,
      scoreMaximum: next.scoreMaximum,
      timestamp: next.timestamp,
      comment: next.comment,
      source,
      fetchedAt: now,
      updatedAt: now,
    };
    if (!scoreChanged) {
      ops.push({ updateOne: { filter: { _id: old._id, changedAt: old.changedAt }, update: { $set } } });
      return;
    }
    $set.changedAt = now;
    ops.push({
      updateOne: {
        filter: { _id: old._id, changedAt: old.changedAt },
        update: {
          $set,
          $push: { history: { scoreGiven: old.scoreGiven, scoreMaximum: old.scoreMaximum, from: old.changedAt, to: now, source: old.source } } as Document,
        },
      },
    });
  };

  for (const next of args.incoming) {
    if (seen.has(next.userId)) continue;
    seen.add(next.userId);
    const old = args.stored.get(next.userId);
    if (!old) {
      const doc: Document = {
        courseId,
        lineItemId,
        userId: next.userId,
        scoreGiven: next.scoreGiven,
        scoreMaximum: next.scoreMaximum,
        source,
        fetchedAt: now,
        changedAt: now,
        history: [],
        createdAt: now,
        updatedAt: now,
      };
      if (next.timestamp) doc.timestamp = next.timestamp;
      if (next.comment !== undefined) doc.comment = next.comment;
      ops.push({ insertOne: { document: doc } });
      changed++;
      continue;
    }
    if (
      old.scoreGiven === next.scoreGiven &&
      old.scoreMaximum === next.scoreMaximum &&
      sameText(old.comment, next.comment) &&
      sameDate(old.timestamp, next.timestamp)
    ) {
      unchanged++;
      continue;
    }
    change(old, next);
    changed++;
  }

  for (const userId of args.missingClears ?? []) {
    if (seen.has(userId)) continue;
    const old = args.stored.get(userId);
    if (!old || old.scoreGiven === null) continue;
    change(old, { userId, scoreGiven: null, scoreMaximum: old.scoreMaximum });
    changed++;
  }
  return { ops, changed, unchanged };
}

/** A roster entry as the sync wants it stored. */
export interface IncomingMember {
  userId: string;
  name?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
  lisPersonSourcedId?: string;
  roles: string[];
  isLearner: boolean;
  status: MemberStatus;
}

export type StoredMember = Pick<
  Member,
  '_id' | 'userId' | 'name' | 'givenName' | 'familyName' | 'email' | 'lisPersonSourcedId' | 'roles' | 'isLearner' | 'status' | 'leftAt'
> & Partial<Pick<Member, 'teacherLaunchAt'>>;

const MEMBER_FIELDS = ['name', 'givenName', 'familyName', 'email', 'lisPersonSourcedId'] as const;

/** Plans roster writes; `complete` (the whole roster was read) allows marking the absent as left. */
export function planMemberWrites(args: {
  courseId: Types.ObjectId;
  incoming: IncomingMember[];
  stored: Map<string, StoredMember>;
  now: Date;
  complete: boolean;
}): WritePlan {
  const { courseId, now } = args;
  const ops: AnyBulkWriteOperation<Document>[] = [];
  let changed = 0;
  let unchanged = 0;
  const seen = new Set<string>();
  for (const m of args.incoming) {
    if (seen.has(m.userId)) continue;
    seen.add(m.userId);
    const old = args.stored.get(m.userId);
    if (!old) {
      const doc: Document = { courseId, userId: m.userId, roles: m.roles, isLearner: m.isLearner, status: m.status, fetchedAt: now, leftAt: m.status === 'left' ? now : null, createdAt: now, updatedAt: now };
      for (const f of MEMBER_FIELDS) if (m[f] !== undefined) doc[f] = m[f];
      ops.push({ insertOne: { document: doc } });
      changed++;
      continue;
    }
    const $set: Document = {};
    const $unset: Document = {};
    diffOptionalFields(old, m, MEMBER_FIELDS, sameValue, { $set, $unset });
    if (old.roles.length !== m.roles.length || old.roles.some((r, i) => r !== m.roles[i])) $set.roles = m.roles;
    // Someone who launched as a teacher stays no learner, whatever the roster says (member.model.ts).
    const isLearner = m.isLearner && !old.teacherLaunchAt;
    if (old.isLearner !== isLearner) $set.isLearner = isLearner;
    if (old.status !== m.status) {
      $set.status = m.status;
      $set.leftAt = m.status === 'left' ? now : null;
    }
    if (Object.keys($set).length === 0 && Object.keys($unset).length === 0) {
      unchanged++;
      continue;
    }
    Object.assign($set, { fetchedAt: now, updatedAt: now });
    ops.push({ updateOne: { filter: { _id: old._id }, update: Object.keys($unset).length ? { $set, $unset } : { $set } } });
    changed++;
  }
  if (args.complete) {
    for (const old of args.stored.values()) {
      if (seen.has(old.userId) || old.status === 'left') continue;
      ops.push({ updateOne: { filter: { _id: old._id, status: old.status }, update: { $set: { status: 'left', leftAt: now, updatedAt: now } } } });
      changed++;
    }
  }
  return { ops, changed, unchanged };
}

/** A line item as a source reports it. */
export interface IncomingLineItem {
  externalId: string;
  label: string;
  scoreMaximum: number;
  resourceLinkId?: string;
  resourceId?: string;
  tag?: string;
  startDateTime?: Date;
  endDateTime?: Date;
  kind?: ColumnKind;
  weight?: number;
  hidden?: boolean;
}

export type StoredLineItem = Pick<
  LineItem,
  '_id' | 'externalId' | 'label' | 'scoreMaximum' | 'resourceLinkId' | 'resourceId' | 'tag' | 'startDateTime' | 'endDateTime' | 'kind' | 'weight' | 'hidden' | 'removedAt'
>;

const ITEM_TEXT_FIELDS = ['label', 'resourceLinkId', 'resourceId', 'tag', 'kind'] as const;
const ITEM_NUMBER_FIELDS = ['weight'] as const;
const ITEM_FLAG_FIELDS = ['hidden'] as const;
const ITEM_DATE_FIELDS = ['startDateTime', 'endDateTime'] as const;

/** Plans line item writes; `complete` allows marking the absent ones as removed. */
export function planLineItemWrites(args: {
  courseId: Types.ObjectId;
  source: GradeSourceKind;
  incoming: IncomingLineItem[];
  stored: Map<string, StoredLineItem>;
  now: Date;
  complete: boolean;
}): WritePlan {
  const { courseId, source, now } = args;
  const ops: AnyBulkWriteOperation<Document>[] = [];
  let changed = 0;
  let unchanged = 0;
  const seen = new Set<string>();
  for (const li of args.incoming) {
    if (seen.has(li.externalId)) continue;
    seen.add(li.externalId);
    const old = args.stored.get(li.externalId);
    if (!old) {
      const doc: Document = { courseId, source, externalId: li.externalId, label: li.label, scoreMaximum: li.scoreMaximum, fetchedAt: now, removedAt: null, createdAt: now, updatedAt: now };
      for (const f of [...ITEM_TEXT_FIELDS, ...ITEM_DATE_FIELDS, ...ITEM_NUMBER_FIELDS, ...ITEM_FLAG_FIELDS]) if (li[f] !== undefined) doc[f] = li[f];
      ops.push({ insertOne: { document: doc } });
      changed++;
      continue;
    }
    const $set: Document = {};
    const $unset: Document = {};
    diffOptionalFields(old, li, ITEM_TEXT_FIELDS, sameValue, { $set, $unset });
    diffOptionalFields(old, li, ITEM_DATE_FIELDS, sameDate, { $set, $unset });
    diffOptionalFields(old, li, ITEM_NUMBER_FIELDS, sameValue, { $set, $unset });
    diffOptionalFields(old, li, ITEM_FLAG_FIELDS, sameValue, { $set, $unset });
    if (old.scoreMaximum !== li.scoreMaximum) $set.scoreMaximum = li.scoreMaximum;
    if (old.removedAt) $set.removedAt = null;
    if (Object.keys($set).length === 0 && Object.keys($unset).length === 0) {
      unchanged++;
      continue;
    }
    Object.assign($set, { fetchedAt: now, updatedAt: now });
    ops.push({ updateOne: { filter: { _id: old._id }, update: Object.keys($unset).length ? { $set, $unset } : { $set } } });
    changed++;
  }
  if (args.complete) {
    for (const old of args.stored.values()) {
      if (seen.has(old.externalId) || old.removedAt) continue;
      ops.push({ updateOne: { filter: { _id: old._id }, update: { $set: { removedAt: now, updatedAt: now } } } });
      changed++;
    }
  }
  return { ops, changed, unchanged };
}

/** How many documents a bulk write really changed; duplicate-key races count as "someone else did it". */
export interface WriteOutcome {
  written: number;
  raced: number;
}

const BATCH = 5000;

/**
 * Runs the planned operations unordered, in batches. A duplicate key (another run inserted the
 * same document a moment earlier) is not an error: the unique index did its job. `raced` counts
 * the operations that changed nothing for that reason or because their guard no longer matched.
 */
export async function executeWrites(collection: Collection<Document>, ops: AnyBulkWriteOperation<Document>[]): Promise<WriteOutcome> {
  let written = 0;
  let raced = 0;
  for (let i = 0; i < ops.length; i += BATCH) {
    const batch = ops.slice(i, i + BATCH);
    try {
      const r = await collection.bulkWrite(batch, { ordered: false });
      written += r.modifiedCount + r.upsertedCount + r.insertedCount;
      raced += batch.length - (r.modifiedCount + r.upsertedCount + r.insertedCount);
    } catch (err) {
      const e = err as { code?: number; writeErrors?: Array<{ code?: number }> | { code?: number }; result?: { modifiedCount?: number; upsertedCount?: number; insertedCount?: number } };
      const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
      if (writeErrors.length === 0 || writeErrors.some((w) => w.code !== 11000)) throw err;
      const r = e.result ?? {};
      const done = (r.modifiedCount ?? 0) + (r.upsertedCount ?? 0) + (r.insertedCount ?? 0);
      written += done;
      raced += batch.length - done;
    }
  }
  return { written, raced };
}

export const newObjectId = () => new Types.ObjectId();

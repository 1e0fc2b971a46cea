/**
 * Columns of the tool's own in the LMS gradebook, over AGS with the `lineitem` scope: the teacher
 * creates one ("Final project", maximum 20) from the tool, grades it in the LMS, renames or
 * deletes it from the tool. A created column is stored at once (source `ags`, `ownedByTool`), so
 * it is on the teacher's pages before the next sync; the sync keeps it current like any other.
 */
import { randomUUID } from 'node:crypto';
import { Types, type Connection } from 'mongoose';
import type { CourseDoc } from '../courses/course.model';
import { NotFoundError, ValidationError, type MessageRef } from '../errors';
import { inEnglish } from '../i18n/english';
import type { AdvantageClient } from '../lti/advantage';
import { lineItemModel, type LineItem } from './line-item.model';

/** Tag of the columns this tool creates (AGS `tag`), so they can be told apart in the LMS too. */
export const TOOL_COLUMN_TAG = 'lti-certificates';

export interface ToolColumnDeps {
  conn: Connection;
  now: () => Date;
  client: AdvantageClient;
}

export type ToolColumn = Pick<LineItem, '_id' | 'label' | 'scoreMaximum' | 'externalId'>;

type Course = Pick<CourseDoc, '_id' | 'services'>;

const MAX_LABEL = 200;

/** A refused column form, the field named, in the teacher's language (teacher.columns.error.*). */
function refused(field: string, ref: MessageRef): ValidationError {
  return new ValidationError(inEnglish(ref), { field }, ref);
}

function checkInput(label: string, scoreMaximum: number): void {
  if (!label.trim()) throw refused('label', { key: 'teacher.columns.error.nameMissing' });
  if (label.length > MAX_LABEL) throw refused('label', { key: 'teacher.columns.error.nameTooLong', params: { max: MAX_LABEL } });
  if (!Number.isFinite(scoreMaximum) || scoreMaximum <= 0 || scoreMaximum > 100_000) {
    throw refused('scoreMaximum', { key: 'teacher.columns.error.maximumInvalid' });
  }
}

/** The tool's own columns in this course, oldest first. */
export async function listToolColumns(conn: Connection, courseId: Types.ObjectId | string): Promise<ToolColumn[]> {
  return lineItemModel(conn)
    .find({ courseId, source: 'ags', ownedByTool: true, removedAt: null }, { label: 1, scoreMaximum: 1, externalId: 1 })
    .sort({ _id: 1 })
    .lean<ToolColumn[]>();
}

/** Creates a column in the LMS gradebook and stores it. Platform refusals are thrown with what to do. */
export async function createToolColumn(deps: ToolColumnDeps, course: Course, input: { label: string; scoreMaximum: number }): Promise<ToolColumn> {
  const label = input.label.trim();
  checkInput(label, input.scoreMaximum);
  const url = course.services.lineItemsUrl;
  if (!url) throw refused('label', { key: 'teacher.columns.error.noAgs' });
  const created = await deps.client.createLineItem(url, { label, scoreMaximum: input.scoreMaximum, tag: TOOL_COLUMN_TAG, resourceId: `${TOOL_COLUMN_TAG}:${randomUUID()}` });
  const now = deps.now();
  const doc = await lineItemModel(deps.conn).findOneAndUpdate(
    { courseId: course._id, source: 'ags', externalId: created.id },
    {
      $set: { label: created.label, scoreMaximum: created.scoreMaximum, tag: created.tag ?? TOOL_COLUMN_TAG, resourceId: created.resourceId, ownedByTool: true, kind: 'activity', fetchedAt: now, removedAt: null },
    },
    { upsert: true, new: true, setDefaultsOnInsert: true },
  ).lean<ToolColumn>();
  return doc!;
}

async function ownColumn(conn: Connection, courseId: Types.ObjectId, columnId: string): Promise<ToolColumn> {
  const id = Types.ObjectId.isValid(columnId) ? new Types.ObjectId(columnId) : null;
  const doc = id ? await lineItemModel(conn).findOne({ _id: id, courseId, source: 'ags', ownedByTool: true, removedAt: null }, { label: 1, scoreMaximum: 1, externalId: 1 }).lean<ToolColumn>() : null;
  if (!doc) {
    const ref = { key: 'teacher.columns.error.notFound' };
    throw new NotFoundError(inEnglish(ref), { what: 'column' }, ref);
  }
  return doc;
}

/** Renames a column of the tool's own (and may change its maximum). */
export async function updateToolColumn(deps: ToolColumnDeps, course: Course, columnId: string, input: { label: string; scoreMaximum: number }): Promise<ToolColumn> {
  const label = input.label.trim();
  checkInput(label, input.scoreMaximum);
  const column = await ownColumn(deps.conn, course._id, columnId);
  const updated = await deps.client.updateLineItem(column.externalId, { label, scoreMaximum: input.scoreMaximum, tag: TOOL_COLUMN_TAG });
  await lineItemModel(deps.conn).updateOne({ _id: column._id }, { $set: { label: updated.label, scoreMaximum: updated.scoreMaximum, fetchedAt: deps.now() } });
  return { ...column, label: updated.label, scoreMaximum: updated.scoreMaximum };
}

/** Deletes a column of the tool's own in the LMS; its stored results stay, the column is marked removed. */
export async function deleteToolColumn(deps: ToolColumnDeps, course: Course, columnId: string): Promise<void> {
  const column = await ownColumn(deps.conn, course._id, columnId);
  await deps.client.deleteLineItem(column.externalId);
  await lineItemModel(deps.conn).updateOne({ _id: column._id }, { $set: { removedAt: deps.now() } });
}

/** A preview's rows and changes, stored in chunks of their own documents (see CsvPreviewPartDoc). */
import type { Connection } from 'mongoose';
import { csvPreviewPartModel } from './csv-preview.model';

const ROWS_PER_PART = 2000;
const CHANGES_PER_PART = 5000;

/** Stores rows or changes in chunks of their own documents (see CsvPreviewPartDoc). */
export async function writeParts(
  conn: Connection,
  previewId: string,
  kind: 'rows' | 'changes',
  version: number,
  data: unknown[],
  expiresAt: Date,
  comments: Record<string, string> = {},
): Promise<void> {
  const size = kind === 'rows' ? ROWS_PER_PART : CHANGES_PER_PART;
  const docs = [];
  for (let n = 0; n * size < data.length; n++) {
    const local: Record<string, string> = {};
    for (let i = n * size; i < Math.min(data.length, (n + 1) * size); i++) if (comments[String(i)]) local[String(i - n * size)] = comments[String(i)]!;
    docs.push({ previewId, kind, version, n, data: data.slice(n * size, (n + 1) * size), comments: local, expiresAt });
  }
  // ignoreUndefined: the rows' absent identifiers stay absent instead of becoming null.
  if (docs.length) await csvPreviewPartModel(conn).collection.insertMany(docs, { ignoreUndefined: true });
}

/** Reads back stored rows or changes (all, or the chunks holding indices from..to). */
export async function readParts<T>(conn: Connection, previewId: string, kind: 'rows' | 'changes', version: number, range?: { from: number; to: number }): Promise<{ data: T[]; comments: Record<string, string>; offset: number }> {
  const size = kind === 'rows' ? ROWS_PER_PART : CHANGES_PER_PART;
  const filter: Record<string, unknown> = { previewId, kind, version };
  if (range) filter.n = { $gte: Math.floor(range.from / size), $lte: Math.floor(Math.max(range.from, range.to - 1) / size) };
  const parts = await csvPreviewPartModel(conn).collection.find(filter).sort({ n: 1 }).toArray();
  const data: T[] = [];
  const comments: Record<string, string> = {};
  const offset = parts[0] ? (parts[0].n as number) * size : 0;
  for (const part of parts) {
    for (const [k, v] of Object.entries((part.comments ?? {}) as Record<string, string>)) comments[String((part.n as number) * size + Number(k) - offset)] = v;
    data.push(...(part.data as T[]));
  }
  return { data, comments, offset };
}

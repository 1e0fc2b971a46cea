/**
 * The three GridFS buckets of the document services, and the few ways we use them:
 * - `images`  logos and signatures a teacher uploaded (metadata.courseId scopes them);
 * - `pdfs`    the one stored PDF of each issued certificate (immutable, so rendered once);
 * - `exports` "export all" results, deleted a day after they were made;
 * - `proofs`  learners' proofs of external certifications (src/certifications/external).
 */
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { Types, mongo, type Connection } from 'mongoose';

export type BucketName = 'images' | 'pdfs' | 'exports' | 'proofs';

/** A stored file as GridFS describes it. */
export interface StoredFile<M = Record<string, unknown>> {
  _id: Types.ObjectId;
  filename: string;
  length: number;
  uploadDate: Date;
  metadata?: M;
}

export function bucketOf(conn: Connection, name: BucketName): mongo.GridFSBucket {
  if (!conn.db) throw new Error('the database connection is not open');
  return new mongo.GridFSBucket(conn.db, { bucketName: name });
}

/** An ObjectId from a file id in a URL or a form, or null when it cannot be one. */
export function fileObjectId(id: unknown): Types.ObjectId | null {
  if (id instanceof Types.ObjectId) return id;
  return typeof id === 'string' && /^[0-9a-fA-F]{24}$/.test(id) ? new Types.ObjectId(id) : null;
}

/** Writes `data` as one file and returns its id. */
export async function uploadBuffer(conn: Connection, bucket: BucketName, filename: string, data: Buffer, metadata: Record<string, unknown>): Promise<Types.ObjectId> {
  const upload = bucketOf(conn, bucket).openUploadStream(filename, { metadata });
  const done = once(upload, 'finish');
  upload.end(data);
  await done;
  return upload.id as Types.ObjectId;
}

/** The file's description, or null. */
export async function findFile<M = Record<string, unknown>>(conn: Connection, bucket: BucketName, filter: Record<string, unknown>, sort?: Record<string, 1 | -1>): Promise<StoredFile<M> | null> {
  const cursor = bucketOf(conn, bucket).find(filter, { limit: 1, ...(sort ? { sort } : {}) });
  const [file] = await cursor.toArray();
  return (file as unknown as StoredFile<M> | undefined) ?? null;
}

export function openFile(conn: Connection, bucket: BucketName, id: Types.ObjectId): Readable {
  return bucketOf(conn, bucket).openDownloadStream(id);
}

/**
 * A file whose id and length are known, read straight from its chunks: one query, where
 * openFile() first reads the file's description again. The stream fails (never ends short) when
 * the chunks do not add up to `length`, e.g. a file deleted meanwhile.
 */
export function openKnownFile(conn: Connection, bucket: BucketName, id: Types.ObjectId, length: number): Readable {
  if (!conn.db) throw new Error('the database connection is not open');
  const cursor = conn.db.collection(`${bucket}.chunks`).find({ files_id: id }, { sort: { n: 1 }, projection: { n: 1, data: 1 } });
  async function* chunks() {
    let n = 0;
    let sent = 0;
    try {
      for await (const chunk of cursor) {
        if (chunk.n !== n++) throw new Error(`file ${id.toHexString()}: chunk ${n - 1} is missing`);
        const data = (chunk.data as mongo.Binary).buffer;
        const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        sent += bytes.length;
        yield bytes;
      }
    } finally {
      await cursor.close();
    }
    if (sent !== length) throw new Error(`file ${id.toHexString()}: ${sent} of ${length} bytes stored`);
  }
  return Readable.from(chunks(), { objectMode: false });
}

export async function readFileBuffer(conn: Connection, bucket: BucketName, id: Types.ObjectId): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of openFile(conn, bucket, id)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deletes a file; one that is already gone is not an error. */
export async function deleteFile(conn: Connection, bucket: BucketName, id: Types.ObjectId): Promise<void> {
  // GridFS says "not found" only in an error message; asking first avoids reading messages.
  if (!(await findFile(conn, bucket, { _id: id }))) return;
  await bucketOf(conn, bucket).delete(id);
}

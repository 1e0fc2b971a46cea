/**
 * Append-only journal of the offline engine. One line per change, each line the base64 of a
 * BSON document, written (write(2), before the client gets its reply) in one batch per
 * command. A crash can only tear the last line; loading stops there and cuts it off.
 * Compaction rewrites the live data to a new file and renames it over the old one, so a
 * crash during compaction leaves either the old or the new journal, never half of one.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, fdatasync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize, type Document } from 'bson';

export interface JournalLoad {
  /** Entries read and handed over. */
  entries: number;
  /** Bytes of a torn last line that were dropped. */
  droppedBytes: number;
  /** Lines in the middle of the file that could not be read (should never happen). */
  corruptLines: number;
}

const FILE = 'journal.bsonl';

export class Journal {
  private fd: number;
  private pending: string[] = [];
  private dirty = false;
  /** Lines written since the last compaction (or load). */
  lines = 0;

  private constructor(
    readonly dir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  get path(): string {
    return join(this.dir, FILE);
  }

  /**
   * Opens (creating) the journal in `dir`, handing each entry to `apply` in order (streamed,
   * so that a large journal is never held twice in memory). Cuts off a torn last line.
   */
  static open(dir: string, apply: (entry: Document) => void): { journal: Journal; load: JournalLoad } {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, FILE);
    const load: JournalLoad = { entries: 0, droppedBytes: 0, corruptLines: 0 };
    let goodLength = 0;
    if (existsSync(path)) {
      const data = readFileSync(path);
      let start = 0;
      while (start < data.length) {
        const nl = data.indexOf(10, start);
        if (nl === -1) {
          load.droppedBytes = data.length - start;
          break;
        }
        const entry = decodeLine(data.toString('latin1', start, nl));
        if (entry) {
          apply(entry);
          load.entries += 1;
        } else if (nl + 1 === data.length) {
          // an unreadable last line is a torn write too (its tail happened to be a newline byte)
          load.droppedBytes = nl + 1 - start;
          break;
        } else load.corruptLines += 1;
        start = nl + 1;
        goodLength = start;
      }
    }
    const fd = openSync(path, 'a+');
    if (load.droppedBytes > 0) ftruncateSync(fd, goodLength);
    const journal = new Journal(dir, fd);
    journal.lines = load.entries;
    return { journal, load };
  }

  static ensureDir(dir: string): void {
    mkdirSync(dir, { recursive: true });
  }

  append(entry: Document): void {
    this.pending.push(encodeLine(entry));
  }

  /** Writes the pending lines; called once per command, before replying. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.lines += this.pending.length;
    this.pending = [];
    writeAll(this.fd, text);
    this.dirty = true;
  }

  /** Asks the OS to put written lines on disk (periodically, and at close). */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    fdatasync(this.fd, () => undefined);
  }

  /** Replaces the journal by `entries` (the live data). */
  rewrite(entries: Iterable<Document>): void {
    this.flush();
    const tmp = this.path + '.tmp';
    const fd = openSync(tmp, 'w');
    let batch: string[] = [];
    let count = 0;
    for (const e of entries) {
      batch.push(encodeLine(e));
      count += 1;
      if (batch.length >= 10_000) {
        writeAll(fd, batch.join(''));
        batch = [];
      }
    }
    if (batch.length) writeAll(fd, batch.join(''));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    // the rename itself must reach the disk too, or a power cut could bring the old file back
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a+');
    this.lines = count;
  }

  close(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

function encodeLine(entry: Document): string {
  return Buffer.from(serialize(entry, { ignoreUndefined: true })).toString('base64') + '\n';
}

function decodeLine(line: string): Document | undefined {
  try {
    const buf = Buffer.from(line, 'base64');
    if (buf.length < 5 || buf.readInt32LE(0) !== buf.length) return undefined;
    return deserialize(buf, { promoteBuffers: false });
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'latin1');
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

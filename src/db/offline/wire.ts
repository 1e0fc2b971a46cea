/**
 * MongoDB wire protocol framing: OP_MSG (every modern command, including kind-1 document
 * sequences the driver uses for bulk inserts/updates) and OP_QUERY (only for the legacy
 * `isMaster` handshake the driver still opens every connection with).
 */
import { deserialize, serialize, type Document } from 'bson';
import { CommandError } from './errors';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_COMPRESSED = 2012;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;

export interface IncomingCommand {
  requestId: number;
  /** The command document, with document sequences merged in as arrays. */
  command: Document;
  /** OP_QUERY handshake: the reply must be an OP_REPLY. */
  legacy: boolean;
  /** The client sent moreToCome (unacknowledged write): it expects no reply. */
  noReply: boolean;
}

const DESERIALIZE = { promoteBuffers: false, validation: { utf8: false } } as const;

/** Decodes one complete message (header included). */
export function decodeMessage(msg: Buffer): IncomingCommand {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    let off = 20;
    let command: Document | undefined;
    const sequences: [string, Document[]][] = [];
    while (off < end) {
      const kind = msg[off]!;
      off += 1;
      if (kind === 0) {
        const len = msg.readInt32LE(off);
        command = deserialize(msg.subarray(off, off + len), DESERIALIZE);
        off += len;
      } else if (kind === 1) {
        const size = msg.readInt32LE(off);
        const stop = off + size;
        let p = off + 4;
        const nul = msg.indexOf(0, p);
        const id = msg.toString('utf8', p, nul);
        p = nul + 1;
        const docs: Document[] = [];
        while (p < stop) {
          const len = msg.readInt32LE(p);
          docs.push(deserialize(msg.subarray(p, p + len), DESERIALIZE));
          p += len;
        }
        sequences.push([id, docs]);
        off = stop;
      } else {
        throw new CommandError(9, 'FailedToParse', `unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!command) throw new CommandError(9, 'FailedToParse', 'OP_MSG without a command document');
    for (const [id, docs] of sequences) command[id] = docs;
    return { requestId, command, legacy: false, noReply: (flags & MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    let off = 20;
    const nul = msg.indexOf(0, off);
    const fullName = msg.toString('utf8', off, nul);
    off = nul + 1 + 8; // numberToSkip, numberToReturn
    const len = msg.readInt32LE(off);
    let command = deserialize(msg.subarray(off, off + len), DESERIALIZE);
    if (command.$query && typeof command.$query === 'object') command = command.$query as Document;
    if (!fullName.endsWith('.$cmd')) {
      throw new CommandError(352, 'UnsupportedOpQueryCommand', 'legacy OP_QUERY finds are not supported; use a driver newer than 3.6');
    }
    command.$db = fullName.slice(0, -5);
    return { requestId, command, legacy: true, noReply: false };
  }
  if (opCode === OP_COMPRESSED) {
    throw new CommandError(2, 'BadValue', 'compressed messages are not supported by the offline database engine');
  }
  throw new CommandError(2, 'BadValue', `unsupported wire opCode ${opCode}`);
}

let nextRequestId = 1;

/** Encodes a reply to `to` in the format the request used. */
export function encodeReply(to: IncomingCommand, reply: Document): Buffer {
  const body = serialize(reply, { ignoreUndefined: true });
  if (to.legacy) {
    const head = Buffer.alloc(36);
    head.writeInt32LE(36 + body.length, 0);
    head.writeInt32LE(nextRequestId++, 4);
    head.writeInt32LE(to.requestId, 8);
    head.writeInt32LE(OP_REPLY, 12);
    head.writeInt32LE(0, 16); // responseFlags
    head.writeBigInt64LE(0n, 20); // cursorID
    head.writeInt32LE(0, 28); // startingFrom
    head.writeInt32LE(1, 32); // numberReturned
    return Buffer.concat([head, body]);
  }
  const head = Buffer.alloc(21);
  head.writeInt32LE(21 + body.length, 0);
  head.writeInt32LE(nextRequestId++, 4);
  head.writeInt32LE(to.requestId, 8);
  head.writeInt32LE(OP_MSG, 12);
  head.writeUInt32LE(0, 16);
  head[20] = 0;
  return Buffer.concat([head, body]);
}

/**
 * Splits a TCP stream into whole messages. Chunks are kept in a list and joined once per
 * message, so a 48 MB bulk insert is not copied again for every arriving chunk.
 */
export class MessageSplitter {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.length < 4) break;
      const first = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.join();
      const size = first.readInt32LE(0);
      if (size < 16 || size > 64 * 1024 * 1024) throw new Error(`invalid message size ${size}`);
      if (this.length < size) break;
      const all = this.join();
      out.push(all.subarray(0, size));
      const rest = all.subarray(size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
    }
    return out;
  }

  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }
}

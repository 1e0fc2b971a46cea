/**
 * MongoDB-style command errors. The driver turns `{ ok: 0, code, codeName, errmsg }` into a
 * MongoServerError, so application code sees the same codes as with a real server
 * (11000 duplicate key, 59 unknown command, 20 no transactions on a standalone).
 */
import type { Document } from 'bson';

export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    /** Extra fields copied into the reply (e.g. keyPattern/keyValue for 11000). */
    readonly extra: Document = {},
  ) {
    super(message);
    this.name = 'CommandError';
  }

  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }
}

export const badValue = (msg: string) => new CommandError(2, 'BadValue', msg);
export const failedToParse = (msg: string) => new CommandError(9, 'FailedToParse', msg);
export const notSupported = (what: string) =>
  new CommandError(115, 'CommandNotSupported', `${what} is not supported by the offline database engine; use a real MongoDB (MONGODB_URI) for it`);
export const commandNotFound = (name: string) =>
  new CommandError(59, 'CommandNotFound', `no such command: '${name}' (the offline database engine does not implement it)`);
export const namespaceNotFound = (ns: string) => new CommandError(26, 'NamespaceNotFound', `ns not found: ${ns}`);
export const noTransactions = () =>
  new CommandError(20, 'IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');

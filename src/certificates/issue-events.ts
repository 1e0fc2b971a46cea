/**
 * "A course certificate was issued / revoked": the seam other parts listen on (certifications
 * re-evaluate the programmes that contain the course, src/certifications/award-hooks.ts).
 * Listeners are registered per database connection by the composition root (app.ts), and run
 * before the issuing call returns, so that whatever the certificate completes exists by the time
 * the learner sees the page. A listener's failure is logged, never the issuer's: the certificate
 * stays issued (the next sync or import re-evaluates).
 */
import type { Connection, Types } from 'mongoose';
import { createLogger } from '../logger';

const log = createLogger('certificates:events');

export interface IssueEvent {
  type: 'issued' | 'revoked';
  certificates: Array<{ _id: Types.ObjectId; courseId: Types.ObjectId; userId: string }>;
}

export type IssueListener = (event: IssueEvent) => Promise<void>;

const listeners = new WeakMap<Connection, IssueListener[]>();

/** Registers a listener for this connection's certificate changes. */
export function onIssueEvent(conn: Connection, listener: IssueListener): void {
  const list = listeners.get(conn) ?? [];
  list.push(listener);
  listeners.set(conn, list);
}

/** Tells the listeners (awaited; their errors are logged). */
export async function emitIssueEvent(conn: Connection, event: IssueEvent): Promise<void> {
  if (event.certificates.length === 0) return;
  for (const listener of listeners.get(conn) ?? []) {
    try {
      await listener(event);
    } catch (err) {
      log.error(`a listener of "${event.type}" failed`, err);
    }
  }
}

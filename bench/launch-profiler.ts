/**
 * CPU profiles of a benchmark process on request (node:inspector), so that a profile covers the
 * measured runs only, not the start (module loading, compiling): `GET /__bench/profile/start`,
 * then `GET /__bench/profile/stop?file=<path.cpuprofile>` (open it in Chrome DevTools).
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

/** Answers the two profile routes; false for any other request. */
export function handleProfileRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__bench/profile/start') {
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
      .then(() => post('Profiler.start'))
      .then(() => res.end('{}'));
    return true;
  }
  if (url.pathname === '/__bench/profile/stop') {
    void post('Profiler.stop').then((r) => {
      writeFileSync(url.searchParams.get('file')!, JSON.stringify((r as { profile: unknown }).profile));
      res.end('{}');
    });
    return true;
  }
  return false;
}

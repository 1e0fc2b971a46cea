/**
 * A small round-robin HTTP load balancer for multi-instance tests (and bench/): each request goes
 * to the next backend; a backend that refuses the connection (killed) is skipped for that request
 * and marked down for a second, as a load balancer's health check would. It adds
 * X-Forwarded-For / -Proto / -Host like a reverse proxy and says which backend answered in
 * `x-backend` (tests use it to assert that requests really were spread).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxy {
  url: string;
  port: number;
  /** Replace the backends (base URLs). */
  setBackends(urls: string[]): void;
  /** How many requests each backend answered. */
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(port = 0): Promise<RoundRobinProxy> {
  let backends: string[] = [];
  let next = 0;
  const downUntil = new Map<string, number>();
  const served = new Map<string, number>();

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, tried: Set<string>): void {
    const live = backends.filter((b) => !tried.has(b) && (downUntil.get(b) ?? 0) < Date.now());
    const candidates = live.length ? live : backends.filter((b) => !tried.has(b));
    if (candidates.length === 0) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('no backend answered');
      return;
    }
    const target = candidates[next++ % candidates.length]!;
    tried.add(target);
    const u = new URL(target);
    const upstream = request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1',
          'x-forwarded-proto': 'http',
          'x-forwarded-host': req.headers.host ?? '',
          connection: 'close',
        },
      },
      (up) => {
        served.set(target, (served.get(target) ?? 0) + 1);
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-backend': target });
        up.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent && err.code === 'ECONNREFUSED') {
        // a dead instance: mark it down and try the next one, as a load balancer does
        downUntil.set(target, Date.now() + 1000);
        forward(req, res, body, tried);
        return;
      }
      res.destroy(err);
    });
    upstream.end(body);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), new Set()));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    served,
    setBackends(urls) {
      backends = [...urls];
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

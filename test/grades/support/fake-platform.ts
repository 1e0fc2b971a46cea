/**
 * A tiny programmable LMS for client tests: each test mounts the handlers it needs on a fresh
 * express app listening on 127.0.0.1:0, and reads back what the client sent.
 */
import express, { type Request, type RequestHandler } from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  url: string;
  headers: Request['headers'];
}

export interface FakePlatform {
  base: string;
  seen: SeenRequest[];
  app: express.Express;
  on(path: string, handler: RequestHandler): void;
  close(): Promise<void>;
}

export async function startFakePlatform(): Promise<FakePlatform> {
  const app = express();
  const seen: SeenRequest[] = [];
  app.use((req, _res, next) => {
    seen.push({
      method: req.method,
      path: req.path,
      query: Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)])),
      url: req.originalUrl,
      headers: req.headers,
    });
    next();
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    app,
    on(path, handler) {
      app.get(path, handler);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

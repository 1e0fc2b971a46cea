import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { securityHeaders } from '../../src/web/middleware/security-headers';
import { startTestApp, type TestApp } from '../support/app';

describe('Security headers', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });

  it('over http: no Strict-Transport-Security anywhere (ltijs\'s keyset included), forms only to the tool itself', async () => {
    for (const path of ['/', '/verify', '/lti/keys', '/admin']) {
      const res = await fetch(`${t.baseUrl}${path}`);
      expect(res.headers.get('strict-transport-security'), path).to.equal(null);
      const csp = res.headers.get('content-security-policy') ?? '';
      if (path !== '/lti/keys') {
        expect(csp, path).to.include("form-action 'self'");
        expect(csp, path).not.to.include('form-action *');
      }
    }
  });

  it('over https (PUBLIC_URL https://…): HSTS for a year', async () => {
    const app = express();
    app.use(securityHeaders({ publicUrl: 'https://certificates.example.edu' }));
    app.get('/', (_req, res) => void res.send('ok'));
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.headers.get('strict-transport-security')).to.equal('max-age=31536000');
    } finally {
      server.close();
    }
  });
});

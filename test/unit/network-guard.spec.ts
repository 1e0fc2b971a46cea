import { expect } from 'chai';
import dns from 'node:dns';
import { createServer, connect, type AddressInfo } from 'node:net';
import { isLoopbackHost, NetworkBlockedError, takeBlockedAttempts } from '../support/network-guard';

describe('test network guard (test/support/network-guard.ts)', () => {
  afterEach(() => {
    // these tests provoke refusals on purpose: keep them from failing the root hook
    takeBlockedAttempts();
  });

  it('refuses fetch() to a host outside loopback, naming the host', async () => {
    const err = await fetch('http://lms.example.org/api').then(() => null, (e: Error) => e);
    expect(err).to.be.an('error');
    const cause = (err as Error & { cause?: Error }).cause;
    expect(cause).to.be.instanceOf(NetworkBlockedError);
    expect(cause!.message).to.contain('lms.example.org');
  });

  it('refuses a raw TCP connection to a public address', async () => {
    const err = await new Promise<Error>((resolve) => connect(443, '93.184.216.34').on('error', resolve));
    expect(err).to.be.instanceOf(NetworkBlockedError);
    expect(err.message).to.contain('93.184.216.34');
  });

  it('refuses DNS lookups of non-loopback names (callback and promise)', async () => {
    const cbErr = await new Promise<Error | null>((resolve) => dns.lookup('canvas.instructure.com', (e) => resolve(e)));
    expect(cbErr).to.be.instanceOf(NetworkBlockedError);
    const promiseErr = await dns.promises.lookup('moodle.org').then(() => null, (e: Error) => e);
    expect(promiseErr).to.be.instanceOf(NetworkBlockedError);
  });

  it('records each refusal so the root hook can fail the test that caused it', async () => {
    takeBlockedAttempts();
    await fetch('http://platform.example/').catch(() => undefined);
    expect(takeBlockedAttempts().map((e) => e.host)).to.deep.equal(['platform.example']);
  });

  it('lets a test reach a server it started on 127.0.0.1 and localhost', async () => {
    const server = createServer((s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        const text = await new Promise<string>((resolve, reject) => {
          let data = '';
          connect(port, host).on('data', (d) => (data += d)).on('end', () => resolve(data)).on('error', reject);
        });
        expect(text).to.equal('hello');
      }
    } finally {
      server.close();
    }
    expect(takeBlockedAttempts()).to.deep.equal([]);
  });

  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'tool.localhost', '::ffff:127.0.0.1', undefined]) expect(isLoopbackHost(h), String(h)).to.equal(true);
    for (const h of ['10.0.0.1', '192.168.1.1', '0.0.0.0', 'example.com', 'localhost.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(h), h).to.equal(false);
  });
});

import { expect } from 'chai';
import type { OfflineEngine } from '../../src/db/offline/server';
import { spawnTool, startEngine, tempDir, waitFor, type ToolProcess } from './support';

const status = async (url: string) => (await fetch(url)).status;

describe('MongoDB going away under a running tool', function () {
  this.timeout(90_000);
  let engine: OfflineEngine | undefined;
  let tool: ToolProcess | undefined;

  afterEach(async () => {
    await tool?.kill();
    await engine?.stop();
    tool = engine = undefined;
  });

  it('answers 503 while the database is down and recovers by itself when it is back on the same port', async () => {
    const dbDir = tempDir('db');
    engine = await startEngine(dbDir);
    const port = engine.port;
    tool = await spawnTool({ MONGODB_URI: `mongodb://127.0.0.1:${port}/outage`, DB_RECONNECT_TIMEOUT_MS: '60000', SANDBOX: 'false' });
    const pid = tool.child.pid;
    expect(await status(`${tool.url}/readyz`)).to.equal(200);
    expect(await status(`${tool.url}/lti/keys`)).to.equal(200);

    await engine.stop();
    engine = undefined;
    // a request in flight when the database died, and one while it is away
    const inFlight = fetch(`${tool.url}/verify/AAAA-BBBB-CCCC-DDDD`, { headers: { accept: 'application/json' } });
    expect(await status(`${tool.url}/readyz`)).to.equal(503);
    const during = await inFlight;
    // longer than a server selection (5 s): this is when ltijs used to call mongoose.disconnect()
    expect(during.status).to.equal(503);
    expect(during.headers.get('retry-after')).to.equal('10');
    expect(((await during.json()) as { error: { code: string } }).error.code).to.equal('service_unavailable');
    await new Promise((r) => setTimeout(r, 1500));

    engine = await startEngine(dbDir, port);
    const back = await waitFor(async () => (await status(`${tool!.url}/readyz`)) === 200, 15_000);
    expect(back, `readyz never became 200 again:\n${tool.output()}`).to.equal(true);
    // the tool's connection (a code lookup) and ltijs's (the keyset) both work, same process
    expect(await status(`${tool.url}/verify/AAAA-BBBB-CCCC-DDDD.json`)).to.equal(404);
    expect(await status(`${tool.url}/lti/keys`)).to.equal(200);
    expect(tool.child.pid).to.equal(pid);
    expect(tool.child.exitCode).to.equal(null);
    expect(tool.output()).not.to.match(/MongoNotConnectedError/);
  });

  it('exits with status 1 when the database stays away longer than DB_RECONNECT_TIMEOUT_MS', async () => {
    engine = await startEngine(tempDir('db'));
    tool = await spawnTool({ MONGODB_URI: `mongodb://127.0.0.1:${engine.port}/gone`, DB_RECONNECT_TIMEOUT_MS: '2000', SANDBOX: 'false' });
    await engine.stop();
    engine = undefined;
    const code = await Promise.race([tool.exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    expect(code, tool.output()).to.equal(1);
    expect(tool.output()).to.match(/unreachable for \d+ ms \(DB_RECONNECT_TIMEOUT_MS=2000\); exiting/);
  });
});

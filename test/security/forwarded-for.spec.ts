import { expect } from 'chai';
import { spawnTool, type ToolProcess } from '../faults/support';

describe('X-Forwarded-For from an untrusted client (TRUST_PROXY unset)', function () {
  this.timeout(45_000);
  let tool: ToolProcess | undefined;
  after(async () => tool?.kill());

  it('cannot rotate its way past the /verify rate limit (30 a minute)', async () => {
    // a real process with the default setting: a LAN client is not a proxy
    tool = await spawnTool({ SANDBOX: 'false', EMBEDDED_DB: 'offline' });
    let n = 0;
    const statuses = await Promise.all(
      Array.from({ length: 31 }, () =>
        fetch(`${tool!.url}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ.json`, { headers: { 'x-forwarded-for': `10.0.${n}.${++n}` } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 404)).to.have.length(30);
    expect(statuses.filter((s) => s === 429)).to.have.length(1);
    const another = await fetch(`${tool.url}/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ.json`, { headers: { 'x-forwarded-for': '192.168.7.7' } });
    expect(another.status).to.equal(429);
  });
});

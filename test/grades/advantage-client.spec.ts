import { expect } from 'chai';
import { PlatformError } from '../../src/errors';
import { TokenRefusedError } from '../../src/http/platform-errors';
import {
  createAdvantageClient,
  parseLinkHeader,
  readPlainResult,
  ResultSchema,
  toResult,
  parseRetryAfter,
  resultsUrlOf,
  SCOPES,
  type TokenProvider,
} from '../../src/lti/advantage';
import { startFakePlatform, type FakePlatform } from './support/fake-platform';

const LINEITEMS = 'application/vnd.ims.lis.v2.lineitemcontainer+json';
const RESULTS = 'application/vnd.ims.lis.v2.resultcontainer+json';
const NRPS = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';

function recordingTokens(): TokenProvider & { calls: Array<{ scopes: string[]; refresh: boolean }> } {
  const calls: Array<{ scopes: string[]; refresh: boolean }> = [];
  const provider = (async (scopes: string[], opts?: { refresh?: boolean }) => {
    calls.push({ scopes, refresh: Boolean(opts?.refresh) });
    return `token-${calls.length}`;
  }) as TokenProvider & { calls: typeof calls };
  provider.calls = calls;
  return provider;
}

async function expectRejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

describe('parseLinkHeader', () => {
  it("reads Moodle's typographic quotes, rel=“next”", () => {
    const links = parseLinkHeader('<https://moodle.test/mod/lti/services.php/2/lineitems?type_id=1&from=10&limit=10>; rel=“next”');
    expect(links.get('next')).to.equal('https://moodle.test/mod/lti/services.php/2/lineitems?type_id=1&from=10&limit=10');
  });

  it('reads several links with several params and multi-valued rels', () => {
    const header =
      '<https://canvas.test/api/lti/courses/1/names_and_roles?page=1&per_page=50>; rel="current",' +
      '<https://canvas.test/api/lti/courses/1/names_and_roles?page=2&per_page=50>; title="p2"; rel="next",' +
      ' <https://canvas.test/api/lti/courses/1/names_and_roles?page=1&per_page=50>; rel="first prev",' +
      '<https://canvas.test/api/lti/courses/1/names_and_roles?page=9&per_page=50>;rel=last';
    const links = parseLinkHeader(header);
    expect(links.get('next')).to.equal('https://canvas.test/api/lti/courses/1/names_and_roles?page=2&per_page=50');
    expect(links.get('prev')).to.equal('https://canvas.test/api/lti/courses/1/names_and_roles?page=1&per_page=50');
    expect(links.get('last')).to.equal('https://canvas.test/api/lti/courses/1/names_and_roles?page=9&per_page=50');
  });

  it('reads typographic quotes that arrived as Latin-1-decoded UTF-8 bytes', () => {
    const raw = Buffer.from('<https://moodle.test/lineitems?from=2>; rel=“next”', 'utf8').toString('latin1');
    expect(parseLinkHeader(raw).get('next')).to.equal('https://moodle.test/lineitems?from=2');
  });

  it('keeps commas inside URLs and resolves relative targets', () => {
    const links = parseLinkHeader('</lineitems?tag=a,b&page=2>; rel=next', 'https://lms.test/x/lineitems');
    expect(links.get('next')).to.equal('https://lms.test/lineitems?tag=a,b&page=2');
  });

  it('returns nothing for an absent or garbled header', () => {
    expect(parseLinkHeader(undefined).size).to.equal(0);
    expect(parseLinkHeader('next page please').size).to.equal(0);
  });
});

describe('readPlainResult (results checked without zod)', () => {
  // Every shape here either gives exactly what ResultSchema + toResult give, or is left to them.
  const plain = [
    { userId: 'u1', resultScore: 8, resultMaximum: 10 },
    { id: 'https://lms/r/1', scoreOf: 'https://lms/li/1', userId: ' u2 ', resultScore: 0, resultMaximum: 10, comment: '', timestamp: '2025-05-03T09:00:00Z' },
    { userId: 'u3', resultScore: null, resultMaximum: null, comment: null, timestamp: '' },
    { userId: 'u4' },
    { userId: 'u5', resultScore: 10, resultMaximum: 10, comment: 'Well done', timestamp: 'not a date', extra: { ignored: true } },
    { userId: 'u6', resultScore: 12.5 },
  ];
  const leftToZod = [
    { userId: 7, resultScore: 1 },
    { userId: 'u1', resultScore: '8', resultMaximum: '10' },
    { userId: '  ', resultScore: 1 },
    { resultScore: 1 },
    { userId: 'u1', resultScore: 11, resultMaximum: 10 },
    { userId: 'u1', resultScore: -1 },
    { userId: 'u1', resultScore: 1, resultMaximum: 0 },
    { userId: 'u1', id: 42 },
    { userId: 'u1', comment: 5 },
    { userId: 'u1', timestamp: 1746262800 },
    null,
    ['u1'],
  ];

  it('gives what the schema gives for the results platforms send', () => {
    for (const entry of plain) expect(readPlainResult(entry), JSON.stringify(entry)).to.deep.equal(toResult(ResultSchema.parse(entry)));
  });

  it('leaves every other shape to the schema, which converts or refuses it', () => {
    for (const entry of leftToZod) expect(readPlainResult(entry), JSON.stringify(entry)).to.equal(undefined);
    expect(toResult(ResultSchema.parse(leftToZod[1]))).to.include({ userId: 'u1', resultScore: 8, resultMaximum: 10 });
    expect(ResultSchema.safeParse(leftToZod[4]).success).to.equal(false);
  });
});

describe('resultsUrlOf / parseRetryAfter', () => {
  it('appends /results to the path and keeps the query string', () => {
    expect(resultsUrlOf('https://moodle.test/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1')).to.equal(
      'https://moodle.test/mod/lti/services.php/2/lineitems/5/lineitem/results?type_id=1',
    );
    expect(resultsUrlOf('https://canvas.test/api/lti/courses/1/line_items/7/', 'u-1')).to.equal(
      'https://canvas.test/api/lti/courses/1/line_items/7/results?user_id=u-1',
    );
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(parseRetryAfter('3', 0)).to.equal(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).to.equal(6000);
    expect(parseRetryAfter('soon', 0)).to.equal(null);
  });
});

describe('AdvantageClient against a fake platform', () => {
  let lms: FakePlatform;
  let sleeps: number[];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };

  beforeEach(async () => {
    lms = await startFakePlatform();
    sleeps = [];
  });
  afterEach(async () => {
    await lms.close();
  });

  describe('listLineItems', () => {
    it('follows Moodle-style rel=“next” across pages, sends no limit and the right Accept header', async () => {
      lms.on('/lineitems', (req, res) => {
        const from = Number(req.query.from ?? 0);
        const items = [0, 1].map((i) => ({ id: `${lms.base}/lineitems/${from + i}/lineitem?type_id=1`, label: `Item ${from + i}`, scoreMaximum: 10 }));
        // Sent as raw UTF-8 bytes, as Moodle's PHP does (Node refuses non-Latin-1 header strings).
        const link = `<${lms.base}/lineitems?type_id=1&from=${from + 2}>; rel=“next”`;
        if (from < 4) res.set('Link', Buffer.from(link, 'utf8').toString('latin1'));
        res.type(LINEITEMS).json(items);
      });
      const getToken = recordingTokens();
      const client = createAdvantageClient({ getToken, sleep, userAgent: 'test-agent' });
      const items = await client.listLineItems(`${lms.base}/lineitems?type_id=1`);
      expect(items.map((i) => i.label)).to.deep.equal(['Item 0', 'Item 1', 'Item 2', 'Item 3', 'Item 4', 'Item 5']);
      expect(items.itemErrors).to.deep.equal([]);
      expect(lms.seen).to.have.length(3);
      for (const r of lms.seen) {
        expect(r.query).to.not.have.property('limit');
        expect(r.headers.accept).to.equal(LINEITEMS);
        expect(r.headers['user-agent']).to.equal('test-agent');
        expect(r.headers.authorization).to.equal('Bearer token-1');
      }
      expect(getToken.calls).to.deep.equal([{ scopes: [SCOPES.lineItemReadonly], refresh: false }]);
    });

    it('hands each page to onPage as it arrives', async () => {
      lms.on('/lineitems', (req, res) => {
        if (!req.query.p) res.set('Link', `<${lms.base}/lineitems?p=2>; rel="next"`);
        res.json([{ id: `${lms.base}/li/${req.query.p ?? 1}`, label: 'x', scoreMaximum: 1 }]);
      });
      const pages: number[] = [];
      const client = createAdvantageClient({ getToken: recordingTokens(), sleep });
      await client.listLineItems(`${lms.base}/lineitems`, async (items) => {
        pages.push(items.length);
      });
      expect(pages).to.deep.equal([1, 1]);
    });

    it("falls back to the 'lineitem' scope when 'lineitem.readonly' is refused", async () => {
      lms.on('/lineitems', (_req, res) => {
        res.json([{ id: `${lms.base}/li/1`, label: 'A', scoreMaximum: 5 }]);
      });
      const asked: string[][] = [];
      const getToken: TokenProvider = async (scopes) => {
        asked.push(scopes);
        if (scopes.includes(SCOPES.lineItemReadonly)) throw new TokenRefusedError('refused', 'invalid_scope');
        return 'full';
      };
      const items = await createAdvantageClient({ getToken, sleep }).listLineItems(`${lms.base}/lineitems`);
      expect(items).to.have.length(1);
      expect(asked).to.deep.equal([[SCOPES.lineItemReadonly], [SCOPES.lineItem]]);
    });
  });

  it('sends agsPageSize as limit on AGS calls when asked (Canvas pages by 10 otherwise)', async () => {
    lms.on('/lineitems', (_req, res) => {
      res.json([{ id: `${lms.base}/li/1?x=1`, label: 'a', scoreMaximum: 1 }]);
    });
    lms.on('/li/1/results', (_req, res) => {
      res.json([]);
    });
    const client = createAdvantageClient({ getToken: recordingTokens(), sleep, agsPageSize: 50 });
    const [item] = await client.listLineItems(`${lms.base}/lineitems`);
    await client.listResults(item!.id);
    expect(lms.seen.map((r) => r.query)).to.deep.equal([{ limit: '50' }, { x: '1', limit: '50' }]);
  });

  describe('listResults', () => {
    it('asks <lineitem>/results with user_id and keeps the query string', async () => {
      lms.on('/lineitems/5/lineitem/results', (req, res) => {
        res.type(RESULTS).json([{ userId: String(req.query.user_id), resultScore: 7, resultMaximum: 10, comment: 'ok' }]);
      });
      const client = createAdvantageClient({ getToken: recordingTokens(), sleep });
      const results = await client.listResults(`${lms.base}/lineitems/5/lineitem?type_id=1`, { userId: 'u-9' });
      expect(results).to.deep.equal([{ id: undefined, userId: 'u-9', resultScore: 7, resultMaximum: 10, comment: 'ok', timestamp: undefined }]);
      expect(lms.seen[0]!.query).to.deep.equal({ type_id: '1', user_id: 'u-9' });
      expect(lms.seen[0]!.headers.accept).to.equal(RESULTS);
    });

    it('reports malformed results beside the good ones and never returns them as data', async () => {
      lms.on('/li/1/results', (_req, res) => {
        res.json([
          { userId: 'good', resultScore: 8, resultMaximum: 10 },
          { resultScore: 5, resultMaximum: 10 },
          { userId: 'over', resultScore: 12, resultMaximum: 10 },
          { userId: 'neg', resultScore: -1, resultMaximum: 10 },
          { userId: 'badmax', resultScore: 1, resultMaximum: -10 },
          { userId: 'numeric-id-ok', resultScore: '4.5', resultMaximum: '10' },
        ]);
      });
      const results = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listResults(`${lms.base}/li/1`);
      expect(results.map((r) => r.userId)).to.deep.equal(['good', 'numeric-id-ok']);
      expect(results[1]!.resultScore).to.equal(4.5);
      expect(results.itemErrors.map((e) => e.kind)).to.deep.equal(['invalid_result', 'invalid_result', 'invalid_result', 'invalid_result']);
      expect(results.itemErrors[0]!.message).to.match(/userId/);
      expect(results.itemErrors[1]!.message).to.match(/above resultMaximum 10/);
      expect(results.itemErrors[2]!.message).to.match(/below 0/);
      expect(results.itemErrors[3]!.message).to.match(/resultMaximum/);
      expect(results.itemErrors[1]!.item).to.deep.equal({ userId: 'over', resultScore: 12, resultMaximum: 10 });
    });
  });

  it('reports line items without id or with a negative maximum', async () => {
    lms.on('/lineitems', (_req, res) => {
      res.json([{ label: 'no id', scoreMaximum: 10 }, { id: `${lms.base}/li/2`, label: 'neg', scoreMaximum: -5 }, { id: `${lms.base}/li/3`, label: 'ok', scoreMaximum: 100 }]);
    });
    const items = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listLineItems(`${lms.base}/lineitems`);
    expect(items.map((i) => i.label)).to.deep.equal(['ok']);
    expect(items.itemErrors.map((e) => e.message)).to.satisfy((m: string[]) => /id/.test(m[0]!) && /scoreMaximum/.test(m[1]!));
  });

  describe('listMembers', () => {
    it('asks 50 per page and follows Canvas-style Link headers with several relations', async () => {
      lms.on('/nrps', (req, res) => {
        const page = Number(req.query.page ?? 1);
        const rels = [`<${lms.base}/nrps?page=${page}&limit=50>; rel="current"`, `<${lms.base}/nrps?page=1&limit=50>; rel="first"`];
        if (page < 3) rels.push(`<${lms.base}/nrps?page=${page + 1}&limit=50>; rel="next"`);
        rels.push(`<${lms.base}/nrps?page=3&limit=50>; rel="last"`);
        res.set('Link', rels.join(','));
        res.type(NRPS).json({
          id: 'x',
          context: { id: 'c' },
          members: Array.from({ length: page < 3 ? 50 : 7 }, (_, i) => ({
            user_id: `p${page}-${i}`,
            roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'],
            status: i === 0 ? 'Inactive' : 'Active',
            name: `Learner ${i}`,
          })),
        });
      });
      const members = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listMembers(`${lms.base}/nrps`);
      expect(members).to.have.length(107);
      expect(lms.seen[0]!.query).to.deep.equal({ limit: '50' });
      expect(lms.seen.map((r) => r.headers.accept)).to.deep.equal([NRPS, NRPS, NRPS]);
      expect(members[0]!.status).to.equal('inactive');
      expect(members[1]).to.include({ userId: 'p1-1', status: 'active', name: 'Learner 1' });
    });

    it('reports members without user_id', async () => {
      lms.on('/nrps', (_req, res) => {
        res.json({ members: [{ roles: [] }, { user_id: 42, roles: [] }] });
      });
      const members = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listMembers(`${lms.base}/nrps`);
      expect(members.map((m) => m.userId)).to.deep.equal(['42']);
      expect(members.itemErrors).to.have.length(1);
      expect(members.itemErrors[0]!.kind).to.equal('invalid_member');
    });
  });

  describe('retries', () => {
    it("backs off on Canvas's 403 Rate Limit Exceeded, honouring Retry-After, then succeeds", async () => {
      let calls = 0;
      lms.on('/li/1/results', (_req, res) => {
        calls++;
        if (calls === 1) {
          res.status(403).set({ 'Retry-After': '2', 'X-Rate-Limit-Remaining': '0' }).type('text/plain').send('403 Forbidden (Rate Limit Exceeded)');
          return;
        }
        res.json([{ userId: 'a', resultScore: 1, resultMaximum: 1 }]);
      });
      const results = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listResults(`${lms.base}/li/1`);
      expect(results).to.have.length(1);
      expect(calls).to.equal(2);
      expect(sleeps).to.deep.equal([2000]);
    });

    it('backs off exponentially with jitter when the rate limit answer gives no hint', async () => {
      let calls = 0;
      lms.on('/li/1/results', (_req, res) => {
        calls++;
        if (calls <= 3) {
          res.status(403).send('403 Forbidden (Rate Limit Exceeded)');
          return;
        }
        res.json([]);
      });
      const client = createAdvantageClient({ getToken: recordingTokens(), sleep, random: () => 0.5, baseDelayMs: 100 });
      await client.listResults(`${lms.base}/li/1`);
      // cap = 100·2^n; delay = cap/2 + 0.5·cap/2
      expect(sleeps).to.deep.equal([75, 150, 300]);
    });

    it('retries 429 as a rate limit', async () => {
      let calls = 0;
      lms.on('/li/1/results', (_req, res) => {
        calls++;
        if (calls === 1) res.status(429).set('Retry-After', '1').send('slow down');
        else res.json([]);
      });
      await createAdvantageClient({ getToken: recordingTokens(), sleep }).listResults(`${lms.base}/li/1`);
      expect(sleeps).to.deep.equal([1000]);
    });

    it('retries 5xx with jitter drawn from the injected random, then succeeds', async () => {
      let calls = 0;
      lms.on('/li/1/results', (_req, res) => {
        calls++;
        if (calls <= 2) res.status(calls === 1 ? 502 : 503).send('<html>Bad gateway</html>');
        else res.json([{ userId: 'a', resultScore: 1, resultMaximum: 2 }]);
      });
      const randoms = [0, 1 - Number.EPSILON];
      const client = createAdvantageClient({ getToken: recordingTokens(), sleep, random: () => randoms.shift() ?? 0, baseDelayMs: 1000 });
      const results = await client.listResults(`${lms.base}/li/1`);
      expect(results).to.have.length(1);
      expect(sleeps).to.deep.equal([500, 2000]);
    });

    it('gives up after maxRetries on a platform that keeps failing, with a PlatformError', async () => {
      lms.on('/li/1/results', (_req, res) => {
        res.status(500).send('boom');
      });
      const err = await expectRejection(createAdvantageClient({ getToken: recordingTokens(), sleep, maxRetries: 3 }).listResults(`${lms.base}/li/1`));
      expect(err).to.be.instanceOf(PlatformError);
      expect(err.message).to.contain('500');
      expect(lms.seen).to.have.length(4);
      expect(sleeps).to.have.length(3);
    });

    it('retries a request that times out', async () => {
      let calls = 0;
      lms.on('/li/1/results', (_req, res) => {
        calls++;
        if (calls === 1) setTimeout(() => res.json([]), 500);
        else res.json([{ userId: 'late', resultScore: 0, resultMaximum: 1 }]);
      });
      const client = createAdvantageClient({ getToken: recordingTokens(), sleep, timeoutMs: 100 });
      const results = await client.listResults(`${lms.base}/li/1`);
      expect(results.map((r) => r.userId)).to.deep.equal(['late']);
      expect(sleeps).to.have.length(1);
    });

    it('fetches a new token once after a 401, and retries', async () => {
      lms.on('/li/1/results', (req, res) => {
        if (req.headers.authorization === 'Bearer token-1') res.status(401).json({ error: 'invalid_token' });
        else res.json([]);
      });
      const getToken = recordingTokens();
      await createAdvantageClient({ getToken, sleep }).listResults(`${lms.base}/li/1`);
      expect(getToken.calls.map((c) => c.refresh)).to.deep.equal([false, true]);
      expect(sleeps).to.deep.equal([]);
    });

    it('stops after a second 401 with a PlatformError naming the service', async () => {
      lms.on('/li/1/results', (_req, res) => {
        res.status(401).send('no');
      });
      const getToken = recordingTokens();
      const err = await expectRejection(createAdvantageClient({ getToken, sleep }).listResults(`${lms.base}/li/1`));
      expect(err).to.be.instanceOf(PlatformError);
      expect(err.message).to.contain("'result.readonly' (AGS: read results)");
      expect(getToken.calls).to.have.length(2);
    });
  });

  describe('refusals and garbage', () => {
    it('turns a 403 that is not a rate limit into a message naming the missing service', async () => {
      lms.on('/li/1/results', (_req, res) => {
        res.status(403).send('Access denied');
      });
      const err = await expectRejection(createAdvantageClient({ getToken: recordingTokens(), sleep }).listResults(`${lms.base}/li/1`));
      expect(err).to.be.instanceOf(PlatformError);
      expect(err.message).to.equal(
        "The platform did not grant 'result.readonly' (AGS: read results). Ask the LMS administrator to enable 'IMS LTI Assignment and Grade Services' with 'Use this service for grade sync and column management' in the tool's settings.",
      );
      expect(sleeps).to.deep.equal([]);
    });

    it('turns a token refused for the NRPS scope into a message naming NRPS', async () => {
      const getToken: TokenProvider = async () => {
        throw new TokenRefusedError('token endpoint said no', 'invalid_scope');
      };
      const err = await expectRejection(createAdvantageClient({ getToken, sleep }).listMembers(`${lms.base}/nrps`));
      expect(err).to.be.instanceOf(PlatformError);
      expect(err.message).to.match(/^The platform did not grant 'contextmembership.readonly' \(NRPS: read the course roster\)/);
      expect(lms.seen).to.have.length(0);
    });

    it('passes other token errors through unchanged', async () => {
      const original = new TokenRefusedError('Chamilo accepts only a PEM public key', 'invalid_client');
      const err = await expectRejection(createAdvantageClient({ getToken: async () => Promise.reject(original), sleep }).listMembers(`${lms.base}/nrps`));
      expect(err).to.equal(original);
    });

    it('refuses an answer that is not JSON', async () => {
      lms.on('/lineitems', (_req, res) => {
        res.type('html').send('<!DOCTYPE html><html><body>Moodle login</body></html>');
      });
      const err = await expectRejection(createAdvantageClient({ getToken: recordingTokens(), sleep }).listLineItems(`${lms.base}/lineitems`));
      expect(err).to.be.instanceOf(PlatformError);
      expect(err.message).to.contain('not JSON');
    });

    it('refuses JSON that is not a container', async () => {
      lms.on('/nrps', (_req, res) => {
        res.json({ hello: 'world' });
      });
      const err = await expectRejection(createAdvantageClient({ getToken: recordingTokens(), sleep }).listMembers(`${lms.base}/nrps`));
      expect(err).to.be.instanceOf(PlatformError);
    });

    it('stops paging when the platform links a page to itself', async () => {
      lms.on('/lineitems', (_req, res) => {
        res.set('Link', `<${lms.base}/lineitems>; rel="next"`).json([{ id: `${lms.base}/li/1`, label: 'a', scoreMaximum: 1 }]);
      });
      const items = await createAdvantageClient({ getToken: recordingTokens(), sleep }).listLineItems(`${lms.base}/lineitems`);
      expect(items).to.have.length(1);
      expect(lms.seen).to.have.length(1);
    });
  });
});

import { expect } from 'chai';
import { Types } from 'mongoose';
import { columnExclusions, type IdentifiableColumn } from '../../src/grades/activity-identity';
import { PlatformRateLimitError, PlatformTimeoutError, PlatformUnreachableError } from '../../src/http/platform-errors';
import { createPlatformHttp } from '../../src/http/retry-policy';
import { describeRefusal } from '../../src/lti/advantage/refusals';

function column(source: IdentifiableColumn['source'], label: string, extra: Partial<IdentifiableColumn> = {}): IdentifiableColumn {
  return { _id: new Types.ObjectId(), source, label, ...extra };
}

describe('columnExclusions: which columns are no course activity of their own', () => {
  it("counts Moodle's 'External tool: X (Real)' CSV column and the AGS tool activity X once, keeping the AGS one", () => {
    const ags = column('ags', 'Final project (tool)', { resourceLinkId: '7' });
    const csv = column('csv', 'External tool: Final project (tool) (Real)');
    const quiz = column('csv', 'Quiz: Quiz 1 (Real)');
    const out = columnExclusions([csv, quiz, ags], new Set());
    expect(out.get(String(csv._id))).to.deep.equal({ reason: 'duplicate', sameAs: String(ags._id) });
    expect(out.has(String(ags._id))).to.equal(false);
    expect(out.has(String(quiz._id))).to.equal(false);
  });

  it('matches a Moodle web-service item of module lti to the AGS line item by resource link', () => {
    const ags = column('ags', 'Essay (tool)', { resourceLinkId: '12' });
    const moodle = column('moodle', 'Essay (tool)', { resourceLinkId: '12' });
    expect(columnExclusions([moodle, ags], new Set()).get(String(moodle._id))?.reason).to.equal('duplicate');
  });

  it('keeps two line items of the same source that share a name: they are two activities', () => {
    const a = column('ags', 'Quiz', { resourceLinkId: '1' });
    const b = column('ags', 'Quiz', { resourceLinkId: '2' });
    expect(columnExclusions([a, b], new Set()).size).to.equal(0);
  });

  it("excludes the launcher, and a copy of the launcher from another source, and totals", () => {
    const launcher = column('ags', 'Certificates', { resourceLinkId: '1' });
    const copy = column('csv', 'External tool: Certificates (Real)');
    const total = column('moodle', 'Course total', { kind: 'course-total' });
    const out = columnExclusions([launcher, copy, total], new Set(['1']));
    expect(out.get(String(launcher._id))?.reason).to.equal('launcher');
    expect(out.get(String(copy._id))?.reason).to.equal('launcher');
    expect(out.get(String(total._id))?.reason).to.equal('total');
  });
});

describe('the shared HTTP retry policy (src/http/retry-policy.ts)', () => {
  const instant = async () => undefined;
  function fakeFetch(answers: Array<number | 'reset' | 'hang'>, headers: Record<string, string> = {}) {
    const calls: string[] = [];
    const f = (async (url: string | URL, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${String(url)}`);
      const next = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      if (next === 'reset') throw new TypeError('fetch failed');
      if (next === 'hang') {
        await new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
      }
      return new Response(next === 429 ? 'slow down' : '{}', { status: next as number, headers });
    }) as typeof fetch;
    return { f, calls };
  }

  it('retries a GET after 5xx and answers the final response', async () => {
    const { f, calls } = fakeFetch([503, 502, 200]);
    const res = await createPlatformHttp({ fetch: f, sleep: instant }).send({ url: 'https://lms.example/x' });
    expect(res.status).to.equal(200);
    expect(res.attempts).to.equal(3);
    expect(calls).to.have.length(3);
  });

  it('never repeats a POST after a 5xx (creating a column twice would make two)', async () => {
    const { f, calls } = fakeFetch([500, 201]);
    const res = await createPlatformHttp({ fetch: f, sleep: instant }).send({ url: 'https://lms.example/lineitems', method: 'POST', body: '{}' });
    expect(res.status).to.equal(500);
    expect(calls).to.deep.equal(['POST https://lms.example/lineitems']);
  });

  it('waits as Retry-After says on 429, and gives up with a typed error when the platform keeps refusing', async () => {
    const waits: number[] = [];
    const { f } = fakeFetch([429], { 'retry-after': '2' });
    const err = await createPlatformHttp({ fetch: f, sleep: async (ms) => void waits.push(ms), maxRateLimitRetries: 2 })
      .send({ url: 'https://lms.example/x' })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PlatformRateLimitError);
    expect(waits).to.deep.equal([2000, 2000]);
  });

  it('turns a connection that keeps failing, or a platform that never answers, into typed errors saying what to check', async () => {
    const unreachable = await createPlatformHttp({ fetch: fakeFetch(['reset']).f, sleep: instant, maxRetries: 1 }).send({ url: 'https://lms.example/x' }).catch((e: unknown) => e);
    expect(unreachable).to.be.instanceOf(PlatformUnreachableError);
    expect((unreachable as Error).message).to.include('Check that the LMS is up');
    const timeout = await createPlatformHttp({ fetch: fakeFetch(['hang']).f, sleep: instant, maxRetries: 0, timeoutMs: 30 }).send({ url: 'https://lms.example/x' }).catch((e: unknown) => e);
    expect(timeout).to.be.instanceOf(PlatformTimeoutError);
    expect((timeout as Error).message).to.include('did not answer within');
  });

  it('fetches a new credential once after a 401', async () => {
    const asked: boolean[] = [];
    const { f } = fakeFetch([401, 200]);
    const res = await createPlatformHttp({ fetch: f, sleep: instant }).send({ url: 'https://lms.example/x', authorize: async (refresh) => (asked.push(refresh), { Authorization: 'Bearer t' }) });
    expect(res.status).to.equal(200);
    expect(asked).to.deep.equal([false, true]);
  });
});

describe('describeRefusal: what a platform error status means for the teacher', () => {
  it("explains Chamilo's AGS 500 / NRPS 400 of a tool placed through deep linking", () => {
    for (const [status, service] of [[500, 'ags'], [400, 'nrps']] as const) {
      expect(describeRefusal(status, 'https://chamilo/x', service, 'chamilo')).to.include('placed in the course through deep linking').and.include('deep linking switched off');
    }
    expect(describeRefusal(500, 'https://moodle/x', 'ags', 'moodle')).to.include('an error inside the LMS').and.not.include('deep linking');
  });

  it('says what to do for 404 and 400', () => {
    expect(describeRefusal(404, 'u', 'ags')).to.include('Open the tool once from the course as a teacher');
    expect(describeRefusal(400, 'u', 'nrps')).to.include('roster service (NRPS) switched on');
  });
});

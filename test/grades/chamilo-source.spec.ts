/**
 * Chamilo's SOAP gradebook service as a grade source: the answers of a real Chamilo 1.11.28
 * (test/fixtures/chamilo-soap/, made by test/real-lms/chamilo-soap.sh) read byte for byte, and
 * the sandbox's emulation of that service driven over real HTTP.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { SourceUnavailableError } from '../../src/http/platform-errors';
import {
  chamiloScoreEnvelope,
  chamiloSecretKey,
  chamiloTotalExternalId,
  createChamiloSource,
  parseChamiloScoreAnswer,
  type ChamiloLearner,
} from '../../src/grades/sources/chamilo.source';
import type { ResultBatch, SourceContext } from '../../src/grades/sources';
import { startSandboxLms, type SandboxLms } from './support/sandbox-lms';

const FIXTURES = join(__dirname, '..', 'fixtures', 'chamilo-soap');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

function context(): SourceContext & { errors: { kind: string; message: string }[] } {
  const errors: { kind: string; message: string }[] = [];
  return {
    errors,
    error: (kind, message) => void errors.push({ kind, message }),
    failure: (_kind, err) => {
      throw err;
    },
    rosterProgress: async () => undefined,
  };
}

async function readAll(source: ReturnType<typeof createChamiloSource>, ctx: SourceContext, userId?: string): Promise<ResultBatch[]> {
  const { items } = await source.lineItems(ctx);
  const batches: ResultBatch[] = [];
  await source.results(ctx, { items, userId, concurrency: 3 }, async (b) => void batches.push(b));
  return batches;
}

describe('Chamilo SOAP gradebook source', () => {
  describe("a real Chamilo 1.11.28's answers", () => {
    const index = readFileSync(join(FIXTURES, 'index.tsv'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));

    it('reads every recorded course total as score / maximum, ignoring the 16 KB debug comment after the envelope', () => {
      const totals = index.filter(([file]) => file!.startsWith('total.'));
      expect(totals.length).to.be.greaterThan(5);
      for (const [file, status, , , returned] of totals) {
        const body = fixture(file!).toString('latin1');
        expect(body.length, file).to.be.greaterThan(10_000); // the real debug output is there
        const answer = parseChamiloScoreAnswer(body);
        const m = /\((\d+) \/ (\d+)\)/.exec(returned!)!;
        expect(status).to.equal('200');
        expect(answer, file).to.deep.equal({ ok: true, text: returned, score: Number(m[1]), maximum: Number(m[2]) });
      }
      // learner3's 78.5 % arrives rounded, as Chamilo displays it.
      expect(parseChamiloScoreAnswer(fixture('total.learner3.xml').toString('latin1'))).to.include({ score: 79, maximum: 100 });
    });

    it('reads the faults (HTTP 500) with their faultstring', () => {
      expect(parseChamiloScoreAnswer(fixture('fault.bad-key.xml').toString('latin1'))).to.deep.equal({
        ok: false,
        fault: 'Secret key is not correct or params are not correctly set',
      });
      expect(parseChamiloScoreAnswer(fixture('fault.unknown-email.xml').toString('latin1'))).to.deep.equal({ ok: false, fault: 'User not found' });
      expect(parseChamiloScoreAnswer(fixture('fault.unknown-course.xml').toString('latin1'))).to.deep.equal({ ok: false, fault: 'Course not found' });
    });

    it('sends the envelope a PHP SoapClient sent to the real Chamilo, with the key sha1(ip . security_key)', () => {
      const real = fixture('request.learner1.xml').toString('utf8');
      const key = /<secret_key[^>]*>([0-9a-f]{40})</.exec(real)![1]!;
      expect(chamiloScoreEnvelope({ courseCode: 'CERTLAB', email: 'learner1@example.com', secretKey: key })).to.equal(real);
      expect(chamiloSecretKey({ securityKey: 'k', callerIp: '127.0.0.1' })).to.equal('355f5c3b0241086d0522237894bb9235f7cc3d9f');
    });

    it('turns the real "secret key" fault into one message that says what to check, and hands over no grades', async () => {
      const fetchFault = (async () =>
        new Response(fixture('fault.bad-key.xml'), { status: 500, headers: { 'content-type': 'text/xml; charset=ISO-8859-1' } })) as unknown as typeof fetch;
      const source = createChamiloSource({
        config: { baseUrl: 'https://campus.example.edu', securityKey: 'wrong', callerIp: '203.0.113.5' },
        courseCode: 'CERTLAB',
        learners: async () => [{ userId: '5', email: 'learner1@example.com' }],
        fetch: fetchFault,
      });
      const ctx = context();
      let batches: ResultBatch[] = [];
      const err = await readAll(source, ctx).then(
        (b) => ((batches = b), undefined),
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(SourceUnavailableError);
      expect((err as SourceUnavailableError).runErrorKind).to.equal('chamilo_ws_key_refused');
      expect((err as Error).message).to.match(/security_key/).and.match(/IP address/);
      expect(batches).to.deep.equal([]);
    });
  });

  describe("against the sandbox's Chamilo", () => {
    let lms: SandboxLms;
    let courseId: string;
    let label: string;
    let learners: ChamiloLearner[];

    before(async () => {
      lms = await startSandboxLms();
      // 3 activities out of 20; learner 0: 18, 16, 17 (85 %); learner 1: 16, 16, none (53.3 %: a missing score adds 0);
      // learner 2: 10, 12, 14 (60 %).
      const scores = [
        [18, 16, 17],
        [16, 16, null],
        [10, 12, 14],
      ];
      const created = lms.sandbox.store.createCourse({
        title: 'Chamilo course',
        quirks: 'chamilo',
        label: 'CHAMLAB',
        learners: 3,
        items: 3,
        scoreMaximum: 20,
        score: (l, i) => scores[l]![i]!,
      });
      courseId = created.course.id;
      label = created.course.label;
      learners = created.learnerIds.map((id) => ({ userId: lms.sandbox.store.subjectOf(created.course, lms.sandbox.store.getUser(id)!), email: lms.sandbox.store.getUser(id)!.email }));
    });
    after(async () => lms.close());

    const sourceWith = (over: Partial<{ securityKey: string; courseCode: string; learners: ChamiloLearner[] }> = {}) =>
      createChamiloSource({
        config: { baseUrl: lms.baseUrl, securityKey: over.securityKey ?? lms.sandbox.chamiloSoap.securityKey, callerIp: '127.0.0.1' },
        courseCode: over.courseCode ?? label,
        learners: async () => over.learners ?? learners,
      });

    it('gives one course-total column and each learner the total Chamilo computes (missing score = 0, rounded)', async () => {
      const ctx = context();
      const source = sourceWith();
      const { items, complete } = await source.lineItems(ctx);
      expect(complete).to.equal(true);
      expect(items).to.deep.equal([{ externalId: chamiloTotalExternalId(label), label: 'Course total (Chamilo gradebook)', scoreMaximum: 100, kind: 'course-total' }]);
      const [batch, ...more] = await readAll(source, ctx);
      expect(more).to.have.length(0);
      expect(ctx.errors).to.deep.equal([]);
      expect(batch!.complete).to.equal(true);
      const byUser = Object.fromEntries(batch!.results.map((r) => [r.userId, [r.scoreGiven, r.scoreMaximum]]));
      expect(byUser).to.deep.equal({
        [learners[0]!.userId]: [85, 100],
        [learners[1]!.userId]: [53, 100],
        [learners[2]!.userId]: [60, 100],
      });
    });

    it('asks only about the learner given, for a learner refresh', async () => {
      const [batch] = await readAll(sourceWith(), context(), learners[2]!.userId);
      expect(batch!.results).to.deep.equal([{ userId: learners[2]!.userId, scoreGiven: 60, scoreMaximum: 100 }]);
    });

    it('follows a grade changed in the LMS at the next read', async () => {
      const item = lms.sandbox.store.listLineItems(courseId)[0]!;
      const user = lms.sandbox.store.listMembers(courseId).find((m) => m.email === learners[0]!.email)!;
      const before = lms.sandbox.store.getResult(courseId, item.id, user.id)!;
      lms.sandbox.store.setScore(courseId, item.id, user.id, 6);
      try {
        const [batch] = await readAll(sourceWith(), context(), learners[0]!.userId);
        expect(batch!.results[0]!.scoreGiven).to.equal(65); // (6 + 16 + 17) / 60
      } finally {
        lms.sandbox.store.setScore(courseId, item.id, user.id, before.scoreGiven);
      }
    });

    it('refuses a wrong security key with the real fault, and passes no grades on', async () => {
      const batches: ResultBatch[] = [];
      const source = sourceWith({ securityKey: 'not-the-key' });
      const { items } = await source.lineItems(context());
      const err = await source.results(context(), { items, concurrency: 2 }, async (b) => void batches.push(b)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SourceUnavailableError);
      expect((err as SourceUnavailableError).runErrorKind).to.equal('chamilo_ws_key_refused');
      expect(batches).to.deep.equal([]);
    });

    it('says which course code Chamilo does not know', async () => {
      const err = await readAll(sourceWith({ courseCode: 'NOPE' }), context()).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SourceUnavailableError);
      expect((err as Error).message).to.equal('Chamilo has no course with the code NOPE.');
    });

    it('reports a learner Chamilo does not find, or whose e-mail the tool lacks, and still reads the others (batch not complete)', async () => {
      const ctx = context();
      const [batch] = await readAll(sourceWith({ learners: [learners[0]!, { userId: '999', email: 'ghost@example.com' }, { userId: '998' }] }), ctx);
      expect(batch!.complete).to.equal(false);
      expect(batch!.results.map((r) => r.userId)).to.deep.equal([learners[0]!.userId]);
      expect(ctx.errors.map((e) => e.kind).sort()).to.deep.equal(['chamilo_no_email', 'chamilo_ws_fault']);
      expect(ctx.errors.find((e) => e.kind === 'chamilo_ws_fault')!.message).to.equal('Chamilo answered "User not found" for ghost@example.com.');
    });

    it('answers like the real service: HTTP 500 ISO-8859-1 faults, HTTP 200 totals, a debug comment after the envelope', async () => {
      const post = (secret: string) =>
        fetch(lms.sandbox.chamiloSoap.url, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:WSGradebook#WSGetGradebookCategoryUserScore"' },
          body: chamiloScoreEnvelope({ courseCode: label, email: learners[0]!.email!, secretKey: secret }),
        });
      const bad = await post('x');
      expect(bad.status).to.equal(500);
      expect(bad.headers.get('content-type')).to.equal('text/xml; charset=ISO-8859-1');
      const badBody = await bad.text();
      expect(badBody).to.match(/^<\?xml version="1.0" encoding="ISO-8859-1"\?>/).and.match(/<\/SOAP-ENV:Envelope><!--/);
      const good = await post(chamiloSecretKey({ securityKey: lms.sandbox.chamiloSoap.securityKey, callerIp: '127.0.0.1' }));
      expect(good.status).to.equal(200);
      const real = parseChamiloScoreAnswer(fixture('total.learner1.xml').toString('latin1'))!;
      const sandbox = parseChamiloScoreAnswer(await good.text())!;
      expect(Object.keys(sandbox)).to.deep.equal(Object.keys(real));
      expect(sandbox).to.deep.equal({ ok: true, text: '85 % (85 / 100)', score: 85, maximum: 100 });
    });
  });
});

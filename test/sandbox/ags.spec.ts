import { expect } from 'chai';
import { SCOPES, startHarness, type Harness } from './harness';

const MEDIA = {
  container: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  lineItem: 'application/vnd.ims.lis.v2.lineitem+json',
  results: 'application/vnd.ims.lis.v2.resultcontainer+json',
  score: 'application/vnd.ims.lis.v1.score+json',
};

/** The Link header as the bytes were sent (Node hands headers over as Latin-1). */
function rawLink(res: Response): string {
  return Buffer.from(res.headers.get('link') ?? '', 'latin1').toString('utf8');
}

function nextUrl(link: string): string | undefined {
  return /<([^>]+)>;\s*rel=["“]next["”]/.exec(link)?.[1];
}

describe('sandbox LMS: Assignment and Grade Services', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness({ seedDemo: false });
    token = await h.token();
  });
  after(() => h.close());

  const lineItemsUrl = (courseId: string) => `${h.sandbox.issuer}/api/courses/${courseId}/lineitems`;

  describe('paging of line items', () => {
    it('Moodle: everything in one answer without limit, and rel=“next” with typographic quotes when limit is sent', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Moodle paging', quirks: 'moodle', learners: 2, items: 7 });
      const all = await h.api(lineItemsUrl(course.id), token);
      expect(all.status).to.equal(200);
      expect(all.headers.get('content-type')).to.contain(MEDIA.container);
      expect(await all.json()).to.have.length(7);
      expect(all.headers.get('link')).to.equal(null);

      const first = await h.api(`${lineItemsUrl(course.id)}?limit=3`, token);
      expect(await first.json()).to.have.length(3);
      const link = rawLink(first);
      expect(link).to.contain('rel=“next”');
      expect(link).not.to.contain('rel="next"');
      const seen: string[] = [];
      let url: string | undefined = `${lineItemsUrl(course.id)}?limit=3`;
      while (url) {
        const res = await h.api(url, token);
        seen.push(...((await res.json()) as { label: string }[]).map((i) => i.label));
        url = nextUrl(rawLink(res));
      }
      expect(seen).to.deep.equal(['Activity 1', 'Activity 2', 'Activity 3', 'Activity 4', 'Activity 5', 'Activity 6', 'Activity 7']);
    });

    it('Moodle: results page the same way (typographic quotes, only with limit)', async () => {
      const { course, lineItemIds } = h.sandbox.store.createCourse({ title: 'Moodle results', quirks: 'moodle', learners: 5, items: 1, score: () => 7 });
      const url = `${lineItemsUrl(course.id)}/${lineItemIds[0]}/results`;
      const all = await h.api(url, token);
      expect(all.headers.get('content-type')).to.contain(MEDIA.results);
      expect(await all.json()).to.have.length(5);
      expect(all.headers.get('link')).to.equal(null);
      const paged = await h.api(`${url}?limit=2`, token);
      expect(await paged.json()).to.have.length(2);
      expect(rawLink(paged)).to.match(/<[^>]+from=2[^>]*>; rel=“next”/);
    });

    it('standard mode: limit gives rel="next" with ASCII quotes until the last page', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Standard paging', quirks: 'standard', learners: 1, items: 5 });
      const first = await h.api(`${lineItemsUrl(course.id)}?limit=2`, token);
      const next = nextUrl(first.headers.get('link') ?? '');
      expect(first.headers.get('link')).to.contain('rel="next"');
      const second = await h.api(next!, token);
      const third = await h.api(nextUrl(second.headers.get('link') ?? '')!, token);
      expect(await third.json()).to.have.length(1);
      expect(third.headers.get('link')).to.equal(null);
    });

    it('Canvas: pages of 10 by default, at most 50, with rel="next" among current/first/last', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Canvas paging', quirks: 'canvas', learners: 1, items: 60 });
      const byDefault = await h.api(lineItemsUrl(course.id), token);
      expect(await byDefault.json()).to.have.length(10);
      const link = byDefault.headers.get('link')!;
      expect(link).to.contain('rel="next"').and.contain('rel="current"').and.contain('rel="last"');
      const capped = await h.api(`${lineItemsUrl(course.id)}?limit=100`, token);
      expect(await capped.json()).to.have.length(50);
      const rest = await h.api(nextUrl(capped.headers.get('link')!)!, token);
      expect(await rest.json()).to.have.length(10);
      expect(rest.headers.get('link')).not.to.contain('rel="next"');
    });
  });

  describe('line items', () => {
    it('filters by tag, resource_id and resource_link_id, and creates, updates and deletes items of the tool', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'CRUD', quirks: 'standard', learners: 1, items: 3 });
      const byResource = await h.api(`${lineItemsUrl(course.id)}?resource_id=activity-2`, token);
      expect(((await byResource.json()) as { label: string }[]).map((i) => i.label)).to.deep.equal(['Activity 2']);

      const linkId = course.resourceLinks[0].id;
      const created = await fetch(lineItemsUrl(course.id), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA.lineItem },
        body: JSON.stringify({ label: 'Certificate', scoreMaximum: 1, tag: 'certificate', resourceLinkId: linkId }),
      });
      expect(created.status).to.equal(201);
      const item = (await created.json()) as { id: string };
      expect(item.id).to.match(new RegExp(`^${lineItemsUrl(course.id)}/\\d+$`));
      const tagged = await h.api(`${lineItemsUrl(course.id)}?tag=certificate&resource_link_id=${linkId}`, token);
      expect(await tagged.json()).to.have.length(1);

      const put = await fetch(item.id, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA.lineItem }, body: JSON.stringify({ label: 'Renamed', scoreMaximum: 2 }) });
      expect(await put.json()).to.include({ label: 'Renamed', scoreMaximum: 2 });
      expect((await fetch(item.id, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status).to.equal(204);
      expect((await h.api(item.id, token)).status).to.equal(404);
    });

    it('hides items another tool created', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Foreign', quirks: 'canvas', learners: 1, items: 1 });
      const foreign = h.sandbox.store.addLineItem(course.id, { label: 'Quiz of another tool', scoreMaximum: 5, clientId: 'another-tool' });
      const list = (await (await h.api(lineItemsUrl(course.id), token)).json()) as { label: string }[];
      expect(list.map((i) => i.label)).to.deep.equal(['Activity 1']);
      expect((await h.api(`${lineItemsUrl(course.id)}/${foreign.id}/results`, token)).status).to.equal(404);
    });
  });

  describe('results and scores', () => {
    it('reports results scaled to the line item, with the LMS user id and an ISO timestamp', async () => {
      const { course, learnerIds, lineItemIds } = h.sandbox.store.createCourse({ title: 'Results', quirks: 'standard', learners: 2, items: 1, scoreMaximum: 100, score: (l) => (l === 0 ? 80 : null) });
      h.sandbox.store.setScore(course.id, lineItemIds[0], learnerIds[0], 8, { scoreMaximum: 10, comment: 'Well done' });
      const res = await h.api(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/results?user_id=${learnerIds[0]}`, token);
      const [result] = (await res.json()) as Record<string, unknown>[];
      expect(result).to.include({ userId: learnerIds[0], resultScore: 80, resultMaximum: 100, comment: 'Well done', scoreOf: `${lineItemsUrl(course.id)}/${lineItemIds[0]}` });
      expect(Date.parse(result.timestamp as string)).to.be.a('number').and.not.NaN;
      const nobody = await h.api(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/results?user_id=${learnerIds[1]}`, token);
      expect(await nobody.json()).to.deep.equal([]);
    });

    it('accepts a score and shows it in the results', async () => {
      const { course, learnerIds, lineItemIds } = h.sandbox.store.createCourse({ title: 'Scores', quirks: 'moodle', learners: 1, items: 1, score: () => null });
      const res = await fetch(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/scores`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA.score },
        body: JSON.stringify({ userId: learnerIds[0], scoreGiven: 4, scoreMaximum: 5, activityProgress: 'Completed', gradingProgress: 'FullyGraded', timestamp: new Date().toISOString() }),
      });
      expect(res.status).to.equal(204);
      expect(h.sandbox.store.getResult(course.id, lineItemIds[0], learnerIds[0])).to.include({ scoreGiven: 4, scoreMaximum: 5 });
    });

    it('Chamilo: answers 415 to a score unless Accept is exactly the score media type', async () => {
      const { course, learnerIds, lineItemIds } = h.sandbox.store.createCourse({ title: 'Chamilo scores', quirks: 'chamilo', learners: 1, items: 1 });
      const post = (headers: Record<string, string>) =>
        fetch(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/scores`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA.score, ...headers },
          body: JSON.stringify({ userId: learnerIds[0], scoreGiven: 1, scoreMaximum: 10, activityProgress: 'Completed', gradingProgress: 'FullyGraded', timestamp: new Date().toISOString() }),
        });
      expect((await post({ Accept: 'application/json' })).status).to.equal(415);
      expect((await post({ Accept: MEDIA.score, 'Content-Type': 'application/json' })).status).to.equal(415);
      expect((await post({ Accept: MEDIA.score })).status).to.equal(204);
    });

    it('Canvas: 422 for a scoreGiven without scoreMaximum, 400 for a score older than the result', async () => {
      const { course, learnerIds, lineItemIds } = h.sandbox.store.createCourse({ title: 'Canvas scores', quirks: 'canvas', learners: 1, items: 1 });
      const url = `${lineItemsUrl(course.id)}/${lineItemIds[0]}/scores`;
      const post = (body: object) => fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA.score }, body: JSON.stringify({ userId: h.sandbox.store.getUser(learnerIds[0])!.ltiId, activityProgress: 'Completed', gradingProgress: 'FullyGraded', ...body }) });
      expect((await post({ scoreGiven: 3, timestamp: new Date().toISOString() })).status).to.equal(422);
      const ok = await post({ scoreGiven: 3, scoreMaximum: 10, timestamp: new Date().toISOString() });
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.have.property('resultUrl');
      expect((await post({ scoreGiven: 9, scoreMaximum: 10, timestamp: '2001-01-01T00:00:00Z' })).status).to.equal(400);
    });
  });

  describe('access', () => {
    it('answers 401 without a valid bearer token and 403 without the needed scope', async () => {
      const { course, lineItemIds } = h.sandbox.store.createCourse({ title: 'Access', quirks: 'standard', learners: 1, items: 1 });
      expect((await fetch(lineItemsUrl(course.id))).status).to.equal(401);
      expect((await h.api(lineItemsUrl(course.id), 'not-a-token')).status).to.equal(401);
      const readOnly = await h.token(SCOPES.lineItemReadonly);
      expect((await h.api(lineItemsUrl(course.id), readOnly)).status).to.equal(200);
      const results = await h.api(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/results`, readOnly);
      expect(results.status).to.equal(403);
      expect(await results.json()).to.include({ error: 'insufficient_scope' });
    });

    it('answers 403 when the course does not permit the scope, even with a token that has it', async () => {
      const { course, lineItemIds } = h.sandbox.store.createCourse({ title: 'No results here', quirks: 'moodle', learners: 1, items: 1 });
      h.sandbox.store.setPermittedScopes(course.id, [SCOPES.lineItemReadonly]);
      expect((await h.api(`${lineItemsUrl(course.id)}/${lineItemIds[0]}/results`, token)).status).to.equal(403);
      expect((await h.api(lineItemsUrl(course.id), token)).status).to.equal(200);
    });

    it('answers 401 once the access token has expired on the platform clock', async () => {
      let now = new Date('2030-01-01T00:00:00Z');
      const timed = await startHarness({ seedDemo: false, now: () => now });
      try {
        const { course } = timed.sandbox.store.createCourse({ title: 'Clock', quirks: 'standard', learners: 1, items: 1 });
        const t = await timed.token(SCOPES.lineItemReadonly + ' ' + SCOPES.resultReadonly);
        expect((await timed.api(`${timed.sandbox.issuer}/api/courses/${course.id}/lineitems`, t)).status).to.equal(200);
        now = new Date(now.getTime() + 3601_000);
        expect((await timed.api(`${timed.sandbox.issuer}/api/courses/${course.id}/lineitems`, t)).status).to.equal(401);
      } finally {
        await timed.close();
      }
    });
  });
});

/**
 * A small stateful AGS + NRPS platform for sync tests: a roster, line items and results the test
 * edits between runs, paged like Moodle (offset `from`, typographic `rel=“next”`), with a hook to
 * make any request fail.
 */
import type { Request } from 'express';
import { startFakePlatform, type FakePlatform } from './fake-platform';

export interface FakeMember {
  user_id: string;
  roles: string[];
  name?: string;
  email?: string;
  status?: string;
}

export interface FakeLineItem {
  key: string;
  label: string;
  scoreMaximum: number;
  /** userId -> result JSON (any shape, so tests can send malformed ones). */
  results: Map<string, Record<string, unknown>>;
}

export interface FakeLms extends FakePlatform {
  members: FakeMember[];
  lineItems: FakeLineItem[];
  lineItemsUrl: string;
  membershipsUrl: string;
  lineItemUrl(key: string): string;
  /** Return a status to fail that request instead of answering it. */
  failWhen?: (req: Request) => number | undefined;
  pageSize: number;
}

export const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';
export const INSTRUCTOR = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor';

function page<T>(all: T[], req: Request, size: number): { items: T[]; next?: number } {
  const from = Number(req.query.from ?? 0);
  const items = all.slice(from, from + size);
  return { items, next: from + size < all.length ? from + size : undefined };
}

export async function startFakeLms(): Promise<FakeLms> {
  const base = await startFakePlatform();
  const lms = base as FakeLms;
  lms.members = [];
  lms.lineItems = [];
  lms.pageSize = 3;
  lms.lineItemsUrl = `${base.base}/ctx/lineitems?type_id=7`;
  lms.membershipsUrl = `${base.base}/ctx/memberships`;
  lms.lineItemUrl = (key) => `${base.base}/ctx/lineitems/${key}/lineitem?type_id=7`;
  const link = (path: string, req: Request, next: number) => {
    const url = new URL(`${base.base}${path}`);
    for (const [k, v] of Object.entries(req.query)) url.searchParams.set(k, String(v));
    url.searchParams.set('from', String(next));
    return Buffer.from(`<${url}>; rel=“next”`, 'utf8').toString('latin1');
  };
  lms.app.use((req, res, next) => {
    const status = lms.failWhen?.(req);
    if (status) res.status(status).send('failure injected by the test');
    else next();
  });
  lms.on('/ctx/memberships', (req, res) => {
    const size = Math.min(Number(req.query.limit ?? lms.pageSize), lms.pageSize);
    const p = page(lms.members, req, size);
    if (p.next !== undefined) res.set('Link', `<${base.base}/ctx/memberships?limit=${size}&from=${p.next}>; rel="next"`);
    res.json({ id: 'm', context: { id: 'ctx' }, members: p.items });
  });
  lms.on('/ctx/lineitems', (req, res) => {
    res.json(lms.lineItems.map((li) => ({ id: lms.lineItemUrl(li.key), label: li.label, scoreMaximum: li.scoreMaximum, tag: 'grade' })));
  });
  lms.on('/ctx/lineitems/:key/lineitem/results', (req, res) => {
    const li = lms.lineItems.find((l) => l.key === req.params.key);
    if (!li) {
      res.status(404).send('no such line item');
      return;
    }
    let all = [...li.results.values()];
    if (req.query.user_id) all = all.filter((r) => r.userId === req.query.user_id);
    const p = page(all, req, lms.pageSize);
    if (p.next !== undefined) res.set('Link', link(`/ctx/lineitems/${li.key}/lineitem/results`, req, p.next));
    res.json(p.items);
  });
  return lms;
}

/** A roster of `n` learners u1..un plus one teacher. */
export function roster(n: number): FakeMember[] {
  const members: FakeMember[] = Array.from({ length: n }, (_, i) => ({ user_id: `u${i + 1}`, roles: [LEARNER], name: `Learner ${i + 1}`, email: `l${i + 1}@school.test` }));
  members.push({ user_id: 't1', roles: [INSTRUCTOR], name: 'Teacher' });
  return members;
}

/** A line item whose learners scored `score(i)` out of `max`. */
export function lineItem(key: string, label: string, max: number, learners: number, score: (i: number) => number): FakeLineItem {
  const results = new Map<string, Record<string, unknown>>();
  for (let i = 1; i <= learners; i++) results.set(`u${i}`, { id: `r-${key}-${i}`, userId: `u${i}`, resultScore: score(i), resultMaximum: max });
  return { key, label, scoreMaximum: max, results };
}

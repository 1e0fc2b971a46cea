/**
 * The roster table of one certificate definition (R4): filters, sort and paging over the rows of
 * `courseOverview`, and each row as the page shows it. The service computes every learner at
 * once (a few reads, evaluated in memory); this file only narrows and slices, so 5,000 learners
 * cost one overview and a page of 100 rows.
 */
import { translatedLabelParams } from '../../grades/label-ref';
import type { CourseOverview, OverviewRow, OverviewStatus } from '../../certificates/overview.service';
import { floorPercent, type ItemChange, type Reason } from '../../certificates/evaluate';
import type { Translator } from '../../i18n';
import { STATUS_FILTERS, type OverviewQuery } from './schema';
import { changedColumnsList } from '../changed-columns.view';

export const PAGE_SIZE = 100;

type StatusFilter = (typeof STATUS_FILTERS)[number];
const STATUS_OF_FILTER: Record<Exclude<StatusFilter, 'all'>, OverviewStatus> = {
  none: 'none',
  valid: 'active',
  stale: 'stale',
  superseded: 'superseded',
  revoked: 'revoked',
  expired: 'expired',
};
const FILTER_OF_STATUS: Record<OverviewStatus, Exclude<StatusFilter, 'all'>> = {
  none: 'none',
  active: 'valid',
  stale: 'stale',
  superseded: 'superseded',
  revoked: 'revoked',
  expired: 'expired',
};

export interface RowView {
  userId: string;
  name: string;
  email: string | null;
  /** 'left' | 'inactive' | 'unknown' when not an active member of the roster. */
  memberFlag: string | null;
  memberFlagText: string | null;
  score: number;
  eligible: boolean;
  mainReason: string | null;
  status: Exclude<StatusFilter, 'all'>;
  statusText: string;
  statusClass: string;
  /** "issued at 85%, now 95%" for a stale certificate. */
  staleText: string | null;
  issuedAt: Date | null;
  certificateId: string | null;
  code: string | null;
  canReissue: boolean;
  canDelete: boolean;
  canOpen: boolean;
  canIssue: boolean;
}

const STATUS_CLASS: Record<OverviewStatus, string> = {
  none: '',
  active: 'ok',
  stale: 'warn',
  superseded: '',
  revoked: 'bad',
  expired: 'warn',
};

/** The one reason the table shows for a learner who does not qualify (the first the rules give). */
export function mainReason(reasons: Reason[], t: Translator): string | null {
  const r = reasons[0];
  if (!r) return null;
  return t(`teacher.reason.${r.code}`, translatedLabelParams(r.params, t));
}

/**
 * Why a certificate whose score did not change is stale: the columns whose grade changed, each
 * in the viewer's language when the tool wrote its label ("Huidige score (Canvas)").
 */
export function staleItemsText(changes: readonly ItemChange[], t: Translator): string {
  if (changes.length === 0) return t('teacher.overview.staleItems');
  return t('teacher.overview.staleItemsNamed', { items: changedColumnsList(changes, t) });
}

function rowView(row: OverviewRow, t: Translator): RowView {
  const c = row.certificate;
  const staleText =
    row.status === 'stale' && row.comparison
      ? row.comparison.scoreChanged
        ? t('teacher.overview.staleScore', { issued: floorPercent(row.comparison.issuedScore), now: floorPercent(row.comparison.currentScore) })
        : staleItemsText(row.comparison.itemChanges, t)
      : null;
  return {
    userId: row.userId,
    name: row.name ?? t('teacher.overview.nameUnknown', { id: row.userId }),
    email: row.email,
    memberFlag: row.memberStatus === 'active' ? null : row.memberStatus,
    memberFlagText: row.memberStatus === 'active' ? null : t(`teacher.overview.member.${row.memberStatus}`),
    score: row.scorePercent,
    eligible: row.eligible,
    mainReason: mainReason(row.reasons, t),
    status: FILTER_OF_STATUS[row.status],
    statusText: t(`teacher.status.${FILTER_OF_STATUS[row.status]}`),
    statusClass: STATUS_CLASS[row.status],
    staleText,
    issuedAt: c?.issuedAt ?? null,
    certificateId: c ? String(c._id) : null,
    code: c?.code ?? null,
    canReissue: row.status === 'stale' && row.comparison?.stillEligible === true,
    canDelete: row.status === 'active' || row.status === 'stale' || row.status === 'expired',
    // a deleted certificate is not offered to open; an eligible learner without a valid one can be issued one
    canOpen: c !== null && c !== undefined && row.status !== 'revoked',
    canIssue: row.eligible && (row.status === 'none' || row.status === 'revoked' || row.status === 'expired'),
  };
}

export interface OverviewPage {
  rows: RowView[];
  counts: Array<{ status: Exclude<StatusFilter, 'all'>; count: number; text: string; href: string; current: boolean }>;
  total: number;
  learners: number;
  eligible: number;
  /** Learners matching the filters. */
  matching: number;
  page: number;
  pages: number;
  firstRow: number;
  lastRow: number;
  prevHref: string | null;
  nextHref: string | null;
  sortLinks: Record<'name' | 'score' | 'issued', { href: string; active: boolean; dir: 'asc' | 'desc' }>;
  query: OverviewQuery;
}

/** `?…` for the overview with these settings (defaults left out, so links stay short). */
export function overviewHref(base: string, q: Partial<OverviewQuery>): string {
  const params = new URLSearchParams();
  if (q.status && q.status !== 'all') params.set('status', q.status);
  if (q.eligible && q.eligible !== 'all') params.set('eligible', q.eligible);
  if (q.q) params.set('q', q.q);
  if (q.sort && q.sort !== 'name') params.set('sort', q.sort);
  if (q.dir) params.set('dir', q.dir);
  if (q.page && q.page > 1) params.set('page', String(q.page));
  const s = params.toString();
  return s ? `${base}?${s}` : base;
}

const defaultDir = (sort: OverviewQuery['sort']): 'asc' | 'desc' => (sort === 'name' ? 'asc' : 'desc');

/** Filters, sorts and slices the overview for one page of the table. */
export function buildOverviewPage(overview: CourseOverview, query: OverviewQuery, base: string, t: Translator): OverviewPage {
  const wanted = query.status === 'all' ? null : STATUS_OF_FILTER[query.status];
  const needle = query.q.toLocaleLowerCase();
  let rows = overview.rows.filter(
    (r) =>
      (wanted === null || r.status === wanted) &&
      (query.eligible === 'all' || r.eligible === (query.eligible === 'yes')) &&
      (!needle || (r.name ?? '').toLocaleLowerCase().includes(needle) || (r.email ?? '').toLocaleLowerCase().includes(needle)),
  );
  const dir = query.dir ?? defaultDir(query.sort);
  const sign = dir === 'asc' ? 1 : -1;
  if (query.sort !== 'name' || dir === 'desc') {
    // The service sorts by name; every other order keeps name order among equals (stable sort).
    const key = (r: OverviewRow): number =>
      query.sort === 'score' ? r.scorePercent : query.sort === 'issued' ? (r.certificate?.issuedAt?.getTime() ?? Number.NEGATIVE_INFINITY) : 0;
    rows = query.sort === 'name' ? [...rows].reverse() : [...rows].sort((a, b) => sign * (key(a) - key(b) || 0));
  }
  const matching = rows.length;
  const pages = Math.max(1, Math.ceil(matching / PAGE_SIZE));
  const page = Math.min(query.page, pages);
  const slice = rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const here = { ...query, page };
  const sortLink = (sort: OverviewQuery['sort']) => {
    const active = query.sort === sort;
    const nextDir = active ? (dir === 'asc' ? 'desc' : 'asc') : defaultDir(sort);
    return { href: overviewHref(base, { ...here, sort, dir: nextDir === defaultDir(sort) ? undefined : nextDir, page: 1 }), active, dir: active ? dir : nextDir };
  };
  const order: Array<Exclude<StatusFilter, 'all'>> = ['none', 'valid', 'stale', 'expired', 'superseded', 'revoked'];
  return {
    rows: slice.map((r) => rowView(r, t)),
    counts: order.map((status) => ({
      status,
      count: overview.counts[STATUS_OF_FILTER[status]],
      text: t(`teacher.status.${status}`),
      href: overviewHref(base, { ...here, status: query.status === status ? 'all' : status, page: 1 }),
      current: query.status === status,
    })),
    total: overview.rows.length,
    learners: overview.counts.learners,
    eligible: overview.counts.eligible,
    matching,
    page,
    pages,
    firstRow: matching === 0 ? 0 : (page - 1) * PAGE_SIZE + 1,
    lastRow: (page - 1) * PAGE_SIZE + slice.length,
    prevHref: page > 1 ? overviewHref(base, { ...here, page: page - 1 }) : null,
    nextHref: page < pages ? overviewHref(base, { ...here, page: page + 1 }) : null,
    sortLinks: { name: sortLink('name'), score: sortLink('score'), issued: sortLink('issued') },
    query: here,
  };
}

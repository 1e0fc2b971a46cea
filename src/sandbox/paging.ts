/**
 * Paging of AGS and NRPS containers, per platform: Moodle pages only when `limit` is sent and
 * writes `rel=“next”` with typographic quotes on AGS; Canvas pages by default, caps pages at 50 and
 * sends current/next/first/last; Chamilo pages with `limit` + `page`.
 */
import type { Request } from 'express';
import type { QuirkProfile } from './quirks';

const PAGING_PARAMS = ['limit', 'per_page', 'from', 'page'];

function positiveInt(value: unknown, min: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min ? n : undefined;
}

/**
 * Node refuses header characters beyond Latin-1, while PHP sends Moodle's quotes as raw UTF-8
 * bytes. Writing the UTF-8 bytes as Latin-1 characters puts the same bytes on the wire; clients
 * decode them as Latin-1 (`rel=â€œnextâ€`), exactly as they do when Moodle sends them.
 */
function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export interface Page<T> {
  items: T[];
  /** Value for the Link header, when there is one. */
  link?: string;
}

/**
 * Cuts one page out of `all` according to the request and the platform's habits.
 * `selfUrl` is the absolute URL of the container without query.
 */
export function paginate<T>(req: Request, all: T[], selfUrl: string, quirks: QuirkProfile, opts: { typographicQuotes: boolean; defaultPageSize?: number }): Page<T> {
  const asked = positiveInt(req.query.limit, 1) ?? positiveInt(req.query.per_page, 1);
  let size = asked ?? opts.defaultPageSize ?? quirks.defaultPageSize;
  if (size !== undefined && quirks.maxPageSize !== undefined) size = Math.min(size, quirks.maxPageSize);
  if (size === undefined) return { items: all };

  const from = positiveInt(req.query.from, 0);
  const pageNo = positiveInt(req.query.page, 1);
  const offset = from ?? ((pageNo ?? 1) - 1) * size;
  const items = all.slice(offset, offset + size);

  const kept = new URLSearchParams();
  for (const [name, value] of Object.entries(req.query)) {
    if (PAGING_PARAMS.includes(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') kept.append(name, v);
  }
  const urlAt = (start: number) => {
    const params = new URLSearchParams(kept);
    if (quirks.pagingParam === 'page') {
      params.set(quirks.fullLinkRelations ? 'per_page' : 'limit', String(size));
      params.set('page', String(Math.floor(start / size!) + 1));
    } else {
      params.set('limit', String(size));
      params.set('from', String(start));
    }
    return `${selfUrl}?${params.toString()}`;
  };
  const hasNext = offset + size < all.length;

  if (opts.typographicQuotes) return { items, link: hasNext ? utf8Bytes(`<${urlAt(offset + size)}>; rel=“next”`) : undefined };
  const relations: string[] = [];
  if (quirks.fullLinkRelations) relations.push(`<${urlAt(offset)}>; rel="current"`);
  if (hasNext) relations.push(`<${urlAt(offset + size)}>; rel="next"`);
  if (offset > 0 && quirks.fullLinkRelations) relations.push(`<${urlAt(Math.max(0, offset - size))}>; rel="prev"`);
  if (quirks.fullLinkRelations) {
    relations.push(`<${urlAt(0)}>; rel="first"`);
    relations.push(`<${urlAt(Math.max(0, Math.ceil(all.length / size) - 1) * size)}>; rel="last"`);
  }
  return { items, link: relations.length > 0 ? relations.join(',') : undefined };
}

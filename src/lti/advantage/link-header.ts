/**
 * Parsing of RFC 8288 `Link` headers as LMSs really send them.
 *
 * Moodle's AGS endpoints build the header with typographic quotes (`rel=“next”`), which strict
 * parsers (ltijs's `parse-link-header` included) do not see. Canvas sends several links in one
 * header (`current`, `next`, `first`, `last`), and a `rel` may hold several space-separated values.
 */

/** Characters platforms use to quote parameter values, typographic ones included. */
const QUOTES = /^["'“”‘’„«»]+|["'“”‘’„«»]+$/g;

/**
 * HTTP clients (undici, hence `fetch`) read header bytes as Latin-1, so Moodle's UTF-8 `“` arrives
 * as `â\u0080\u009c`. Re-decode such a header as UTF-8 when it is valid UTF-8.
 */
function decodeRawUtf8(header: string): string {
  if (!/[\u0080-\u00ff]/.test(header) || /[^\u0000-\u00ff]/.test(header)) return header;
  const decoded = Buffer.from(header, 'latin1').toString('utf8');
  return decoded.includes('\ufffd') ? header : decoded;
}

/**
 * Returns a map from each relation type (lower case) to its absolute URL.
 * Relative targets are resolved against `base` when given; unparsable targets are skipped.
 * When several links share a relation, the first one wins.
 */
export function parseLinkHeader(header: string | null | undefined, base?: string): Map<string, string> {
  const links = new Map<string, string>();
  if (!header) return links;
  header = decodeRawUtf8(header);
  // A link is `<target>` followed by `;`-separated params; the next link starts at the next `<`
  // after a comma. Splitting on `<` keeps commas inside URLs (query strings) intact.
  const re = /<([^>]*)>([^<]*)/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    const target = m[1]!.trim();
    const params = m[2]!.split(';').slice(1);
    let url: string;
    try {
      url = base ? new URL(target, base).toString() : new URL(target).toString();
    } catch {
      continue;
    }
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const name = param.slice(0, eq).trim().toLowerCase();
      if (name !== 'rel') continue;
      const value = param.slice(eq + 1).replace(/,\s*$/, '').trim().replace(QUOTES, '').trim();
      for (const rel of value.toLowerCase().split(/\s+/)) {
        if (rel && !links.has(rel)) links.set(rel, url);
      }
    }
  }
  return links;
}

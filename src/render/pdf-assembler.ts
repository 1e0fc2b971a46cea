/**
 * Joining and splitting the PDFs that Chromium writes, without a PDF library.
 *
 * Why: an export of a whole course is rendered in batches (one HTML document of ~100
 * certificates per batch is ~30x faster than single PDFs), and the batches must end up as ONE
 * file without holding the course in memory. Chromium's PDF writer (Skia) produces plain PDF
 * 1.4: a classic cross-reference table, no object streams, no encryption. For that shape a
 * merge is a copy: every object reachable from a page is written again under a new number, the
 * references inside dictionaries are renumbered, and one new page tree points at all pages. Only
 * one batch is in memory at a time; the output is written as it goes.
 *
 * Anything else (an xref stream, object streams) is refused with an error, never half-copied.
 */
import { dictEntries, INHERITABLE, mapOutsideStrings, refOf, refsIn, REFS, skipValue, skipWs, unsupported, type Range, type SourceObject, type SourcePage } from './pdf-syntax';

const parsed = new WeakMap<Buffer, PdfSource>();

/** One PDF written by Chromium, parsed enough to copy its pages. */
export class PdfSource {
  private readonly s: string;
  private readonly offsets = new Map<number, number>();
  private readonly cache = new Map<number, SourceObject>();
  readonly pages: SourcePage[] = [];

  private constructor(readonly buf: Buffer) {
    this.s = buf.toString('latin1');
    const trailer = this.readXref();
    const root = refOf(this.text(trailer.get('Root')));
    if (root === undefined) throw unsupported('no document catalog');
    const catalog = dictEntries(this.s, this.object(root).dict[0]);
    const pagesRoot = refOf(this.text(catalog.get('Pages')));
    if (pagesRoot === undefined) throw unsupported('no page tree');
    this.walkPages(pagesRoot, new Map(), new Set());
  }

  /**
   * Parses a PDF. With `keep`, the parse is remembered for the Buffer until the next parse of it
   * takes it: the renderer counts a printed batch's pages, and the export then copies them from
   * that same parse instead of reading 1.6 MB again.
   */
  static parse(buf: Buffer, opts: { keep?: boolean } = {}): PdfSource {
    const kept = parsed.get(buf);
    if (kept) {
      parsed.delete(buf);
      return kept;
    }
    if (!buf.subarray(0, 5).equals(Buffer.from('%PDF-'))) throw unsupported('not a PDF');
    const src = new PdfSource(buf);
    if (opts.keep) parsed.set(buf, src);
    return src;
  }

  get pageCount(): number {
    return this.pages.length;
  }

  private text(r: Range | undefined): string | undefined {
    return r && this.s.slice(r[0], r[1]);
  }

  private readXref(): Map<string, Range> {
    const s = this.s;
    const sx = s.lastIndexOf('startxref');
    if (sx < 0) throw unsupported('no startxref');
    let at = Number(/^startxref\s+(\d+)/.exec(s.slice(sx, sx + 40))?.[1]);
    let newest: Map<string, Range> | undefined;
    const seen = new Set<number>();
    while (Number.isFinite(at) && !seen.has(at)) {
      seen.add(at);
      if (!s.startsWith('xref', at)) throw unsupported('cross-reference streams are not supported');
      let i = at + 4;
      for (;;) {
        i = skipWs(s, i);
        if (s.startsWith('trailer', i)) break;
        const head = /^(\d+)\s+(\d+)/.exec(s.slice(i, i + 40));
        if (!head) throw unsupported('bad cross-reference table');
        const first = Number(head[1]);
        const count = Number(head[2]);
        i = skipWs(s, i + head[0].length);
        for (let k = 0; k < count; k++) {
          const entry = /^(\d{10}) (\d{5}) ([nf])/.exec(s.slice(i, i + 20));
          if (!entry) throw unsupported('bad cross-reference entry');
          // Older sections (followed via /Prev) never override newer ones.
          if (entry[3] === 'n' && !this.offsets.has(first + k)) this.offsets.set(first + k, Number(entry[1]));
          i = skipWs(s, i + 18);
        }
      }
      const trailer = dictEntries(s, i + 'trailer'.length);
      newest ??= trailer;
      at = Number(this.text(trailer.get('Prev')) ?? NaN);
    }
    if (!newest) throw unsupported('no trailer');
    return newest;
  }

  /** The object's value and stream ranges. */
  object(num: number): SourceObject {
    const cached = this.cache.get(num);
    if (cached) return cached;
    const s = this.s;
    const off = this.offsets.get(num);
    if (off === undefined) throw unsupported(`object ${num} is missing`);
    const head = /^(\d+)\s+(\d+)\s+obj/.exec(s.slice(off, off + 40));
    if (!head || Number(head[1]) !== num) throw unsupported(`object ${num} is not where the table says`);
    const start = skipWs(s, off + head[0].length);
    const end = skipValue(s, start);
    const obj: SourceObject = { num, dict: [start, end] };
    let i = skipWs(s, end);
    if (s.startsWith('stream', i)) {
      i += 6;
      if (s[i] === '\r') i++;
      if (s[i] === '\n') i++;
      const lengthText = this.text(dictEntries(s, start).get('Length'));
      const lengthRef = refOf(lengthText);
      let length = lengthRef !== undefined ? Number(this.valueText(lengthRef)) : Number(lengthText);
      if (!Number.isFinite(length) || !s.startsWith('endstream', skipWs(s, i + length))) {
        length = s.indexOf('endstream', i) - i;
        while (length > 0 && (s[i + length - 1] === '\n' || s[i + length - 1] === '\r')) length--;
      }
      if (length < 0) throw unsupported(`stream of object ${num} has no end`);
      obj.stream = [i, i + length];
    }
    this.cache.set(num, obj);
    return obj;
  }

  valueText(num: number): string {
    const o = this.object(num);
    return this.s.slice(o.dict[0], o.dict[1]);
  }

  streamBytes(num: number): Buffer | undefined {
    const r = this.object(num).stream;
    return r && this.buf.subarray(r[0], r[1]);
  }

  private readonly pageNums = new Set<number>();

  isPage(num: number): boolean {
    return this.pageNums.has(num);
  }

  /** The page's dictionary without its /Parent, with inherited entries added. */
  pageDictBody(page: SourcePage): string {
    const o = this.object(page.num);
    const entries = dictEntries(this.s, o.dict[0]);
    let body = '';
    for (const [key, [a, b]] of entries) if (key !== 'Parent') body += `/${key} ${this.s.slice(a, b)}\n`;
    return body + page.inherited;
  }

  private walkPages(num: number, inherited: Map<string, string>, seen: Set<number>): void {
    if (seen.has(num)) throw unsupported('page tree has a cycle');
    seen.add(num);
    const entries = dictEntries(this.s, this.object(num).dict[0]);
    const type = this.text(entries.get('Type'))?.trim();
    if (type === '/Page') {
      let extra = '';
      for (const [key, value] of inherited) if (!entries.has(key)) extra += `/${key} ${value}\n`;
      this.pages.push({ num, inherited: extra });
      this.pageNums.add(num);
      return;
    }
    const own = new Map(inherited);
    for (const key of INHERITABLE) {
      const v = this.text(entries.get(key));
      if (v !== undefined) own.set(key, v);
    }
    const kids = this.text(entries.get('Kids')) ?? '[]';
    for (const kid of refsIn(kids)) this.walkPages(kid, own, seen);
  }
}

/** Where the assembled PDF goes; resolves when the chunk may be followed by the next (backpressure). */
export type PdfSink = (chunk: Buffer) => Promise<void> | void;

/** A sink for a Node stream that waits for 'drain' when the stream's buffer is full. */
export function streamSink(out: NodeJS.WritableStream): PdfSink {
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      out.once('error', onError);
      const ok = out.write(chunk, (err) => {
        if (err) reject(err);
      });
      const done = () => {
        out.removeListener('error', onError);
        resolve();
      };
      if (ok) done();
      else out.once('drain', done);
    });
}

/** PDF text string (UTF-16BE with BOM, as hex) for metadata such as the title. */
function pdfTextString(text: string): string {
  const units = Buffer.from('\ufeff' + text, 'utf16le').swap16();
  return `<${units.toString('hex')}>`;
}

/** A six-letter font subset tag unique to each source, so two batches' subsets never share a name. */
function subsetTag(n: number): string {
  let tag = '';
  for (let i = 0; i < 6; i++) {
    tag = String.fromCharCode(65 + (n % 26)) + tag;
    n = Math.floor(n / 26);
  }
  return tag;
}

const FLUSH_BYTES = 256 * 1024;

/**
 * Writes one PDF made of pages copied from sources, streaming: each `addPages` writes its
 * objects at once; `finish` writes the page tree, catalog and cross-reference table.
 * Memory: the current source plus one offset per written object.
 */
export class PdfWriter {
  private position = 0;
  private readonly offsets: number[] = [0, 0, 0, 0]; // objects 1-3: catalog, page tree, info
  private readonly pageRefs: number[] = [];
  private sources = 0;
  private finished = false;

  constructor(
    private readonly sink: PdfSink,
    /** The title may be a function, asked at finish: an export's page count is known only then. */
    private readonly meta: { title?: string | (() => string) } = {},
  ) {}

  get pageCount(): number {
    return this.pageRefs.length;
  }

  /** Written but not yet handed to the sink: objects are small, and the sink gets ~256 KiB at a time. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private async emit(chunk: Buffer | string): Promise<void> {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.position += buf.length;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.sink(chunk);
  }

  private async begin(): Promise<void> {
    if (this.position === 0) await this.emit('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n');
  }

  /** Copies the given pages (all by default, in order) of `src` to the end of this document. */
  async addPages(src: PdfSource, pageIndexes?: number[]): Promise<void> {
    if (this.finished) throw new Error('PdfWriter: finished');
    await this.begin();
    const pages = (pageIndexes ?? src.pages.map((_, i) => i)).map((i) => {
      const p = src.pages[i];
      if (!p) throw new RangeError(`page ${i} does not exist`);
      return p;
    });
    const tag = subsetTag(this.sources++);
    const renumber = new Map<number, number>();
    const queue: number[] = [];
    const numberFor = (old: number): number => {
      let n = renumber.get(old);
      if (n === undefined) {
        n = this.offsets.length;
        this.offsets.push(0);
        renumber.set(old, n);
        queue.push(old);
      }
      return n;
    };
    const selected = new Set(pages.map((p) => p.num));
    for (const p of pages) this.pageRefs.push(numberFor(p.num));
    const pageByNum = new Map(pages.map((p) => [p.num, p]));

    while (queue.length > 0) {
      const old = queue.shift()!;
      const page = pageByNum.get(old);
      let body = page ? `<<${src.pageDictBody(page)}/Parent 2 0 R>>` : src.valueText(old);
      body = mapOutsideStrings(body, (part) =>
        part
          .replace(REFS, (_m, num: string) => {
            const target = Number(num);
            // A link to a page that is not copied (when splitting) points nowhere rather than dragging that page along.
            if (src.isPage(target) && !selected.has(target)) return 'null';
            return `${numberFor(target)} 0 R`;
          })
          .replace(/\/[A-Z]{6}\+/g, `/${tag}+`),
      );
      const stream = src.streamBytes(old);
      this.offsets[renumber.get(old)!] = this.position;
      if (stream) {
        await this.emit(`${renumber.get(old)} 0 obj\n${body}\nstream\n`);
        await this.emit(stream);
        await this.emit('\nendstream\nendobj\n');
      } else {
        await this.emit(`${renumber.get(old)} 0 obj\n${body}\nendobj\n`);
      }
    }
    await this.flush();
  }

  /** Writes the page tree, catalog, info and cross-reference table. */
  async finish(): Promise<{ pages: number; bytes: number }> {
    if (this.finished) throw new Error('PdfWriter: finished twice');
    if (this.pageRefs.length === 0) throw unsupported('no pages');
    await this.begin();
    this.finished = true;
    const object = async (num: number, body: string) => {
      this.offsets[num] = this.position;
      await this.emit(`${num} 0 obj\n${body}\nendobj\n`);
    };
    await object(1, '<</Type /Catalog\n/Pages 2 0 R>>');
    // The kids list is written in slices so that a 10,000-page export never builds one huge string.
    this.offsets[2] = this.position;
    await this.emit(`2 0 obj\n<</Type /Pages\n/Count ${this.pageRefs.length}\n/Kids [`);
    for (let i = 0; i < this.pageRefs.length; i += 500) {
      await this.emit(this.pageRefs.slice(i, i + 500).map((n) => `${n} 0 R`).join(' ') + '\n');
    }
    await this.emit(']>>\nendobj\n');
    const titleText = typeof this.meta.title === 'function' ? this.meta.title() : this.meta.title;
    const title = titleText ? `/Title ${pdfTextString(titleText)}\n` : '';
    await object(3, `<<${title}/Producer (lti-certificates)>>`);
    const xrefAt = this.position;
    await this.emit(`xref\n0 ${this.offsets.length}\n0000000000 65535 f \n`);
    for (let i = 1; i < this.offsets.length; i += 1000) {
      const slice = this.offsets.slice(i, i + 1000);
      await this.emit(slice.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join(''));
    }
    await this.emit(`trailer\n<</Size ${this.offsets.length}\n/Root 1 0 R\n/Info 3 0 R>>\nstartxref\n${xrefAt}\n%%EOF\n`);
    await this.flush();
    return { pages: this.pageRefs.length, bytes: this.position };
  }
}

/** Each page of a PDF as a PDF of its own (for ZIP exports of single certificates). */
export async function splitPdf(buf: Buffer, titles?: (index: number) => string | undefined): Promise<Buffer[]> {
  const src = PdfSource.parse(buf);
  const out: Buffer[] = [];
  for (let i = 0; i < src.pageCount; i++) {
    const chunks: Buffer[] = [];
    const writer = new PdfWriter((c) => void chunks.push(c), { title: titles?.(i) });
    await writer.addPages(src, [i]);
    await writer.finish();
    out.push(Buffer.concat(chunks));
  }
  return out;
}

/** Number of pages of a PDF (parsed, not guessed); `keep` as for PdfSource.parse. */
export function countPdfPages(buf: Buffer, opts: { keep?: boolean } = {}): number {
  return PdfSource.parse(buf, opts).pageCount;
}

/**
 * Chromium, driven by puppeteer, prints certificate HTML to PDF.
 *
 * One browser per process, started on first use; a few pages kept open and reused (opening a
 * page costs more than printing one certificate). If the browser dies (crash, OOM killer), the
 * next call starts a new one. Every render has a deadline, counted from the call (waiting for a
 * free page included): past it the page is closed, its slot freed for the next render, and the
 * caller gets RenderTimeoutError, never a partial PDF. A certificate someone waits for on a page
 * (learner's PDF, teacher's preview) has a short one (15 s), so a stalled preview — an image that
 * never finishes loading or decoding — holds one page for that long at most.
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import type { Logger } from '../logger';
import type { CertificateDocument } from './certificate-document';
import { renderBatchHtml, renderCertificateHtml } from './certificate-html';
import { chromiumFontconfig } from './fonts';
import { countPdfPages } from './pdf-assembler';
import {
  CertificateTemplateError,
  RenderFailedError,
  RenderTimeoutError,
  RendererUnavailableError,
} from './render-errors';
import { inEnglish } from '../i18n/english';

/** Flags that make headless Chromium work in containers and keep it from calling home (see research/infra.md §3). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The environment to start Chromium with: ours, with FONTCONFIG_FILE pointing at a fontconfig
 * that knows only the fonts we ship (fonts.ts), so that no system font is needed or used.
 */
export function chromiumEnv(): NodeJS.ProcessEnv {
  return { ...process.env, FONTCONFIG_FILE: chromiumFontconfig() };
}

/** Where Debian and Ubuntu put Chromium. */
const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The one command that gets a browser for PDFs where one can be downloaded (package.json). */
export const SETUP_BROWSER_COMMAND = 'npm run setup-browser';

/** Which browser prints the PDFs, or why none can, and the command that fixes it. */
export interface BrowserStatus {
  ok: boolean;
  /** The binary, when one was found (or the configured path, found or not). */
  path: string | null;
  source: 'configured' | 'system' | 'puppeteer' | 'none';
  /** For the administrator: what is wrong and what to do (English, like /admin). */
  problem: string | null;
  command: string;
}

/** puppeteer's own browsers, as `npm run setup-browser` (or `npx puppeteer browsers install`) puts them. */
function puppeteerBrowsers(): string[] {
  const out: string[] = [];
  for (const ask of [() => puppeteer.executablePath({ headless: 'shell' }), () => puppeteer.executablePath()]) {
    try {
      out.push(ask());
    } catch {
      // no cache directory, unknown platform: none
    }
  }
  return out;
}

/**
 * The browser to print with: the configured path (Config.chromiumPath) if given, else the
 * system's Chromium if installed (Debian: apt-get install chromium), else the browser
 * `npm run setup-browser` downloaded for puppeteer. Checked on each call (a file test, cheap):
 * /admin and the pages say at once when there is none, and a browser installed later is used.
 */
export function browserStatus(configured?: string): BrowserStatus {
  const command = SETUP_BROWSER_COMMAND;
  if (configured) {
    return existsSync(configured)
      ? { ok: true, path: configured, source: 'configured', problem: null, command }
      : {
          ok: false,
          path: configured,
          source: 'configured',
          problem: `No browser at CHROMIUM_PATH=${configured}, so no PDF can be made. Fix the path, or unset it and run \`${command}\`.`,
          command,
        };
  }
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) return { ok: true, path: system, source: 'system', problem: null, command };
  const own = puppeteerBrowsers().find((p) => existsSync(p));
  if (own) return { ok: true, path: own, source: 'puppeteer', problem: null, command };
  return {
    ok: false,
    path: null,
    source: 'none',
    problem: `No browser is installed, so no PDF can be made. Run \`${command}\` (it downloads puppeteer's Chrome), or on Debian apt-get install chromium, or set CHROMIUM_PATH.`,
    command,
  };
}

/** The browser binary browserStatus finds, or undefined. */
export function findChromium(configured?: string): string | undefined {
  const status = browserStatus(configured);
  return status.ok ? status.path! : configured;
}

export interface PdfRendererOptions {
  /** Chromium binary; see findChromium for the default. */
  executablePath?: string;
  /**
   * Deadline for one certificate, browser start included (default 30 s). A batch gets one more
   * such deadline per 20 certificates, so 100 certificates have 6x as long.
   */
  renderTimeoutMs?: number;
  /**
   * Deadline for one certificate asked for by a person waiting on the page (a learner's PDF, the
   * teacher's preview), waiting for a free page included (default 15 s). A stalled preview then
   * gives its page back after at most this long, and never waits behind others forever.
   */
  singleTimeoutMs?: number;
  /**
   * Pages printing at the same time; more calls wait their turn. Default 3: an export prints
   * two batches at once and a learner's single PDF still gets a page without waiting.
   */
  maxConcurrentPages?: number;
  logger?: Logger;
}

/**
 * A batch's HTML built ahead of its print (prepareBatch), so an export can build the next batch
 * while the pages print the current ones: the page never waits for Node's HTML and QR work.
 */
export interface PreparedBatch {
  html: string;
  /** Certificates in it: the pages the PDF must have. */
  pages: number;
}

/** Validates and lays out certificates as one batch document, ready for `PdfRenderer.pdfBatch`. */
export async function prepareBatch(docs: CertificateDocument[]): Promise<PreparedBatch> {
  return { html: await renderBatchHtml(docs), pages: docs.length };
}

export interface PdfRenderer {
  /** One certificate as a one-page PDF (validated first; ValidationError names a bad field). */
  pdf(doc: CertificateDocument): Promise<Buffer>;
  /** Prints an HTML page made by renderCertificateHtml or renderBatchHtml. */
  pdfFromHtml(html: string): Promise<Buffer>;
  /** Many certificates as one PDF, one page each, in order (given as documents, or as prepareBatch made them). */
  pdfBatch(batch: CertificateDocument[] | PreparedBatch): Promise<Buffer>;
  /**
   * Opens pages until `pages` are open and idle (the browser started if need be), so an export's
   * first prints on each page do not wait for a new page. Never more than maxConcurrentPages.
   */
  warm?(pages: number): Promise<void>;
  /** Closes the browser; later calls start a new one. */
  close(): Promise<void>;
  /** The running browser's process id, if any (for health checks and tests). */
  browserPid(): number | undefined;
  /** Which browser prints, or why none can (for /admin, the pages and the start-up log). */
  browserStatus(): BrowserStatus;
}

interface PageCheck {
  brokenImages: string[];
  brokenFonts: string[];
  overflowing: Array<{ index: number; box: string }>;
  /** Image classes (content hashes) this check decoded and found whole. */
  decodedImages: string[];
}

/**
 * Runs inside the page before printing: waits for the fonts, decodes every image (a truncated
 * PNG would otherwise print as nothing), and finds certificates whose text does not fit.
 * Images are named by a hash of their bytes (`img-…`, certificate-html.ts); those in `known`
 * decoded whole on an earlier print and are not decoded again (a batch's logo and signature
 * cost Chromium ~0.6 ms per certificate to decode for every batch, bench/README.md) — only
 * that their style rule is on the page is checked.
 */
async function checkPage(known: string[]): Promise<PageCheck> {
  await document.fonts.ready;
  // The page's own script (fit.js) sizes long texts once the fonts are in; wait for it.
  for (let i = 0; i < 500 && !document.documentElement.hasAttribute('data-fitted'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const brokenFonts = [...document.fonts].filter((f) => f.status === 'error').map((f) => f.family);
  const decodedBefore = new Set(known);
  const byUrl = new Map<string, { field: string; cls: string }>();
  const brokenImages: string[] = [];
  for (const el of document.querySelectorAll<HTMLElement>('[data-image-field]')) {
    const field = el.dataset.imageField ?? 'image';
    const m = /^url\("?(.*?)"?\)$/s.exec(getComputedStyle(el).backgroundImage);
    const cls = [...el.classList].find((c) => c.startsWith('img-')) ?? '';
    if (!m) brokenImages.push(field);
    else if (!decodedBefore.has(cls) && !byUrl.has(m[1]!)) byUrl.set(m[1]!, { field, cls });
  }
  const decodedImages: string[] = [];
  await Promise.all(
    [...byUrl].map(async ([url, { field, cls }]) => {
      const img = new Image();
      img.src = url;
      try {
        await img.decode();
        if (img.naturalWidth === 0) throw new Error('empty');
        if (cls) decodedImages.push(cls);
      } catch {
        brokenImages.push(field);
      }
    }),
  );
  const overflowing: PageCheck['overflowing'] = [];
  document.querySelectorAll('.sheet').forEach((sheet, index) => {
    for (const box of sheet.querySelectorAll<HTMLElement>('.content, .main, .middle, .band, .foot')) {
      if (box.scrollHeight > box.clientHeight + 2 || box.scrollWidth > box.clientWidth + 2) {
        overflowing.push({ index, box: box.className });
        return;
      }
    }
  });
  return { brokenImages: [...new Set(brokenImages)], brokenFonts: [...new Set(brokenFonts)], overflowing, decodedImages };
}

/**
 * A page is replaced after this many prints (a single certificate or a batch of 100 is one
 * print each): Chromium's renderer keeps growing over many documents on one page
 * (bench/README.md), and a fresh page starts small. Counted in prints, not certificates: what
 * a new page costs (a renderer process, its first layout) is paid per page, so with batches of
 * 100 the old count of 500 certificates replaced both pages of an export every five batches.
 */
const PAGE_PRINTS = 40;

class ChromiumPdfRenderer implements PdfRenderer {
  private browser?: Promise<Browser>;
  private idle: Page[] = [];
  private readonly uses = new WeakMap<Page, number>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly timeoutMs: number;
  private readonly singleTimeoutMs: number;
  private readonly maxPages: number;
  /** Image classes (hashes of the bytes) that decoded whole in this renderer; see checkPage. */
  private readonly decodedImages = new Set<string>();

  constructor(private readonly opts: PdfRendererOptions) {
    this.timeoutMs = opts.renderTimeoutMs ?? 30_000;
    this.singleTimeoutMs = opts.singleTimeoutMs ?? Math.min(15_000, this.timeoutMs);
    this.maxPages = Math.max(1, opts.maxConcurrentPages ?? 3);
  }

  browserPid(): number | undefined {
    return this.current?.process()?.pid;
  }

  browserStatus(): BrowserStatus {
    return browserStatus(this.opts.executablePath);
  }

  private current?: Browser;

  private launch(): Promise<Browser> {
    if (this.browser) return this.browser;
    const status = browserStatus(this.opts.executablePath);
    const executablePath = status.path ?? undefined;
    const started = Date.now();
    const launching = (async () => {
      // the English problem names the path and the command, for the log and /admin
      if (!status.ok) throw new RendererUnavailableError(status.problem!, { command: status.command, path: status.path }, { key: 'certificates.render.unavailable' });
      try {
        // puppeteer closes the browser on SIGTERM/SIGINT/SIGHUP by itself, at once: an export
        // printing then failed for good before the job queue could hand it back. main.ts closes
        // the browser on shutdown, after the queue has stopped.
        const browser = await puppeteer.launch({
          executablePath,
          headless: true,
          args: CHROMIUM_ARGS,
          // Our fonts only, never the system's (fonts.ts): the same PDF on every machine, and
          // one with no font installed works.
          env: chromiumEnv(),
          handleSIGINT: false,
          handleSIGTERM: false,
          handleSIGHUP: false,
          // DevTools over a pipe, not a WebSocket: Chromium ends when its pipe closes, so a tool
          // that is killed (kill -9, the OOM killer) leaves no browser behind. Over a WebSocket it
          // went on running, holding its memory, until someone killed it by hand.
          pipe: true,
        });
        this.opts.logger?.info(`browser started in ${Date.now() - started} ms`, { pid: browser.process()?.pid });
        browser.once('disconnected', () => {
          if (this.current === browser) {
            this.opts.logger?.warn('browser disconnected; the next render starts a new one');
            this.forget();
          }
        });
        this.current = browser;
        return browser;
      } catch (err) {
        throw new RendererUnavailableError(
          `Chromium could not be started (${executablePath ?? "puppeteer's own browser"}): ${(err as Error).message}`,
          undefined,
          { key: 'certificates.render.unavailable' },
        );
      }
    })();
    this.browser = launching;
    launching.catch(() => {
      if (this.browser === launching) this.browser = undefined;
    });
    return launching;
  }

  private forget(): void {
    this.browser = undefined;
    this.current = undefined;
    this.idle = [];
  }

  /** A free page slot, or RenderTimeoutError when none frees up before `deadline` (ms since epoch). */
  private async slot(deadline: number, timeoutMs: number): Promise<void> {
    if (this.active < this.maxPages) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new RenderTimeoutError(`The renderer stayed busy for ${timeoutMs} ms; try again`, { timeoutMs }, { key: 'certificates.render.busy' }));
      }, Math.max(0, deadline - Date.now()));
      this.waiting.push(turn);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async takePage(browser: Browser): Promise<Page> {
    while (this.idle.length > 0) {
      const page = this.idle.pop()!;
      if (!page.isClosed() && page.browser() === browser) return page;
    }
    return this.newPage(browser);
  }

  private async newPage(browser: Browser): Promise<Page> {
    const page = await browser.newPage();
    page.setDefaultTimeout(0); // the render deadline below is the only timeout
    return page;
  }

  private givePageBack(page: Page, healthy: boolean): void {
    const uses = (this.uses.get(page) ?? 0) + 1;
    this.uses.set(page, uses);
    if (healthy && uses < PAGE_PRINTS && this.current === page.browser() && !page.isClosed()) {
      this.idle.push(page);
      return;
    }
    page.close().catch(() => undefined);
    // A worn-out page's successor opens now, while the other pages print, not when the next
    // batch is ready for it.
    if (healthy && this.current === page.browser()) {
      const browser = this.current;
      this.newPage(browser).then(
        (fresh) => {
          if (this.current === browser) this.idle.push(fresh);
          else fresh.close().catch(() => undefined);
        },
        () => undefined,
      );
    }
  }

  async warm(pages: number): Promise<void> {
    const browser = await this.launch();
    const want = Math.min(pages, this.maxPages) - this.active - this.idle.length;
    const fresh = await Promise.all(Array.from({ length: Math.max(0, want) }, () => this.newPage(browser)));
    if (this.current === browser) this.idle.push(...fresh);
    else for (const p of fresh) p.close().catch(() => undefined);
  }

  private async print(html: string, opts: { tagged: boolean; expectedPages?: number; single?: boolean }): Promise<Buffer> {
    // the deadline runs from the call: time spent waiting for a page counts
    const timeoutMs = opts.single ? this.singleTimeoutMs : this.timeoutMs * (1 + Math.floor((opts.expectedPages ?? 1) / 20));
    const deadlineAt = Date.now() + timeoutMs;
    await this.slot(deadlineAt, timeoutMs);
    let page: Page | undefined;
    let abandoned = false;
    let healthy = false;
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      const browser = await this.launch();
      const p = await this.takePage(browser);
      if (abandoned) {
        p.close().catch(() => undefined);
        throw new RenderTimeoutError('abandoned', undefined, { key: 'certificates.render.timeout' });
      }
      page = p;
      await p.setContent(html, { waitUntil: 'load' });
      const check = await p.evaluate(checkPage, [...this.decodedImages]);
      this.rememberDecoded(check.decodedImages);
      if (check.brokenImages.length > 0) {
        healthy = true;
        const field = check.brokenImages[0]!;
        const ref = { key: 'certificates.render.imageDamaged', params: { field } };
        throw new CertificateTemplateError(inEnglish(ref), { field }, ref);
      }
      if (check.brokenFonts.length > 0) throw new RenderFailedError(`Fonts failed to load: ${check.brokenFonts.join(', ')}`, undefined, { key: 'certificates.render.fontsFailed' });
      if (check.overflowing.length > 0) {
        healthy = true;
        const ref = { key: 'certificates.render.textTooLong' };
        throw new CertificateTemplateError(inEnglish(ref), { ...check.overflowing[0] }, ref);
      }
      const bytes = await p.pdf({ printBackground: true, preferCSSPageSize: true, tagged: opts.tagged, timeout: 0 });
      const pdf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // puppeteer's own array: no copy
      healthy = true;
      return pdf;
    })();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned = true;
        healthy = false;
        reject(new RenderTimeoutError(`Rendering took longer than ${timeoutMs} ms and was stopped`, { timeoutMs }, { key: 'certificates.render.timeout' }));
      }, Math.max(0, deadlineAt - Date.now()));
    });
    work.catch(() => undefined); // after a timeout its failure has no one to tell
    try {
      const pdf = await Promise.race([work, deadline]);
      if (opts.expectedPages !== undefined) {
        // A batch's parse is kept for the export that copies its pages next (pdf-assembler).
        const pages = countPdfPages(pdf, { keep: !opts.single });
        if (pages !== opts.expectedPages) {
          throw new RenderFailedError(`Chromium printed ${pages} pages for ${opts.expectedPages} certificates`, undefined, { key: 'certificates.render.printFailed' });
        }
      }
      return pdf;
    } catch (err) {
      throw this.explain(err);
    } finally {
      clearTimeout(timer);
      if (page) this.givePageBack(page, healthy && !abandoned);
      this.release();
    }
  }

  private rememberDecoded(classes: string[]): void {
    // A few images per school; the bound only keeps a long-running process from collecting them all.
    if (this.decodedImages.size + classes.length > 1_000) this.decodedImages.clear();
    for (const c of classes) this.decodedImages.add(c);
  }

  /** Our errors pass through; a puppeteer error becomes "browser died" or "render failed", decided by browser state. */
  private explain(err: unknown): Error {
    if (err instanceof CertificateTemplateError || err instanceof RenderTimeoutError) return err;
    if (err instanceof RenderFailedError || err instanceof RendererUnavailableError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (!this.current?.connected) {
      return new RendererUnavailableError(`The browser stopped while rendering; try again (${message})`, undefined, { key: 'certificates.render.browserStopped' });
    }
    return new RenderFailedError(`Chromium could not print the certificate: ${message}`, undefined, { key: 'certificates.render.printFailed' });
  }

  async pdf(doc: CertificateDocument): Promise<Buffer> {
    return this.print(await renderCertificateHtml(doc), { tagged: true, expectedPages: 1, single: true });
  }

  async pdfFromHtml(html: string): Promise<Buffer> {
    return this.print(html, { tagged: true, single: true });
  }

  async pdfBatch(batch: CertificateDocument[] | PreparedBatch): Promise<Buffer> {
    const prepared = Array.isArray(batch) ? await prepareBatch(batch) : batch;
    // Untagged: the structure tree of a 100-page batch costs time and is dropped when batches are joined.
    return this.print(prepared.html, { tagged: false, expectedPages: prepared.pages });
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.forget();
    if (!browser) return;
    try {
      await (await browser).close();
    } catch {
      // never started, or already gone
    }
  }
}

/** A PDF renderer; no browser starts until the first render. Call close() at shutdown. */
export function createPdfRenderer(opts: PdfRendererOptions = {}): PdfRenderer {
  return new ChromiumPdfRenderer(opts);
}

/**
 * Certificate documents as HTML: one standalone page that is at once the on-screen preview, the
 * learner's view and the source Chromium prints to PDF, so that what a teacher previews is what
 * a learner downloads.
 *
 * Layout lengths are in `--u`, one hundredth of the paper's short side: in print `--u` is a
 * physical length (2.1 mm on A4); on screen it is a share of the container width, so the preview
 * scales with the window and keeps the printed proportions.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { ValidationError } from '../errors';
import { formatDate, formatPercent } from '../i18n/format';
import {
  validateDocument,
  type CertificateDocument,
  type CertificateImage,
  type DesignId,
  type Orientation,
  type Paper,
} from './certificate-document';
import { certificateFonts } from './fonts';
import { LABELS } from './labels';
import { qrSvg } from './qr-code';
import { CertificateTemplateError } from './render-errors';
import { inEnglish } from '../i18n/english';

/** Where the designs live: `<design>.hbs` (one sheet), `<design>.css`, plus `document.hbs` and `base.css`. */
export const TEMPLATE_DIR = join(__dirname, '..', '..', 'templates', 'certificates');

const PAPER_MM: Record<Paper, { short: number; long: number }> = {
  A4: { short: 210, long: 297 },
  Letter: { short: 215.9, long: 279.4 },
};

interface Templates {
  document: Handlebars.TemplateDelegate;
  fitScript: string;
  csp: string;
  sheets: Record<DesignId, Handlebars.TemplateDelegate>;
  css: { base: string } & Record<DesignId, string>;
}

let templates: Templates | undefined;

/**
 * Compiles the templates once per process. `strict` makes a misspelt field in a template throw
 * instead of printing nothing, so a template fault shows up in the first test, not on a diploma.
 */
function loadTemplates(): Templates {
  if (templates) return templates;
  const hbs = Handlebars.create();
  const read = (file: string) => readFileSync(join(TEMPLATE_DIR, file), 'utf8');
  const compile = (file: string) => hbs.compile(read(file), { strict: true });
  hbs.registerPartial('classic-seal', read('classic-seal.hbs'));
  hbs.registerPartial('classic-defs', read('classic-defs.hbs'));
  const fitScript = read('fit.js').trim();
  const scriptHash = createHash('sha256').update(fitScript).digest('base64');
  templates = {
    document: compile('document.hbs'),
    fitScript,
    csp: `default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; script-src 'sha256-${scriptHash}'`,
    sheets: { classic: compile('classic.hbs'), modern: compile('modern.hbs') },
    css: { base: read('base.css'), classic: read('classic.css'), modern: read('modern.css') },
  };
  return templates;
}

// ---------------------------------------------------------------------------------------------
// Fitting long text. The page's own script (fit.js) measures and shrinks long names and titles
// exactly, on screen and before printing. These classes are an estimate from the text's length,
// for a host page whose Content-Security-Policy blocks that script: still a sensible size.

const NARROW = new Set("iljtfrI.,;:!|'’()[]- ");
const WIDE = new Set('mwMWÆŒ@%');

/** Approximate width of `text` in em for a typical proportional font. */
function estimateEm(text: string): number {
  let em = 0;
  for (const ch of text) {
    if (ch === ' ') em += 0.26;
    else if (NARROW.has(ch)) em += 0.3;
    else if (WIDE.has(ch)) em += 0.82;
    else if (ch >= 'A' && ch <= 'Z') em += 0.66;
    else if (ch >= '0' && ch <= '9') em += 0.55;
    else if (ch.codePointAt(0)! > 0x2e80) em += 1; // CJK and the like are square
    else em += 0.5;
  }
  return em;
}

/**
 * The CSS class that scales a text (`fit-100` .. `fit-40`): 1 when it fits `lines` lines of
 * `capacityEm` em at full size, smaller otherwise. `widthFactor` corrects for the font
 * (Inter bold is wider than Garamond italic).
 */
function fitClass(text: string, capacityEm: number, lines: number, widthFactor: number, minFit: number): string {
  const width = estimateEm(text) * widthFactor;
  // Wrapped lines are never full, so allow 85% of each extra line.
  const room = capacityEm * (1 + (lines - 1) * 0.85);
  const fit = Math.max(minFit, Math.min(1, Math.floor((room / width) * 20) / 20));
  return `fit-${Math.round(fit * 100)}`;
}

interface FitRule {
  capacityEm: number;
  lines: number;
  widthFactor: number;
  minFit: number;
}

/**
 * Line length in em of each fitted text at full size, on the narrower paper (Letter in
 * landscape, A4 in portrait): box width over font size, from the designs' CSS.
 */
function fitRules(design: DesignId, orientation: Orientation): { title: FitRule; name: FitRule; course: FitRule; body: FitRule } {
  const land = orientation === 'landscape';
  if (design === 'classic') {
    return {
      title: { capacityEm: land ? 17 : 15, lines: 1, widthFactor: 1.25, minFit: 0.5 },
      name: { capacityEm: land ? 11 : 8.1, lines: 1, widthFactor: 0.9, minFit: 0.4 },
      course: { capacityEm: land ? 20.6 : 15.6, lines: 2, widthFactor: 1.0, minFit: 0.5 },
      body: { capacityEm: land ? 32.7 : 24.7, lines: 2, widthFactor: 0.95, minFit: 0.6 },
    };
  }
  return {
    title: { capacityEm: land ? 16 : 15.8, lines: 1, widthFactor: 1.1, minFit: 0.5 },
    name: { capacityEm: land ? 9.3 : 8.7, lines: 1, widthFactor: 1.12, minFit: 0.4 },
    course: { capacityEm: land ? 19.5 : 19, lines: 2, widthFactor: 1.1, minFit: 0.5 },
    body: { capacityEm: land ? 29.7 : 29, lines: 2, widthFactor: 1.05, minFit: 0.6 },
  };
}

// ---------------------------------------------------------------------------------------------
// Colours

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

const toHex = (rgb: number[]) => '#' + rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('');

/**
 * The accent colour's CSS variables. A teacher may pick a pale colour; text drawn in the accent
 * then uses a darkened "ink" version so it stays readable (contrast 4.5:1 on white), and text on
 * an accent background is dark or white, whichever reads better.
 */
function accentCss(accent: string): string {
  const rgb = hexToRgb(accent);
  let ink = rgb;
  for (let i = 0; i < 20 && (1.05 / (luminance(ink) + 0.05)) < 4.5; i++) ink = ink.map((c) => c * 0.88) as typeof rgb;
  const onAccent = 1.05 / (luminance(rgb) + 0.05) >= 3 ? '#ffffff' : '#111827';
  return `.accent-${accent.slice(1).toLowerCase()}{--accent:${accent};--accent-ink:${toHex(ink)};--on-accent:${onAccent}}`;
}

// ---------------------------------------------------------------------------------------------
// Images, QR code and the seal

/**
 * An export's certificates share one Buffer per stored image (its image loader reads each file
 * once), so the hash is taken once per Buffer and content type, not once per certificate.
 */
const imageClasses = new WeakMap<Buffer, Map<string, string>>();

function imageClass(img: CertificateImage): string {
  let byType = imageClasses.get(img.data);
  let cls = byType?.get(img.contentType);
  if (cls) return cls;
  cls = 'img-' + createHash('sha256').update(img.contentType).update(img.data).digest('hex').slice(0, 16);
  if (!byType) imageClasses.set(img.data, (byType = new Map()));
  byType.set(img.contentType, cls);
  return cls;
}

/** Images are CSS backgrounds named by content hash, so a logo shared by 100 pages is in the HTML once. */
function imageCss(img: CertificateImage): string {
  return `.${imageClass(img)}{background-image:url("data:${img.contentType};base64,${img.data.toString('base64')}")}`;
}

/** The seal's scalloped rim: a star with many short points, as on a wax or foil seal. */
const SEAL_POINTS = (() => {
  const pts: string[] = [];
  const n = 72;
  for (let i = 0; i < n; i++) {
    const r = i % 2 === 0 ? 98 : 91;
    const a = (Math.PI * 2 * i) / n;
    pts.push(`${(100 + r * Math.sin(a)).toFixed(2)},${(100 - r * Math.cos(a)).toFixed(2)}`);
  }
  return pts.join(' ');
})();

/** "https://school.example/verify/ABCD" → host "school.example", path "/verify/ABCD": printed without the scheme. */
function displayUrl(url: string): { verificationUrlHost: string; verificationUrlPath: string } {
  const u = new URL(url);
  const path = (u.pathname + u.search + u.hash).replace(/^\/$/, '');
  return { verificationUrlHost: u.host, verificationUrlPath: path };
}

// ---------------------------------------------------------------------------------------------
// Sheets

function formatOf(doc: CertificateDocument) {
  const mm = PAPER_MM[doc.paper];
  const land = doc.orientation === 'landscape';
  return {
    name: `${doc.paper.toLowerCase()}-${doc.orientation}`,
    w: land ? mm.long : mm.short,
    h: land ? mm.short : mm.long,
    s: mm.short,
  };
}

/** Page size rules and the variables of one paper format; named pages let a batch mix formats. */
function formatCss(doc: CertificateDocument): string {
  const f = formatOf(doc);
  return (
    `@page ${f.name}{size:${f.w}mm ${f.h}mm;margin:0}` +
    `.fmt-${f.name}{page:${f.name};--w:${f.w};--h:${f.h};--s:${f.s};--frame-max:${doc.orientation === 'landscape' ? 1120 : 820}px}`
  );
}

const yearFormats = new Map<string, Intl.DateTimeFormat>();
function yearFormat(timeZone: string): Intl.DateTimeFormat {
  let f = yearFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en', { year: 'numeric', timeZone });
    yearFormats.set(timeZone, f);
  }
  return f;
}

async function sheetHtml(doc: CertificateDocument, index: number): Promise<string> {
  const t = loadTemplates();
  const labels = LABELS[doc.language];
  const fit = fitRules(doc.design, doc.orientation);
  const fmt = formatOf(doc);
  const bodyText = doc.bodyText?.trim() ? doc.bodyText.trim() : labels.defaultBody;
  const title = doc.title.trim() || labels.certificateOfAchievement;
  const tz = { timeZone: doc.timeZone };
  const issuer = doc.issuerName;
  const sealText = (issuer.length <= 28 ? issuer : labels.certified).toUpperCase();
  const view = {
    index,
    lang: doc.language,
    classes: `fmt-${fmt.name} ${doc.orientation} accent-${doc.accentColor.slice(1).toLowerCase()} ${FONT_CLASS}`,
    frameClass: `fmt-${fmt.name}`,
    title,
    titleFit: fitClass(title, fit.title.capacityEm, fit.title.lines, fit.title.widthFactor, fit.title.minFit),
    labels,
    learnerName: doc.learnerName,
    nameFit: fitClass(doc.learnerName, fit.name.capacityEm, fit.name.lines, fit.name.widthFactor, fit.name.minFit),
    bodyText,
    bodyFit: fitClass(bodyText, fit.body.capacityEm, fit.body.lines, fit.body.widthFactor, fit.body.minFit),
    courseTitle: doc.courseTitle,
    courseFit: fitClass(doc.courseTitle, fit.course.capacityEm, fit.course.lines, fit.course.widthFactor, fit.course.minFit),
    score: typeof doc.scorePercent === 'number' ? formatPercent(doc.scorePercent, doc.language) : null,
    issuedOn: formatDate(doc.issuedAt, doc.language, tz),
    validUntil: doc.expiresAt ? formatDate(doc.expiresAt, doc.language, tz) : null,
    issuerName: issuer,
    signatoryName: doc.signatoryName?.trim() || null,
    logoClass: doc.logo ? imageClass(doc.logo) : null,
    signatureClass: doc.signature ? imageClass(doc.signature) : null,
    logoAlt: `${labels.logo}: ${issuer}`,
    signatureAlt: `${labels.signature}${doc.signatoryName ? ': ' + doc.signatoryName : ''}`,
    verificationCode: doc.verificationCode,
    verificationUrl: doc.verificationUrl,
    ...displayUrl(doc.verificationUrl),
    qrSvg: new Handlebars.SafeString(qrSvg(doc.verificationUrl)),
    sealPoints: SEAL_POINTS,
    sealText,
    sealFontSize: Math.min(15, 200 / Math.max(1, sealText.length)).toFixed(1),
    sealYear: yearFormat(doc.timeZone ?? 'UTC').format(doc.issuedAt),
    watermark: doc.watermark ? labels.watermark[doc.watermark] : null,
  };
  try {
    return t.sheets[doc.design](view);
  } catch (err) {
    throw new CertificateTemplateError(`The ${doc.design} certificate template failed: ${(err as Error).message}`, { design: doc.design }, { key: 'certificates.render.templateFailed' });
  }
}

/** Stands for the sheet's font-stack class until its text is known (see documentHtml). */
const FONT_CLASS = 'font-stack-pending';

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#x60;': '`', '&#x3D;': '=', '&nbsp;': ' ' };

/**
 * Every character a sheet prints (its HTML less tags and attributes, entities decoded), labels,
 * dates and the seal's upper-cased issuer included: the fonts must cover exactly these.
 */
function printedText(sheet: string): string {
  // indexOf jumps over the tags rather than a regular expression: an export does this for every sheet.
  let text = '';
  let at = 0;
  while (at < sheet.length) {
    const tag = sheet.indexOf('<', at);
    text += sheet.slice(at, tag < 0 ? sheet.length : tag) + ' ';
    if (tag < 0) break;
    if (sheet.startsWith('<style', tag)) {
      const close = sheet.indexOf('</style>', tag);
      at = close < 0 ? sheet.length : close + '</style>'.length;
    } else {
      const end = sheet.indexOf('>', tag);
      at = end < 0 ? sheet.length : end + 1;
    }
  }
  return text.includes('&') ? text.replace(/&(?:amp|lt|gt|quot|nbsp|#x27|#x60|#x3D);/g, (e) => ENTITIES[e] ?? e) : text;
}

/** Sheets laid out between two turns of the event loop. */
const YIELD_EVERY = 10;

async function documentHtml(docs: CertificateDocument[], title: string): Promise<string> {
  const t = loadTemplates();
  const first = docs[0]!;
  const designs = new Set(docs.map((d) => d.design));
  const css: string[] = [t.css.base];
  for (const d of designs) css.push(t.css[d]);
  // The first certificate's format is also the default page, for viewers that ignore named pages.
  const f = formatOf(first);
  css.push(`@page{size:${f.w}mm ${f.h}mm;margin:0}`);
  const seen = new Set<string>();
  const once = (key: string, rule: () => string) => {
    if (!seen.has(key)) {
      seen.add(key);
      css.push(rule());
    }
  };
  const sheets: string[] = [];
  for (const [i, doc] of docs.entries()) {
    once(`fmt:${doc.paper}:${doc.orientation}`, () => formatCss(doc));
    once(`accent:${doc.accentColor.toLowerCase()}`, () => accentCss(doc.accentColor.toLowerCase()));
    for (const img of [doc.logo, doc.signature]) if (img) once(`img:${imageClass(img)}`, () => imageCss(img));
    sheets.push(await sheetHtml(doc, i));
    // A long batch gives the event loop a turn now and then: an export builds the next batch
    // while its pages print, and a page that has finished must not wait for the whole build.
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  const fonts = certificateFonts(docs.map((doc, i) => ({ design: doc.design, text: printedText(sheets[i]!) })));
  for (const [i, cls] of fonts.classes.entries()) sheets[i] = sheets[i]!.replace(FONT_CLASS, cls);
  return t.document({
    lang: first.language,
    title,
    classic: designs.has('classic'),
    csp: new Handlebars.SafeString(t.csp),
    fitScript: new Handlebars.SafeString(t.fitScript),
    fonts: new Handlebars.SafeString(fonts.css),
    css: new Handlebars.SafeString(css.join('\n')),
    sheets: new Handlebars.SafeString(sheets.join('\n')),
  });
}

/**
 * The Content-Security-Policy of the certificate HTML (also in its meta tag). A route serving
 * the HTML should send this header for that response (instead of the site-wide one), so that
 * the page's fitting script runs: without it long names fall back to an estimated size.
 */
export function certificateHtmlCsp(): string {
  return loadTemplates().csp;
}

/**
 * One certificate as a complete, standalone HTML page (fonts and images inline, no script, no
 * network): serve it as the preview or the learner's view, or print it with `PdfRenderer.pdfFromHtml`.
 * Validates the document first (ValidationError naming the field).
 */
export async function renderCertificateHtml(doc: CertificateDocument): Promise<string> {
  const valid = validateDocument(doc);
  const title = `${valid.title.trim() || LABELS[valid.language].certificateOfAchievement}: ${valid.learnerName}, ${valid.courseTitle}`;
  return documentHtml([valid], title);
}

/**
 * Many certificates as one HTML document, one per printed page, with the fonts, styles and
 * shared images included once. Certificates may differ in design, paper and orientation.
 */
export async function renderBatchHtml(docs: CertificateDocument[]): Promise<string> {
  if (docs.length === 0) {
    const ref = { key: 'certificates.render.nothing' };
    throw new ValidationError(inEnglish(ref), undefined, ref);
  }
  const valid = docs.map((d, i) => {
    try {
      return validateDocument(d);
    } catch (err) {
      if (err instanceof ValidationError) {
        const ref = { key: 'certificates.render.batchItem', params: { n: i + 1, field: String(err.details?.field ?? 'document') } };
        throw new ValidationError(`Certificate ${i + 1}: ${err.message}`, { ...err.details, index: i }, ref);
      }
      throw err;
    }
  });
  return documentHtml(valid, `${LABELS[valid[0]!.language].certificates} (${valid.length})`);
}

/**
 * Every page state of the product (test/ui/page-states.ts) in real Chromium at the widths people
 * use it: 1280 px (a laptop), 692 px (the sandbox LMS's tool iframe, like Moodle's) and 390 px (a
 * phone). Each must have
 *   - no horizontal scrolling (the page is no wider than the window, and no table scrolls in its
 *     own box: a reader never scrolls sideways to read a row, in the iframe or on a phone),
 *   - no axe-core violation of any impact (axe-core from npm, injected into the page),
 *   - a visible keyboard focus: the first focusable elements, reached with Tab, draw an outline at
 *     least 2 px wide whose colour has a 3:1 contrast with what is behind it (WCAG 2.2 SC 1.4.11,
 *     2.4.7, 2.4.13).
 * One browser and one tab for the whole file; each state is built once and checked at the three
 * widths by resizing the tab.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';
import { PAGE_STATES, createWorld, openState, type World } from './page-states';

export const WIDTHS = [1280, 692, 390] as const;
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');


// In-page probes are plain JavaScript strings: the test runner's compiler would wrap functions
// written here in helpers that do not exist inside the page.
/** null, or how wide the page is and which outermost elements stick out. */
const OVERFLOW_PROBE = `(() => {
  const limit = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= limit + 1) return null;
  const out = (e) => e.getBoundingClientRect().right > limit + 1;
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => out(e) && !(e.parentElement && out(e.parentElement)) || (out(e) && e.children.length === 0))
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)');
  return { scrollWidth: document.documentElement.scrollWidth, limit, wide };
})()`;

/**
 * Boxes that scroll sideways inside the page (a table in its .table-wrap): none may, at any width —
 * a table fits, or it becomes one labelled block per row (table.blocks below 760 px,
 * table.phone-blocks below 600 px). The page-wide check above does not see these: the page itself
 * does not widen. Code blocks (pre) may always scroll.
 */
const SCROLL_BOX_PROBE = `[...document.querySelectorAll('body *')]
  .filter((e) => e.tagName !== 'PRE' && /auto|scroll/.test(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
  .slice(0, 5)
  .map((e) => { const t = e.querySelector('table'); return e.tagName.toLowerCase() + (t && typeof t.className === 'string' && t.className ? ' with table.' + t.className.trim().split(/\\s+/).join('.') : '') + ' (' + e.scrollWidth + ' px in ' + e.clientWidth + ')'; })`;

/** The focused element's outline: width and contrast against the first opaque background around it. */
const FOCUS_PROBE = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const parse = (c) => {
    const m = /rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/.exec(c);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : [0, 0, 0, 0];
  };
  const ch = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]);
  let bg = [255, 255, 255, 1];
  for (let p = el.parentElement; p; p = p.parentElement) {
    const c = parse(getComputedStyle(p).backgroundColor);
    if (c[3] > 0.5) { bg = c; break; }
  }
  const s = getComputedStyle(el);
  const color = parse(s.outlineColor);
  const width = s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth);
  const a = lum(color), b = lum(bg);
  const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || '').trim().slice(0, 30) + '"';
  return { name, width, contrast: Math.round(contrast * 100) / 100, color: s.outlineColor };
})()`;

const AXE_RUN = `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')))`;

/** What is wrong with the page at this width (empty when all is well). */
export async function checkPage(page: Page, width: number): Promise<string[]> {
  const problems: string[] = [];
  await page.setViewport({ width, height: 900 });
  const overflow = (await page.evaluate(OVERFLOW_PROBE)) as { scrollWidth: number; limit: number; wide: string[] } | null;
  if (overflow) problems.push(`scrolls sideways: ${overflow.scrollWidth} px wide in ${overflow.limit} px; sticking out: ${overflow.wide.join(', ')}`);

  const boxes = (await page.evaluate(SCROLL_BOX_PROBE)) as string[];
  if (boxes.length) problems.push(`a box scrolls sideways: ${boxes.join(', ')}`);

  const violations = (await page.evaluate(AXE_RUN)) as string[];
  problems.push(...violations.map((v) => `axe ${v}`));

  // Keyboard focus: the first three stops of Tab from the top of the page.
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);');
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    const focus = (await page.evaluate(FOCUS_PROBE)) as { name: string; width: number; contrast: number; color: string } | null;
    if (!focus) break;
    if (focus.width < 2) problems.push(`focus on ${focus.name} shows no outline (${focus.width} px)`);
    else if (focus.contrast < 3) problems.push(`focus outline on ${focus.name} has contrast ${focus.contrast}:1 (${focus.color}), below 3:1`);
  }
  return problems;
}

describe('Every page state in Chromium at 1280, 692 and 390 px: no sideways scrolling, no axe violation, visible focus', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let world: World;
  before(async () => {
    t = await startTestApp();
    world = createWorld(t);
    browser = await launchChromium();
    page = await browser.newPage();
    // axe is injected as a script; the tool's CSP (rightly) allows only its own scripts.
    await page.setBypassCSP(true);
  });
  after(async () => {
    await browser?.close();
  });

  for (const state of PAGE_STATES) {
    it(state.name, async () => {
      const url = await openState(page, world, state);
      const problems: string[] = [];
      try {
        await page.setViewport({ width: WIDTHS[0], height: 900 });
        const res = await page.goto(url, { waitUntil: 'load' });
        expect(res, url).to.not.equal(null);
        if (state.status === undefined) expect(res!.status(), `${url} answers an error page`).to.be.below(400);
        else expect(res!.status(), url).to.equal(state.status);
        await page.addScriptTag({ content: AXE_SOURCE });
        for (const width of WIDTHS) {
          problems.push(...(await checkPage(page, width)).map((p) => `${width} px: ${p}`));
          if (state.check) problems.push(...(await state.check(page, width)).map((p) => `${width} px: ${p}`));
        }
      } finally {
        await state.after?.(world);
      }
      expect(problems, `${state.name} (${url}):\n  ${problems.join('\n  ')}`).to.deep.equal([]);
    });
  }
});

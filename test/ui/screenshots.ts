/**
 * Screenshots of the product's main states for the README (docs/screenshots/*.png), from the same
 * page states the browser suite checks (page-states.ts). Run by hand, not part of `npm test`:
 *
 *   npm run test:file -- test/ui/screenshots.ts
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';
import { PAGE_STATES, createWorld } from './page-states';

const OUT = join(__dirname, '..', '..', 'docs', 'screenshots');
/** The states a newcomer should see, the widths to show them at, and optionally the one part of the page to show. */
const SHOTS: Array<[state: string, file: string, widths: number[], part?: string]> = [
  ['learner: ready', 'learner-ready', [1280, 390]],
  ['learner: not yet', 'learner-not-yet', [1280]],
  ['learner: stale', 'learner-stale', [1280]],
  ['learner: certificate page', 'learner-certificate', [1280]],
  ['teacher: with certificates', 'teacher-definition', [1280, 692]],
  ['teacher: overview with stale certificates', 'teacher-home', [1280]],
  ['teacher: dry run', 'teacher-dry-run', [1280]],
  ['teacher: new definition form', 'teacher-definition-form', [1280]],
  ['teacher: import preview', 'teacher-import-preview', [1280]],
  ['teacher: new definition form', 'teacher-definition-form-activities', [390], 'fieldset:has(table.activities)'],
  ['certification: page (awarded)', 'certification', [1280]],
  ['teacher: proof queue', 'teacher-proofs', [1280]],
  ['verify: valid', 'verify-valid', [1280, 390]],
  ['admin: platforms', 'admin', [1280]],
];

describe('screenshots of the main states (docs/screenshots)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let browser: Browser;
  before(async () => {
    t = await startTestApp();
    browser = await launchChromium();
    mkdirSync(OUT, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });

  for (const [name, file, widths, part] of SHOTS) {
    it(`${name} → ${file}`, async () => {
      const state = PAGE_STATES.find((s) => s.name === name);
      if (!state) throw new Error(`no page state "${name}" in page-states.ts`);
      const world = createWorld(t);
      const target = await state.open(world);
      const { url, cookie } = typeof target === 'string' ? { url: target, cookie: undefined } : target;
      const page = await browser.newPage();
      if (cookie) {
        const [k, v] = cookie.split('=') as [string, string];
        await page.setCookie({ name: k, value: v, url: t.baseUrl });
      }
      for (const width of widths) {
        await page.setViewport({ width, height: 800 });
        await page.goto(url, { waitUntil: 'networkidle0' });
        const path = join(OUT, `${file}-${width}.png`) as `${string}.png`;
        const element = part ? await page.$(part) : null;
        if (part && !element) throw new Error(`no "${part}" on ${name}`);
        if (element) await element.screenshot({ path });
        else await page.screenshot({ path, fullPage: width < 1000 });
      }
      await page.close();
      await state.after?.(world);
    });
  }
});

/**
 * The pages' fonts: a browser fetches only the subsets its page's text needs, from our
 * /assets/fonts/, and a Chinese name on a page is drawn in Noto Sans SC (not a system font,
 * which Chromium here does not even see: test/support/chromium.ts).
 */
import { expect } from 'chai';
import type { Browser } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';

describe('pages: fonts for every script, fetched by unicode-range', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  before(async () => {
    t = await startTestApp();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  it('the stylesheet stays small enough for every page: under 200 kB', async () => {
    const css = await (await fetch(`${t.baseUrl}/assets/fonts.css`)).text();
    expect(css.length).to.be.below(200_000);
    expect(css).to.include('--font-ui:');
  });

  it('an English page loads Inter only; a Chinese, an Arabic and a Korean name add just their subsets', async () => {
    const page = await browser.newPage();
    const fetched: string[] = [];
    page.on('requestfinished', (req) => {
      const m = /\/assets\/fonts\/(.+)$/.exec(req.url());
      if (m && req.response()?.status() === 200) fetched.push(m[1]!);
    });
    await page.goto(`${t.baseUrl}/`, { waitUntil: 'load' });
    await page.evaluate('document.fonts.ready');
    expect(fetched.length).to.be.greaterThan(0);
    expect(fetched.every((f) => f.startsWith('inter-')), fetched.join(', ')).to.equal(true);
    fetched.length = 0;
    await page.evaluate(`(() => {
      const p = document.createElement('p');
      p.textContent = '王小明 · محمد · 김민준';
      document.querySelector('main').append(p);
    })()`);
    await page.waitForFunction(`document.fonts.check('16px "Noto Sans SC"', '王小明') && document.fonts.check('16px "Noto Sans Arabic"', 'محمد') && document.fonts.check('16px "Noto Sans KR"', '김민준')`);
    await page.evaluate('document.fonts.ready');
    const families = new Set(fetched.map((f) => f.replace(/-[^-]+-\d+-normal\.woff2$/, '').replace(/-\d+$/, '')));
    expect([...families].sort(), fetched.join(', ')).to.deep.equal(['noto-sans-arabic', 'noto-sans-kr', 'noto-sans-sc']);
    expect(fetched.length).to.be.at.most(8); // a few subsets, not the hundred of a CJK font
    await page.close();
  });
});

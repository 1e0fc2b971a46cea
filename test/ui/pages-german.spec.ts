/**
 * Every page state of the product (test/ui/page-states.ts) as a German reader sees it: each
 * sandbox user launches with the locale de-DE, and /admin and the public pages are asked for
 * with `Accept-Language: de-DE`. No line the page shows (its text, and the titles, labels,
 * placeholders and alternative texts of its elements) may read as English.
 *
 * A line reads as English when it holds two or more different English function words that German
 * does not have ("the", "is", "your", "not" …). The data the test's own users typed in English
 * (course titles, names) holds at most one; what a German page still says in English is found
 * whatever its key, file or template.
 */
import { expect } from 'chai';
import type { Browser, Page } from 'puppeteer';
import { startTestApp, type TestApp } from '../support/app';
import { launchChromium } from '../support/chromium';
import { PAGE_STATES, createWorld, type World } from './page-states';

/** English words German does not spell the same way (not "in", "an", "so", "was", "will", "man"). */
const ENGLISH_ONLY = new Set(
  ('the this that these those your you our is are was been be being has have had not and or of for to with from by on at ' +
    'it its can cannot could does did do will would should there here which when what who yet no any all one more than ' +
    'about after before again only also into out up if then them they their we he she his her my me').split(' '),
);
['was', 'will', 'an', 'in', 'so', 'man', 'also', 'hat', 'die'].forEach((w) => ENGLISH_ONLY.delete(w));

/** What the test's own administrator typed in English (a certification's overview): data, shown as typed. */
const TYPED_BY_THE_TEST = new Set(['Handles personal data with care across the organisation.', 'A first aid course from the Red Cross or an equivalent.']);

/** The lines a reader sees or hears: text and the element texts a screen reader says. */
const LINES_PROBE = `(() => {
  // a table row's cells are judged one by one (innerText joins them with tabs)
  const lines = document.body.innerText.split(/[\\n\\t]/);
  for (const e of document.querySelectorAll('[title], [placeholder], [aria-label], img[alt], input[type=submit][value], input[type=button][value]')) {
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) if (e.getAttribute(a)) lines.push(e.getAttribute(a));
    if (e.tagName === 'INPUT' && (e.type === 'submit' || e.type === 'button')) lines.push(e.value);
  }
  lines.push(document.title);
  return lines.map((l) => l.trim()).filter(Boolean);
})()`;

/** The line's English function words, when there are two or more different ones. */
export function englishWords(line: string): string[] {
  // names other spec files typed, tagged with a time stamp ("Not yet 1796163286463"), on pages that list a whole registration
  if (TYPED_BY_THE_TEST.has(line) || /\d{10,}/.test(line)) return [];
  // File paths and addresses are shown as they are (/usr/bin/chromium-for-the-tests).
  const prose = line.replace(/\S*[/\\]\S*/g, ' ');
  const words = new Set(prose.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? []);
  const english = [...words].filter((w) => ENGLISH_ONLY.has(w));
  return english.length >= 2 ? english : [];
}

describe('Every page state in German: no line reads as English', function () {
  this.timeout(60_000);
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let world: World;
  let restoreAddUser: (() => void) | undefined;
  before(async () => {
    t = await startTestApp();
    // the test app is shared by every spec file: the German default is undone in after()
    const store = t.sandbox.store;
    restoreAddUser = () => delete (store as { addUser?: unknown }).addUser;
    const addUser = store.addUser.bind(store);
    store.addUser = (input) => addUser({ ...input, locale: input.locale ?? 'de-DE' });
    world = createWorld(t);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setExtraHTTPHeaders({ 'accept-language': 'de-DE,de;q=0.9' });
  });
  after(async () => {
    restoreAddUser?.();
    await browser?.close();
  });

  it('the check finds English and passes German, names and titles', () => {
    expect(englishWords('The certificate is not valid any more.')).to.deep.equal(['the', 'is', 'not', 'any', 'more']);
    expect(englishWords('Dieses Zertifikat ist nicht mehr gültig.')).to.deep.equal([]);
    expect(englishWords('Gandalf the Grey · Digital Literacy')).to.deep.equal([]);
    expect(englishWords('Kein Browser unter /opt/chromium-for-the-tests')).to.deep.equal([]);
    expect(englishWords('Not yet 1796163286463')).to.deep.equal([]);
  });

  for (const state of PAGE_STATES) {
    it(state.name, async () => {
      const target = await state.open(world);
      const { url, cookie } = typeof target === 'string' ? { url: target, cookie: undefined } : target;
      await page.deleteCookie(...(await page.cookies(t.baseUrl)));
      if (cookie) {
        const [name, value] = cookie.split('=') as [string, string];
        await page.setCookie({ name, value, url: t.baseUrl });
      }
      let english: string[] = [];
      try {
        await page.setViewport({ width: 1280, height: 900 });
        const res = await page.goto(url, { waitUntil: 'load' });
        expect(res, url).to.not.equal(null);
        const lang = (await page.evaluate('document.documentElement.lang')) as string;
        const lines = (await page.evaluate(LINES_PROBE)) as string[];
        english = lines.filter((l) => englishWords(l).length).map((l) => `“${l.slice(0, 160)}” (${englishWords(l).join(', ')})`);
        if (!/^(de|nl)/.test(lang)) english.unshift(`<html lang="${lang}">`);
      } finally {
        await state.after?.(world);
      }
      expect(english, `${state.name} (${url}) in German still says:\n  ${english.join('\n  ')}`).to.deep.equal([]);
    });
  }
});

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
import { createTranslator, loadMessageCatalogs } from '../../src/i18n';
import { HttpBrowser } from '../support/browser';
import { definitionFormFields } from '../support/e2e';
import { FULL, PAGE_STATES, createWorld, openState, type World } from './page-states';

/** The generic text of each error code in German (src/i18n/messages/de/errors.json). */
const de = createTranslator('de');
const GENERIC_TEXTS = [...loadMessageCatalogs().en.keys()].filter((k) => k.startsWith('errors.')).map((k) => de(k));

/**
 * What a German reader meets when the tool refuses what they sent: each answers with a page
 * (never a redirect), whose status is given.
 */
interface RefusedState {
  name: string;
  status: number;
  send(w: World): Promise<Response>;
}

async function germanAdmin(w: World): Promise<HttpBrowser> {
  return new HttpBrowser({ headers: { cookie: await w.adminCookie(), 'accept-language': 'de-DE,de;q=0.9', origin: w.t.baseUrl } });
}

async function upload(url: string, name: string, bytes: string | Uint8Array, type: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes)], { type }), name);
  return fetch(url, { method: 'POST', body: form, redirect: 'manual' });
}

const REFUSED_STATES: RefusedState[] = [
  {
    name: 'teacher: definition form with a passing score of 150% and no title',
    status: 400,
    async send(w) {
      const { teacher } = await w.course([FULL]);
      return teacher.browser.request(`${teacher.app}/teacher/definitions`, { form: definitionFormFields({ title: '', thresholdPercent: '150' }) });
    },
  },
  {
    name: 'teacher: a CSV file that is not a gradebook',
    status: 400,
    async send(w) {
      const { teacher } = await w.course([FULL]);
      return upload(`${teacher.app}/teacher/grades/import`, 'shopping.csv', 'Item,Price\nBread,2\n', 'text/csv');
    },
  },
  {
    name: 'teacher: a gradebook whose score cell is not a number',
    status: 400,
    async send(w) {
      const { teacher } = await w.course([FULL]);
      const csv = 'First name,Last name,Email address,Quiz 1 (Real)\nFrodo,Baggins,frodo@example.org,lots\n';
      return upload(`${teacher.app}/teacher/grades/import`, 'moodle.csv', csv, 'text/csv');
    },
  },
  {
    name: 'teacher: a damaged logo',
    status: 422,
    async send(w) {
      const { teacher } = await w.course([FULL]);
      const damaged = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3]);
      return upload(`${teacher.app}/teacher/templates/images`, 'logo.png', damaged, 'image/png');
    },
  },
  {
    name: 'admin: a Moodle token of the wrong form',
    status: 400,
    async send(w) {
      const issuer = `https://moodle-german-${Date.now()}.example`;
      await w.t.app.lti.registerPlatform({ issuer, clientId: 'german-moodle', name: 'German Moodle', authUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, jwksUrl: `${issuer}/jwks` }, { active: true });
      return (await germanAdmin(w)).request(`${w.t.baseUrl}/admin/moodle/save`, { form: { issuer, token: 'not-a-token', baseUrl: '' } });
    },
  },
  {
    name: 'admin: a Canvas Client ID that is not a number',
    status: 400,
    async send(w) {
      return (await germanAdmin(w)).request(`${w.t.baseUrl}/admin/canvas/save`, { form: { issuer: w.t.sandbox.issuer, clientId: 'abc', clientSecret: 'x'.repeat(64) } });
    },
  },
];

/** English words German does not spell the same way (so not "in", "an", "so", "was", "will", "man", "also"). */
const ENGLISH_ONLY = new Set(
  ('the this that these those your you our is are been be being has have had not and or of for to with from by on at it its can ' +
    'cannot could does did do would should there here which when what who yet no any all one more than about after before again ' +
    'only into out up if then them they their we he she his her my me').split(' '),
);

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

  /** The page's English lines, and its language when that is not German (or Dutch, for a Dutch row). */
  async function englishOn(): Promise<string[]> {
    const lang = (await page.evaluate('document.documentElement.lang')) as string;
    const lines = (await page.evaluate(LINES_PROBE)) as string[];
    const english = lines.flatMap((l) => {
      const words = englishWords(l);
      return words.length ? [`“${l.slice(0, 160)}” (${words.join(', ')})`] : [];
    });
    if (!/^(de|nl)/.test(lang)) english.unshift(`<html lang="${lang}">`);
    return english;
  }

  for (const state of REFUSED_STATES) {
    it(`refused: ${state.name}`, async () => {
      const res = await state.send(world);
      const html = await res.text();
      expect(res.status, html.slice(0, 400)).to.equal(state.status);
      // the answer as the browser shows it, its styles loaded from the tool
      await page.setContent(html.replace(/<head>/i, `<head><base href="${t.baseUrl}/">`), { waitUntil: 'load' });
      const english = await englishOn();
      expect(english, `${state.name} in German still says:\n  ${english.join('\n  ')}`).to.deep.equal([]);
      // the specific message, not the code's generic one ("Eine Eingabe ist nicht korrekt …")
      const shown = (await page.evaluate('document.body.innerText')) as string;
      const generic = GENERIC_TEXTS.filter((text) => shown.includes(text));
      expect(generic, `${state.name}: a German reader gets only the generic text of the error`).to.deep.equal([]);
    });
  }

  for (const state of PAGE_STATES) {
    it(state.name, async () => {
      const url = await openState(page, world, state);
      let english: string[] = [];
      try {
        await page.setViewport({ width: 1280, height: 900 });
        const res = await page.goto(url, { waitUntil: 'load' });
        expect(res, url).to.not.equal(null);
        english = await englishOn();
      } finally {
        await state.after?.(world);
      }
      expect(english, `${state.name} (${url}) in German still says:\n  ${english.join('\n  ')}`).to.deep.equal([]);
    });
  }
});

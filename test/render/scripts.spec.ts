/**
 * Every script a name may be written in prints, in both designs, from the fonts we ship: read
 * back from the PDF (pdffonts: every embedded font is one of ours; pdftotext: the name comes
 * back character for character, so no glyph was a .notdef box) and, for right-to-left names,
 * from the laid-out page (the words of an Arabic name run right to left inside an English line).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import puppeteer from 'puppeteer';
import { CHROMIUM_ARGS, chromiumEnv, createPdfRenderer, findChromium, renderCertificateHtml, type PdfRenderer } from '../../src/render';
import { certificateFonts, missingGlyphs } from '../../src/render/fonts';
import { sampleCertificate } from '../../bench/render-samples';
import { pdfText } from './pdf-tools';

/** One name per script of issue #15, with a course title in the same script for some. */
export const SCRIPT_SAMPLES: Array<{ script: string; name: string; course?: string }> = [
  { script: 'Latin with diacritics', name: 'Zoë Ñúñez-Łęcka Nguyễn Thị Ánh' },
  { script: 'Greek', name: 'Αλέξανδρος Παπαδόπουλος', course: 'Εισαγωγή στη Φιλοσοφία' },
  { script: 'Cyrillic', name: 'Дмитрий Иванович Щукин', course: 'Основы программирования' },
  { script: 'Arabic', name: 'محمد بن عبد الله', course: 'مقدمة في علوم الحاسوب' },
  { script: 'Hebrew', name: 'דוד בן־גוריון', course: 'מבוא לפילוסופיה' },
  { script: 'Devanagari', name: 'अर्जुन शर्मा', course: 'कंप्यूटर विज्ञान का परिचय' },
  { script: 'Thai', name: 'สมชาย ใจดี', course: 'การเขียนโปรแกรมเบื้องต้น' },
  { script: 'Chinese (simplified)', name: '王小明', course: '计算机科学导论' },
  { script: 'Chinese (traditional)', name: '陳大文', course: '計算機科學導論' },
  { script: 'Japanese', name: '山田 太郎', course: 'プログラミング入門' },
  { script: 'Korean', name: '김민준', course: '컴퓨터 과학 입문' },
];

/** A printable sample without the bench's SVG logo (its text asks for Georgia, a system font). */
const doc = (overrides: Parameters<typeof sampleCertificate>[0]) => sampleCertificate({ logo: undefined, signature: undefined, ...overrides });

function pdfFontNames(pdf: Buffer): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'scripts-test-'));
  try {
    writeFileSync(join(dir, 'doc.pdf'), pdf);
    const out = execFileSync('pdffonts', [join(dir, 'doc.pdf')], { encoding: 'utf8' });
    return [...new Set(out.split('\n').slice(2).filter(Boolean).map((line) => line.split(/\s+/)[0]!.replace(/^[A-Z]{6}\+/, '')))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** pdftotext marks right-to-left runs with embedding controls; a reader sees the letters. */
const letters = (s: string) => s.replace(/[\u202a-\u202e\u2066-\u2069\s]/g, '');

/** Whether every letter of `text` occurs in `page` at least as often. */
function lettersIn(page: string, text: string): boolean {
  const count = new Map<string, number>();
  for (const ch of letters(page)) count.set(ch, (count.get(ch) ?? 0) + 1);
  for (const ch of letters(text)) {
    const n = count.get(ch) ?? 0;
    if (n === 0) return false;
    count.set(ch, n - 1);
  }
  return true;
}

const OUR_FONTS = /^(Inter|EBGaramond|NotoSans(Arabic|Hebrew|Devanagari|Thai|SC|TC|JP|KR)|NotoSerif(Thai|SC|TC|JP|KR)|NotoNaskhArabic)/;

describe('render: every script prints with the fonts we ship', function () {
  this.timeout(90_000);
  let renderer: PdfRenderer;
  before(() => {
    renderer = createPdfRenderer({ executablePath: findChromium(), maxConcurrentPages: 2 });
  });
  after(async () => {
    await renderer.close();
  });

  for (const design of ['modern', 'classic'] as const) {
    it(`${design}: a name (and course) in each of ${SCRIPT_SAMPLES.length} scripts comes back from the PDF, drawn only in our fonts`, async () => {
      const docs = SCRIPT_SAMPLES.map((s) => doc({ design, learnerName: s.name, courseTitle: s.course ?? 'Digital Literacy' }));
      const pdf = await renderer.pdfBatch(docs);
      const fonts = pdfFontNames(pdf);
      expect(fonts.filter((f) => !OUR_FONTS.test(f)), `fonts in the PDF: ${fonts.join(', ')}`).to.deep.equal([]);
      for (const [i, s] of SCRIPT_SAMPLES.entries()) {
        const page = letters(pdfText(pdf, i + 1));
        for (const text of [s.name, s.course ?? '']) {
          // pdftotext splits Noto Naskh's Arabic words at glyphs that reach below the line
          // (the page itself is right, see the layout test): there, every letter must come back.
          if (design === 'classic' && s.script === 'Arabic') expect(lettersIn(page, text), `${s.script} on page ${i + 1}`).to.equal(true);
          else expect(page, `${s.script} on page ${i + 1}`).to.include(letters(text));
        }
        expect(missingGlyphs(design, s.name + (s.course ?? '')), s.script).to.deep.equal([]);
      }
      // Families the scripts need, serif ones for the classic design.
      const want = design === 'classic' ? ['NotoNaskhArabic', 'NotoSerifThai', 'NotoSerifSC', 'NotoSerifJP', 'NotoSerifKR'] : ['NotoSansArabic', 'NotoSansThai', 'NotoSansSC', 'NotoSansJP', 'NotoSansKR'];
      for (const w of want) expect(fonts.some((f) => f.startsWith(w)), `${w} in ${fonts.join(', ')}`).to.equal(true);
    });
  }

  it('reports the characters no shipped font has (private use, a rare emoji), each once, and nothing else', () => {
    expect(missingGlyphs('modern', 'Ana \u{10FFFD} 王 \u{10FFFD} 🦩')).to.deep.equal([
      { char: '\u{10FFFD}', codePoint: 'U+10FFFD' },
      { char: '🦩', codePoint: 'U+1F9A9' },
    ]);
    expect(missingGlyphs('classic', 'Zoë\u200d \u200fדוד')).to.deep.equal([]);
  });

  it('embeds only the subsets a text uses: Latin alone for an English name, a few Chinese subsets for 王小明', () => {
    const latin = certificateFonts([{ design: 'modern', text: 'Alex Example' }]).css;
    expect(latin.match(/@font-face/g)).to.have.length(5); // Inter latin, five weights
    const chinese = certificateFonts([{ design: 'modern', text: 'Alex 王小明' }]).css;
    const families = new Set([...chinese.matchAll(/font-family:'([^']+)'/g)].map((m) => m[1]));
    expect([...families].sort()).to.deep.equal(['Inter', 'Noto Sans SC']);
    expect(chinese.length).to.be.below(latin.length + 5 * 3 * 120_000); // at most three subsets in five weights
    // A kana name puts Japanese shapes first.
    expect(certificateFonts([{ design: 'classic', text: '山田 たろう' }]).classes).to.deep.equal(['font-stack-classic-jp']);
  });

  it('lays a right-to-left name out right to left, also inside an English sentence, in both designs', async () => {
    const browser = await puppeteer.launch({
      executablePath: findChromium(),
      headless: true,
      args: CHROMIUM_ARGS,
      env: chromiumEnv(),
    });
    try {
      const page = await browser.newPage();
      for (const design of ['modern', 'classic'] as const) {
        await page.setContent(
          await renderCertificateHtml(doc({ design, learnerName: 'محمد عبد', bodyText: 'This is awarded to محمد عبد for a fine piece of work.' })),
          { waitUntil: 'load' },
        );
        // (a string: tsx would wrap a named inner function in a helper the page does not have)
        const layout = await page.evaluate(`(() => {
          function wordX(el, word) {
            const node = el.firstChild;
            const at = node.textContent.indexOf(word);
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + word.length);
            return range.getBoundingClientRect().left;
          }
          const name = document.querySelector('.name');
          const body = document.querySelector('.body');
          return {
            nameDir: getComputedStyle(name).direction,
            bodyDir: getComputedStyle(body).direction,
            name: wordX(name, 'محمد') > wordX(name, 'عبد'),
            body: wordX(body, 'محمد') > wordX(body, 'عبد') && wordX(body, 'This') < wordX(body, 'عبد'),
          };
        })()`);
        expect(layout, design).to.deep.equal({ nameDir: 'rtl', bodyDir: 'ltr', name: true, body: true });
      }
    } finally {
      await browser.close();
    }
  });
});

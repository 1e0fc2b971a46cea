// Issue #15, our pages inside the real LMS frames: logs in to the real Moodle 4.5.6 (Boost, the tool's
// activity embedded: launch container "Embed, without blocks") and the real Chamilo 1.11.28 (the course
// tool page framing plugin/ims_lti/login.php) with Chromium, at 1280 px and at a 390 px phone, as learners
// and as the teacher; inside the tool's frame it checks that nothing scrolls sideways and nothing is cut
// (an element clipped by its own overflow), then saves screenshots: the LMS page as the user sees it, and
// the frame's whole document at the frame's width.
// Run: node test/real-lms/frames.mjs [outdir]   (default /work/notes/reallms-shots; env.sh's URLs)
// ONLY=moodle|chamilo, WIDTHS=390 and WHO=teacher1 narrow a run; LEARNERS=learner2,learner3 picks the learners.
import puppeteer from 'puppeteer';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const OUT = process.argv[2] ?? '/work/notes/reallms-shots';
const RL = process.env.RL_ROOT ?? '/work/reallms';
const MOODLE = process.env.MOODLE_URL ?? 'http://localhost:8080';
const CHAMILO = process.env.CHAMILO_URL ?? 'http://localhost:8081';
const TOOL = process.env.TOOL_URL ?? 'http://localhost:3100';
const PASS = process.env.USER_PASS ?? 'User-pass-1';
const moodleLab = JSON.parse(readFileSync(`${RL}/moodle-lab.json`, 'utf8'));
const chamiloLab = JSON.parse(readFileSync(`${RL}/chamilo-lab.json`, 'utf8'));
mkdirSync(OUT, { recursive: true });

// Plain JavaScript strings, evaluated in the tool's frame.
const PROBE = `(() => {
  const limit = document.documentElement.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const out = (e) => e.getBoundingClientRect().right > limit + 1;
  const wide = document.documentElement.scrollWidth > limit + 1
    ? [...document.querySelectorAll('body *')].filter((e) => out(e) && !(e.parentElement && out(e.parentElement))).slice(0, 5).map((e) => name(e) + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)')
    : [];
  // Cut: an element whose content is wider than its box while its overflow hides the rest (or an ellipsis).
  const cut = [...document.querySelectorAll('body *')].filter((e) => {
    const s = getComputedStyle(e);
    if (s.display === 'none' || s.visibility === 'hidden' || e.getClientRects().length === 0) return false;
    if (e.closest('.visually-hidden, .sr-only, [hidden]')) return false;
    const hides = ['hidden', 'clip'].includes(s.overflowX) || s.textOverflow === 'ellipsis';
    return hides && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 2;
  }).slice(0, 8).map((e) => name(e) + ' ' + e.scrollWidth + '>' + e.clientWidth + ' "' + (e.textContent || '').trim().slice(0, 40) + '"');
  // Boxes that scroll sideways by design (overflow-x: auto) and do so now.
  const scrollers = [...document.querySelectorAll('body *')].filter((e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
    .map((e) => name(e) + ' ' + e.scrollWidth + ' in ' + e.clientWidth);
  return { width: limit, scrollWidth: document.documentElement.scrollWidth, wide, cut, scrollers, lang: document.documentElement.lang, h1: (document.querySelector('h1')?.textContent || '').trim() };
})()`;

const results = [];
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });

async function toolFrame(page) {
  for (let i = 0; i < 60; i++) {
    const f = page.frames().find((fr) => fr.url().startsWith(`${TOOL}/app/`));
    if (f) {
      try { await f.waitForSelector('h1', { timeout: 10000 }); return f; } catch { /* navigating */ }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no tool frame on ${page.url()}`);
}

async function record(lms, who, state, page, frame, viewport) {
  const probe = await frame.evaluate(PROBE);
  const frameEl = await frame.frameElement();
  const box = frameEl ? await frameEl.boundingBox() : null;
  const outer = await page.evaluate('({ w: document.documentElement.clientWidth, sw: document.documentElement.scrollWidth })');
  const tag = `${lms}-${who}-${state}-${viewport.width}`;
  await page.screenshot({ path: `${OUT}/${tag}-lms.png` });
  // The frame's whole document, at the frame's own width (the LMS page shows only the frame's visible part).
  const solo = await browser.newPage();
  await solo.setViewport({ width: Math.round(box?.width ?? probe.width), height: 700, isMobile: viewport.isMobile ?? false, hasTouch: viewport.isMobile ?? false });
  await solo.setCookie(...(await page.cookies(frame.url())));
  await solo.goto(frame.url(), { waitUntil: 'networkidle2' });
  await solo.screenshot({ path: `${OUT}/${tag}-frame.png`, fullPage: true });
  await solo.close();
  const problems = [];
  if (probe.wide.length) problems.push(`scrolls sideways ${probe.scrollWidth} in ${probe.width}: ${probe.wide.join(', ')}`);
  if (probe.cut.length) problems.push(`cut: ${probe.cut.join('; ')}`);
  if (outer.sw > outer.w + 1) problems.push(`the LMS page itself scrolls sideways (${outer.sw} in ${outer.w})`);
  const r = { tag, frameWidth: Math.round(box?.width ?? 0), lang: probe.lang, h1: probe.h1, scrollers: probe.scrollers, problems };
  results.push(r);
  console.log(`${problems.length ? 'FAIL' : 'OK  '} ${tag}: frame ${r.frameWidth} px, lang ${r.lang}, "${r.h1}"${probe.scrollers.length ? ', scrolls inside: ' + probe.scrollers.join(', ') : ''}${problems.length ? ' — ' + problems.join(' | ') : ''}`);
}

/** Clicks through the tool inside its frame: a link whose href matches, then records that state. */
async function follow(page, frame, pattern) {
  const href = await frame.evaluate((p) => [...document.querySelectorAll('a[href]')].map((a) => a.href).find((h) => new RegExp(p).test(h)) ?? null, pattern);
  if (!href) return null;
  await frame.evaluate((h) => { location.href = h; }, href);
  await new Promise((r) => setTimeout(r, 1500));
  return toolFrame(page);
}

async function moodleSession(viewport, username) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport(viewport);
  // Under load the PHP built-in server sometimes loses the login (back to login/index.php): try again.
  for (let attempt = 1; ; attempt++) {
    await page.goto(`${MOODLE}/login/index.php`, { waitUntil: 'networkidle2' });
    if (!(await page.$('#username'))) break; // already logged in
    await page.type('#username', username);
    await page.type('#password', PASS);
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle2' }), page.click('#loginbtn')]);
    if (!page.url().includes('/login/')) break;
    if (attempt === 3) throw new Error(`Moodle login as ${username} failed: ${page.url()}`);
  }
  await page.goto(`${MOODLE}/mod/lti/view.php?id=${moodleLab.lti.project_cmid}`, { waitUntil: 'domcontentloaded' });
  return { ctx, page, frame: await toolFrame(page) };
}

async function chamiloSession(viewport, username) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  await page.setViewport(viewport);
  await page.goto(`${CHAMILO}/index.php`, { waitUntil: 'domcontentloaded' });
  await page.type('#login', username);
  await page.type('#password', PASS);
  await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('#formLogin_submitAuth')]);
  await page.goto(`${CHAMILO}/courses/CERTLAB/index.php`, { waitUntil: 'domcontentloaded' });
  await page.goto(`${CHAMILO}/plugin/ims_lti/start.php?id=${chamiloLab.lti.copy}&cidReq=CERTLAB&id_session=0&gidReq=0&gradebook=0&origin=`, { waitUntil: 'domcontentloaded' });
  return { ctx, page, frame: await toolFrame(page) };
}

const VIEWPORTS = [
  { width: 1280, height: 900 },
  { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
];
const wanted = (list, value) => !list || list.split(',').includes(String(value));
for (const viewport of VIEWPORTS.filter((v) => wanted(process.env.WIDTHS, v.width))) {
  for (const [lms, open] of [['moodle', moodleSession], ['chamilo', chamiloSession]].filter(([l]) => wanted(process.env.ONLY, l))) {
    for (const who of (process.env.LEARNERS ?? 'learner1,learner4').split(',').filter((w) => wanted(process.env.WHO, w))) {
      try {
        const s = await open(viewport, who);
        await record(lms, who, 'learner', s.page, s.frame, viewport);
        const cert = await follow(s.page, s.frame, '/certificates/[0-9a-f]{24}$');
        if (cert) await record(lms, who, 'certificate', s.page, cert, viewport);
        await s.ctx.close();
      } catch (e) { console.log(`FAIL ${lms}-${who}-${viewport.width}: ${e.message}`); results.push({ tag: `${lms}-${who}-${viewport.width}`, problems: [e.message] }); }
    }
    if (wanted(process.env.WHO, 'teacher1')) try {
      const s = await open(viewport, 'teacher1');
      await record(lms, 'teacher1', 'overview', s.page, s.frame, viewport);
      const def = await follow(s.page, s.frame, '/teacher/definitions/[0-9a-f]{24}$');
      if (def) await record(lms, 'teacher1', 'definition', s.page, def, viewport);
      const form = await follow(s.page, def ?? s.frame, '/teacher/definitions/new$');
      if (form) await record(lms, 'teacher1', 'definition-form', s.page, form, viewport);
      await s.ctx.close();
    } catch (e) { console.log(`FAIL ${lms}-teacher1-${viewport.width}: ${e.message}`); results.push({ tag: `${lms}-teacher1-${viewport.width}`, problems: [e.message] }); }
  }
}
writeFileSync(`${OUT}/frames.json`, JSON.stringify(results, null, 2));
await browser.close();
console.log(`${results.filter((r) => r.problems.length).length} of ${results.length} states with problems; screenshots in ${OUT}`);

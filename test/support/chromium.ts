/** One headless Chromium (Debian's /usr/bin/chromium, or puppeteer's own) for a test file. */
import puppeteer, { type Browser, type Frame, type Page } from 'puppeteer';
import { CHROMIUM_ARGS, chromiumEnv, findChromium } from '../../src/render/pdf-renderer';

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    args: [...CHROMIUM_ARGS, '--window-size=1280,900'],
    env: chromiumEnv(), // our fonts only, as the PDFs: pages look the same on a machine without fonts
  });
}

/** Waits until the sandbox's tool iframe shows a page of the tool whose path matches. */
export async function toolFrame(page: Page, path: RegExp, timeoutMs = 20_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const frame = page.frames().find((f) => f.name() === 'tool-frame' && path.test(new URL(f.url() || 'about:blank', 'http://x').pathname));
    if (frame) {
      await frame.waitForSelector('main');
      return frame;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the tool frame never reached ${path}; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
}

/**
 * One step of a browser flow with a deadline of its own: a step that never settles (a target that
 * never attaches, a click on a page that is navigating away) fails with the step's name, instead of
 * the whole test running into mocha's timeout with nothing said.
 */
export async function step<T>(what: string, work: Promise<T>, timeoutMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`browser step "${what}" did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

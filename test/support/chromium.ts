/** One headless Chromium (Debian's /usr/bin/chromium, or puppeteer's own) for a test file. */
import puppeteer, { type Browser } from 'puppeteer';
import { CHROMIUM_ARGS, findChromium } from '../../src/render/pdf-renderer';

export async function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    args: [...CHROMIUM_ARGS, '--window-size=1280,900'],
  });
}

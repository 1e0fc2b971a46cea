/**
 * The pages' fonts: /assets/fonts.css (the @font-face rules of Inter and the Noto Sans stack,
 * each subset with its unicode-range, and `--font-ui`) and /assets/fonts/<file>.woff2, the
 * subsets themselves, from the npm packages. A browser downloads only the subsets whose range
 * a character of the page falls in: an English page loads Inter's Latin, a page with 王小明 in
 * its learner table adds three small Chinese files.
 */
import { Router } from 'express';
import { pageFontCss, pageFontFile } from '../render/fonts';

export function fontsRouter(): Router {
  const router = Router();
  router.get('/assets/fonts.css', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type('text/css').send(pageFontCss('/assets/fonts/'));
  });
  router.get('/assets/fonts/:file', (req, res, next) => {
    const file = pageFontFile(req.params.file);
    if (!file) return next();
    // The file names carry no version: a day, not forever.
    res.sendFile(file, { maxAge: '1d', headers: { 'Content-Type': 'font/woff2' } });
  });
  return router;
}

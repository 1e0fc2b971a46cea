/**
 * Never let `npm ci` download a browser: CI and these machines have no internet, and we use
 * Debian's /usr/bin/chromium (or PUPPETEER_EXECUTABLE_PATH). On a machine that can download,
 * `npm run setup-browser` installs puppeteer's chrome-headless-shell, which the tool then uses.
 */
module.exports = { skipDownload: true };

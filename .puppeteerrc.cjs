/**
 * Never let `npm ci` download a browser: CI and these machines have no internet, and we use
 * Debian's /usr/bin/chromium (or PUPPETEER_EXECUTABLE_PATH). On a machine where you want
 * puppeteer's own Chrome, run `npx puppeteer browsers install chrome` yourself.
 */
module.exports = { skipDownload: true };

/**
 * Mocha root hooks (loaded by .mocharc.json and `npm run test:file`): block outgoing network
 * (test/support/network-guard.ts), start the one shared test database before any test file
 * runs and stop it at the end (test/support/db.ts).
 */
import { join } from 'node:path';
import { prepareSharedTestEngine, releaseSharedTestEngine } from './db';
import { installNetworkGuard, takeBlockedAttempts } from './network-guard';

installNetworkGuard();

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await prepareSharedTestEngine();
  },
  afterEach(this: Mocha.Context) {
    // a refused connection fails the test that made it, even when the code under test caught it
    const refused = takeBlockedAttempts();
    if (refused.length > 0) {
      const hosts = [...new Set(refused.map((e) => e.host))].join(', ');
      throw new Error(`"${this.currentTest?.fullTitle()}" tried to reach ${hosts}: ${refused[0]!.message}`);
    }
  },
  async afterAll() {
    // The shared tool app (test/support/app.ts) uses the engine: stop it first. Only when a
    // spec loaded it, so that a database-only run does not load the whole application.
    const app = require.cache[join(__dirname, 'app.ts')]?.exports as { stopTestApp?: () => Promise<void> } | undefined;
    await app?.stopTestApp?.();
    await releaseSharedTestEngine();
  },
};

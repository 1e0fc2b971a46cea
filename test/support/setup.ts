/**
 * Mocha root hooks (loaded by .mocharc.json): start the one shared test database before any
 * test file runs and stop it at the end. See test/support/db.ts.
 */
import { join } from 'node:path';
import { prepareSharedTestEngine, releaseSharedTestEngine } from './db';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await prepareSharedTestEngine();
  },
  async afterAll() {
    // The shared tool app (test/support/app.ts) uses the engine: stop it first. Only when a
    // spec loaded it, so that a database-only run does not load the whole application.
    const app = require.cache[join(__dirname, 'app.ts')]?.exports as { stopTestApp?: () => Promise<void> } | undefined;
    await app?.stopTestApp?.();
    await releaseSharedTestEngine();
  },
};

/**
 * Mocha root hooks (loaded by .mocharc.json): start the one shared test database before any
 * test file runs and stop it at the end. See test/support/db.ts.
 */
import { prepareSharedTestEngine, releaseSharedTestEngine } from './db';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await prepareSharedTestEngine();
  },
  async afterAll() {
    await releaseSharedTestEngine();
  },
};

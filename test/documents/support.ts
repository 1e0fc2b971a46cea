/** Moved to test/support/e2e.ts (kept while other branches still import it from here). */
export * from '../support/e2e';

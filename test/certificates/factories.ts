/** Moved to test/support/builders.ts (kept while other branches still import it from here). */
export * from '../support/builders';
export { buildDefinition as seedDefinition } from '../support/builders';

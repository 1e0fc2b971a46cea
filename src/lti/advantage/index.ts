/** LTI Advantage services client (AGS, NRPS); no ltijs inside. */
export * from './advantage.client';
export * from './advantage.schemas';
export { parseLinkHeader } from './link-header';
export { SCOPES, describeMissingScope } from './scopes';

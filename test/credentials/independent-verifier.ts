/**
 * An independent verifier for our credentials: @digitalcredentials/verifier-core (the Digital
 * Credentials Consortium's verifier, its own forks of the vc / data-integrity / eddsa libraries,
 * not the ones that sign) fetching keys and status lists from the running tool over HTTP, plus
 * ajv with 1EdTech's Open Badges 3.0 JSON Schema (test/fixtures/open-badges/).
 *
 * verifier-core fetches the OB schema from purl.imsglobal.org; the test network guard refuses
 * that, so fetch answers that one URL with the vendored copy of the same file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019';
import addFormats from 'ajv-formats';

const SCHEMA_PATH = join(__dirname, '..', 'fixtures', 'open-badges', 'ob_v3p0_achievementcredential_schema.json');
export const OB_SCHEMA = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
const SCHEMA_URLS = ['https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json', 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/ob_v3p0_achievementcredential_schema.json'];

const ajv = new Ajv2019({ allErrors: true, strict: false, logger: false });
addFormats(ajv);
const validateSchema = ajv.compile(OB_SCHEMA);

/** ajv errors against the OB 3.0 schema ([] = valid). */
export function schemaErrors(credential: unknown): string[] {
  return validateSchema(credential) ? [] : (validateSchema.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

export interface IndependentResult {
  signature: boolean;
  /** true = a status bit is set (revoked); undefined when the check did not run. */
  revoked: boolean | undefined;
  errors: string[];
  raw: unknown;
}

let patched = false;
function serveSchemaLocally(): void {
  if (patched) return;
  patched = true;
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (SCHEMA_URLS.includes(url)) return new Response(JSON.stringify(OB_SCHEMA), { headers: { 'content-type': 'application/json' } });
    return original(input, init);
  }) as typeof fetch;
}

export async function verifyIndependently(credential: unknown): Promise<IndependentResult> {
  serveSchemaLocally();
  const core = (await import('@digitalcredentials/verifier-core')) as { verifyCredential(o: { credential: unknown; knownDIDRegistries: unknown[] }): Promise<Record<string, unknown>> };
  const r = (await core.verifyCredential({ credential, knownDIDRegistries: [] })) as {
    log?: Array<{ id: string; valid: boolean; error?: unknown }>;
    errors?: Array<{ name: string; message: string }>;
  };
  const log = r.log ?? [];
  const step = (id: string) => log.find((l) => l.id === id);
  const signatureStep = step('valid_signature');
  const status = step('revocation_status');
  return {
    signature: signatureStep?.valid === true && !(r.errors ?? []).length,
    revoked: status === undefined ? undefined : !status.valid,
    errors: (r.errors ?? []).map((e) => `${e.name}: ${e.message}`),
    raw: r,
  };
}

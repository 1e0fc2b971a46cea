/**
 * Static platform registrations: one JSON file per platform in `platform-config/` (files in
 * sub-folders, like `examples/`, are not loaded). Validated at start: a bad file stops the
 * start with a message naming the file and the field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config';
import { checkUrlShape } from './advantage/url-guard';

export const PlatformFileSchema = z
  .object({
    name: z.string().min(1),
    issuer: z.url(),
    clientId: z.string().min(1),
    authUrl: z.url(),
    tokenUrl: z.url(),
    authorizationServer: z.string().min(1).optional(),
    jwksUrl: z.url().optional(),
    publicKeyPem: z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)' }).optional(),
    deploymentIds: z.array(z.string().min(1)).default([]),
    active: z.boolean().default(true),
    /**
     * Chamilo only: read course totals from its SOAP gradebook service (src/grades/sources/chamilo.source.ts):
     * `securityKey` = $_configuration['security_key'] of Chamilo's app/config/configuration.php,
     * `callerIp` = the tool's address as Chamilo sees it (left out when Chamilo has an IP list).
     */
    chamiloGradebook: z.object({ securityKey: z.string().min(8), callerIp: z.string().min(1).optional() }).strict().optional(),
  })
  .strict()
  .refine((p) => Boolean(p.jwksUrl) !== Boolean(p.publicKeyPem), {
    message: 'give exactly one of jwksUrl or publicKeyPem',
    path: ['jwksUrl'],
  });
export type PlatformFile = z.infer<typeof PlatformFileSchema>;

/** Reads and validates every `*.json` in `dir`. A missing folder means no static platforms. */
export function loadPlatformFiles(dir: string): Array<PlatformFile & { file: string }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const seen = new Map<string, string>();
  return names.map((name) => {
    const file = join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`Invalid platform file ${file}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = PlatformFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`Invalid platform file ${file}: field "${issue.path.join('.') || '(root)'}" ${issue.message}`);
    }
    // The tool fetches these URLs (ltijs: keyset at each launch, token URL for grades): never
    // a link-local, metadata or non-http address, even by an administrator's typo.
    for (const field of ['authUrl', 'tokenUrl', 'jwksUrl'] as const) {
      const u = parsed.data[field];
      if (!u) continue;
      try {
        checkUrlShape(u, { allowLoopback: true, what: field });
      } catch (err) {
        throw new ConfigError(`Invalid platform file ${file}: field "${field}" ${(err as Error).message.split('. Nothing')[0]}`);
      }
    }
    const key = `${parsed.data.issuer} ${parsed.data.clientId}`;
    if (seen.has(key)) throw new ConfigError(`Invalid platform file ${file}: issuer and clientId repeat ${seen.get(key)}`);
    seen.set(key, file);
    return { ...parsed.data, file };
  });
}

import { NotFoundError } from '../../errors';
import type { LtiProvider } from '../../lti/provider';

/**
 * Refuses (404, in the administrator's language) a form naming an issuer no registered platform
 * has: the Moodle and Canvas connection pages store credentials only for a platform in use.
 */
export async function requireRegisteredIssuer(lti: Pick<LtiProvider, 'listPlatforms'>, issuer: string): Promise<void> {
  const platforms = await lti.listPlatforms();
  if (!platforms.some((p) => p.issuer === issuer)) {
    throw new NotFoundError(`No registered platform has the issuer ${issuer}.`, undefined, { key: 'admin.error.noPlatform', params: { issuer } });
  }
}

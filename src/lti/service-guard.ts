/**
 * The SSRF guard applied to a course's platform services: every AGS/NRPS URL (from the
 * id_token, and each next page) and the token URL must be on the course registration's own
 * hosts and pass the address checks of url-guard.ts, before any token is asked for or sent.
 */
import { PlatformError } from '../errors';
import { checkPlatformUrl, policyForRegistration, type Lookup } from './advantage/url-guard';
import type { LtiProvider, RegisteredPlatform } from './provider';

export interface GuardedServiceAccess {
  /** For AdvantageClientOptions.checkUrl. */
  checkUrl(url: string): Promise<void>;
  /** For AdvantageClientOptions.getToken: checks the registration's token URL first. */
  getToken(scopes: string[], opts?: { refresh?: boolean }): Promise<string>;
}

export function guardedServiceAccess(
  lti: Pick<LtiProvider, 'findPlatform' | 'accessToken'> & Partial<Pick<LtiProvider, 'serviceRegistration'>>,
  issuer: string, clientId: string, lookup?: Lookup): GuardedServiceAccess {
  let platform: Promise<RegisteredPlatform> | undefined;
  const registration = () =>
    (platform ??= (lti.serviceRegistration ?? lti.findPlatform)(issuer, clientId).then((p) => {
      if (!p) throw new PlatformError(`The platform ${issuer} (client ${clientId}) is no longer registered with the tool.`);
      return p;
    }));
  let tokenUrlChecked: Promise<unknown> | undefined;
  return {
    async checkUrl(url) {
      const p = await registration();
      await checkPlatformUrl(url, { ...policyForRegistration(p, 'the service URL'), lookup });
    },
    async getToken(scopes, opts) {
      const p = await registration();
      tokenUrlChecked ??= checkPlatformUrl(p.tokenUrl, { ...policyForRegistration(p, "the platform's token URL"), lookup });
      await tokenUrlChecked;
      return (await lti.accessToken(issuer, clientId, scopes, opts)).token;
    },
  };
}

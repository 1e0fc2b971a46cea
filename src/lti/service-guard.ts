/**
 * The SSRF guard applied to a course's platform services: every AGS/NRPS URL (from the
 * id_token, and each next page) and the token URL must be on the course registration's own
 * hosts and pass the address checks of url-guard.ts, before any token is asked for or sent.
 */
import { PlatformError, type MessageRef } from '../errors';
import { inEnglish } from '../i18n/english';
import { checkPlatformUrl, policyForRegistration, type Lookup } from './advantage/url-guard';
import type { LtiProvider, RegisteredPlatform } from './provider';

export interface GuardedServiceAccess {
  /** For AdvantageClientOptions.checkUrl. */
  checkUrl(url: string): Promise<void>;
  /** For AdvantageClientOptions.getToken: checks the registration's token URL first. */
  getToken(scopes: string[], opts?: { refresh?: boolean }): Promise<string>;
}

/** A service call for a registration an administrator removed meanwhile (a sync running on, a stored course). */
export function platformRemoved(issuer: string, clientId: string): PlatformError {
  const ref: MessageRef = { key: 'launch.message.platformRemoved', params: { issuer, clientId } };
  return new PlatformError(inEnglish(ref), undefined, ref);
}

export function guardedServiceAccess(
  lti: Pick<LtiProvider, 'findPlatform' | 'accessToken'> & Partial<Pick<LtiProvider, 'serviceRegistration'>>,
  issuer: string, clientId: string, lookup?: Lookup): GuardedServiceAccess {
  let platform: Promise<RegisteredPlatform> | undefined;
  const registration = () =>
    (platform ??= (lti.serviceRegistration ?? lti.findPlatform)(issuer, clientId).then((p) => {
      if (!p) throw platformRemoved(issuer, clientId);
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

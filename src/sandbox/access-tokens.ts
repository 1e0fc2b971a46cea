/**
 * OAuth2 access tokens issued by `/token`, and the client assertion `jti`s already seen (a
 * replayed assertion must not buy a second token).
 */
import { randomBytes } from 'node:crypto';

export interface AccessGrant {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;

export class AccessTokens {
  private readonly grants = new Map<string, AccessGrant>();
  private readonly seenJtis = new Map<string, number>();

  constructor(private readonly now: () => Date) {}

  issue(clientId: string, scopes: string[]): AccessGrant {
    this.sweep();
    const grant: AccessGrant = {
      token: randomBytes(24).toString('base64url'),
      clientId,
      scopes,
      expiresAt: this.now().getTime() + ACCESS_TOKEN_LIFETIME_SECONDS * 1000,
    };
    this.grants.set(grant.token, grant);
    return grant;
  }

  /** The live grant behind a bearer token, or undefined when unknown or expired. */
  lookup(token: string): AccessGrant | undefined {
    const grant = this.grants.get(token);
    if (!grant || grant.expiresAt <= this.now().getTime()) return undefined;
    return grant;
  }

  /** Records a jti; false when it was already used (a replay). Kept until the assertion expires. */
  claimJti(clientId: string, jti: string, expiresAtSeconds: number): boolean {
    const key = `${clientId}\u0000${jti}`;
    if (this.seenJtis.has(key)) return false;
    this.seenJtis.set(key, expiresAtSeconds * 1000);
    return true;
  }

  private sweep(): void {
    const now = this.now().getTime();
    for (const [token, grant] of this.grants) if (grant.expiresAt <= now) this.grants.delete(token);
    for (const [key, until] of this.seenJtis) if (until < now - 60_000) this.seenJtis.delete(key);
  }
}

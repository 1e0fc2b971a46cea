/**
 * Tool registrations known to the sandbox platform ("clients"): the static default one built
 * from SandboxOptions.tool, and those created by dynamic registration.
 */
import { randomBytes } from 'node:crypto';

export interface SandboxClient {
  clientId: string;
  name: string;
  /** OIDC login initiation URL of the tool. */
  loginUrl: string;
  /** Launch URL used when a resource link has no URL of its own. */
  targetLinkUri: string;
  /** Where deep linking requests go (defaults to targetLinkUri). */
  deepLinkingUrl?: string;
  /** The only URLs the authorization endpoint will post an id_token to. */
  redirectUris: string[];
  /** Where the tool publishes its public keys (client assertions, deep linking responses). */
  jwksUrl: string;
  deploymentId: string;
  /** Service scopes the tool registered for; the token endpoint grants at most these. */
  scopes: string[];
  /** True when made through `/register`. */
  dynamic: boolean;
  /**
   * Custom parameters of the tool itself, from its registration (Moodle keeps them as the tool
   * type's custom parameters and sends them on every launch of the tool, with the activity's own
   * added over them: mod/lti/locallib.php lti_build_custom_parameters).
   */
  customParameters?: Record<string, string>;
  /**
   * Canvas's privacy level of the tool (`https://canvas.instructure.com/lti/privacy_level`):
   * `anonymous` sends neither name nor e-mail, `name_only` / `email_only` one of them, `public`
   * both. Absent = public (the statically registered tool).
   */
  privacyLevel?: 'public' | 'name_only' | 'email_only' | 'anonymous';
}

/** The registrations, plus the deployment counter (Moodle: deployment id = tool type id). */
export class ClientRegistry {
  private readonly clients = new Map<string, SandboxClient>();
  private nextDeployment = 1;
  private nextDynamic = 1;

  add(client: Omit<SandboxClient, 'deploymentId'> & { deploymentId?: string }): SandboxClient {
    const full: SandboxClient = { ...client, deploymentId: client.deploymentId ?? String(this.nextDeployment++) };
    // Deployment ids stay unique when one was chosen by hand (the static client's "1").
    if (/^\d+$/.test(full.deploymentId)) this.nextDeployment = Math.max(this.nextDeployment, Number(full.deploymentId) + 1);
    this.clients.set(full.clientId, full);
    return full;
  }

  get(clientId: string): SandboxClient | undefined {
    return this.clients.get(clientId);
  }

  list(): SandboxClient[] {
    return [...this.clients.values()];
  }

  /** A fresh client id for a dynamic registration (random, as Moodle makes them). */
  newDynamicClientId(): string {
    return `dynreg-${this.nextDynamic++}-${randomBytes(6).toString('hex')}`;
  }
}

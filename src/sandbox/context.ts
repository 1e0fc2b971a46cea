/**
 * What every sandbox route needs: the store, the platform key, the registrations, the tokens,
 * the clock, and the platform's own URLs. Built once by `createSandbox`.
 */
import type { AccessTokens } from './access-tokens';
import type { ClientRegistry, SandboxClient } from './clients';
import type { PlatformKey } from './platform-keys';
import type { SandboxStore, SandboxCourse, SandboxLineItem } from './sandbox.store';
import type { ToolKeysets } from './tool-keysets';

export interface SandboxUrls {
  issuer: string;
  auth: string;
  token: string;
  jwks: string;
  openidConfiguration: string;
  register: string;
  deepLinkReturn: string;
  course(courseId: string): string;
  lineItems(courseId: string): string;
  lineItem(courseId: string, lineItemId: string): string;
  memberships(courseId: string): string;
}

export interface SandboxContext {
  baseUrl: string;
  urls: SandboxUrls;
  store: SandboxStore;
  now: () => Date;
  key: PlatformKey;
  clients: ClientRegistry;
  defaultClient: SandboxClient;
  tokens: AccessTokens;
  keysets: ToolKeysets;
  /** The tool's dynamic registration URL, when it has one. */
  dynamicRegistrationUrl?: string;
  /** Issues a one-time registration token; returns the URL to open at the tool. */
  startDynamicRegistration(toolUrl?: string, opts?: { as?: 'canvas' }): { url: string; token: string; clientId: string };
  launchUrl(courseId: string, userId: string, opts?: LaunchUrlOptions): string;
}

/** Ways to make a launch deliberately wrong, so the tool's refusals can be tested end to end. */
export type LaunchFault =
  | 'bad-signature'
  | 'expired'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-nonce'
  | 'unknown-deployment'
  | 'missing-message-type';

export const LAUNCH_FAULTS: readonly LaunchFault[] = ['bad-signature', 'expired', 'wrong-audience', 'wrong-issuer', 'wrong-nonce', 'unknown-deployment', 'missing-message-type'];

export interface LaunchUrlOptions {
  /** Defaults to the course's first resource link (the tool's placement). */
  resourceLinkId?: string;
  /** Send an LtiDeepLinkingRequest instead of a resource link launch. */
  deepLinking?: boolean;
  /** Launch through another registration (e.g. one made by dynamic registration). */
  clientId?: string;
  /** Make the id_token wrong on purpose (test aid). */
  fault?: LaunchFault;
}

export function buildUrls(baseUrl: string): SandboxUrls {
  const api = (courseId: string) => `${baseUrl}/api/courses/${encodeURIComponent(courseId)}`;
  return {
    issuer: baseUrl,
    auth: `${baseUrl}/auth`,
    token: `${baseUrl}/token`,
    jwks: `${baseUrl}/jwks`,
    openidConfiguration: `${baseUrl}/.well-known/openid-configuration`,
    register: `${baseUrl}/register`,
    deepLinkReturn: `${baseUrl}/deeplink/return`,
    course: (courseId) => `${baseUrl}/courses/${encodeURIComponent(courseId)}`,
    lineItems: (courseId) => `${api(courseId)}/lineitems`,
    lineItem: (courseId, lineItemId) => `${api(courseId)}/lineitems/${encodeURIComponent(lineItemId)}`,
    memberships: (courseId) => `${api(courseId)}/memberships`,
  };
}

/**
 * Whether a gradebook column is a line item this client sees over AGS. Every real platform shows a
 * tool only the columns it created and those of its own activities, never the course's quizzes,
 * assignments, manual items or totals:
 * - Moodle mod/lti/service/gradebookservices/classes/local/service/gradebookservices.php
 *   `get_lineitems()`: rows of `ltiservice_gradebookservices` of this tool type, plus
 *   `itemtype='mod' AND itemmodule='lti'` items of activities using this tool;
 * - Canvas app/controllers/lti/ims/line_items_controller.rb `index_query`: line items whose
 *   `client_id` is the tool's developer key (assignments of the tool get one automatically);
 * - Chamilo plugin/ims_lti/src/Service/Resource/LtiLineItemsResource.php: `$tool->getLineItems()`.
 */
export function visibleTo(item: SandboxLineItem, clientId: string): boolean {
  if (item.clientId !== undefined) return item.clientId === clientId;
  return item.module === 'lti' && item.resourceLinkId !== undefined;
}

/** The deployment id a launch from this course carries for this client. */
export function deploymentIdFor(course: SandboxCourse, client: SandboxClient): string {
  return course.deploymentId ?? client.deploymentId;
}

/** The first string of a query or form value (express gives string, string[] or nothing). */
export function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  return typeof value === 'string' ? value : undefined;
}

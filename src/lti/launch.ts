/**
 * The typed result of a validated LTI 1.3 launch. Everything outside `src/lti/` sees only this,
 * never an ltijs object or a raw id_token.
 */
export type ToolRole = 'teacher' | 'learner' | 'none';

export interface LaunchServices {
  /** AGS: the line items container URL, when the platform grants AGS. */
  lineItemsUrl?: string;
  /** AGS: the single line item of this resource link, when there is exactly one. */
  lineItemUrl?: string;
  /** AGS scopes the platform says it grants in this launch (Chamilo under-reports; see platforms.md). */
  agsScopes: string[];
  /** NRPS: the memberships URL (Chamilo sends it only on teacher launches). */
  membershipsUrl?: string;
}

export interface Launch {
  /** Platform issuer (`iss`). */
  issuer: string;
  clientId: string;
  deploymentId: string;
  /** Our Course document id (string form of its ObjectId), resolved from issuer + context id. */
  courseId: string;
  context: { id: string; title?: string; label?: string };
  resourceLinkId?: string;
  /**
   * The LMS's user id (`sub`), unique within the issuer. `username`: the login name, when the tool
   * is given the custom parameter `username=$User.username` (substituted by Moodle,
   * mod/lti/locallib.php, and Chamilo, plugin/ims_lti/src/ImsLti.php); Chamilo's gradebook export
   * names learners only by it.
   */
  user: { id: string; name?: string; givenName?: string; familyName?: string; email?: string; username?: string };
  /** Raw role URIs as sent by the platform. */
  roles: string[];
  /** What the tool makes of the roles: teacher page, learner page, or no access. */
  role: ToolRole;
  /** BCP-47-ish locale from launch_presentation.locale, e.g. "nl-NL"; may be absent. */
  locale?: string;
  /** The message type: resource link or deep linking request. */
  messageType: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';
  services: LaunchServices;
  /** Present on deep-linking requests: where and how to return the teacher's choice. */
  deepLinking?: { returnUrl: string; acceptTypes: string[]; acceptMultiple: boolean; data?: string };
  custom: Record<string, string>;
  /** The LMS family when recognisable (drives quirk handling), else 'generic'. */
  platformFamily: 'moodle' | 'canvas' | 'chamilo' | 'sandbox' | 'generic';
}

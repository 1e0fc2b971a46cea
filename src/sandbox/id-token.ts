/**
 * The claims of a launch id_token, shaped per quirk mode the way each platform shapes them
 * (platforms.md §1–3, §6): subject and context ids, role vocabulary, services claims, lifetime.
 */
import type { JWTPayload } from 'jose';
import type { SandboxClient } from './clients';
import { deploymentIdFor, visibleTo, type SandboxContext } from './context';
import { AGS_SCOPES, CLAIM, MESSAGE_TYPE, principalRole, ROLE, SCOPE } from './lti-vocabulary';
import { QUIRKS } from './quirks';
import { platformLocale } from './platform-locale';
import type { SandboxCourse, SandboxMembership, SandboxResourceLink, SandboxUser } from './sandbox.store';

const TEACHER_ROLES = new Set(['Instructor', 'TeachingAssistant', 'ContentDeveloper', 'Administrator']);

export interface LaunchClaimsInput {
  course: SandboxCourse;
  user: SandboxUser;
  membership: SandboxMembership;
  client: SandboxClient;
  resourceLink: SandboxResourceLink;
  deepLinking: boolean;
  nonce: string;
  /** Opaque value echoed back by the tool in the deep linking response. */
  deepLinkingData?: string;
}

/** True when any role makes the user a course editor (Chamilo's `api_is_allowed_to_edit()`). */
export function isTeacher(roles: string[]): boolean {
  return roles.some((role) => TEACHER_ROLES.has(principalRole(role)));
}

/** Canvas adds institution and system roles (`$com.instructure.User.allRoles`). */
function canvasRoles(roles: string[]): string[] {
  const extra = new Set<string>();
  for (const role of roles) {
    const principal = principalRole(role);
    if (principal === 'Learner') extra.add(ROLE.institutionStudent);
    else if (principal === 'Mentor') extra.add(ROLE.institutionMentor);
    else if (TEACHER_ROLES.has(principal)) extra.add(ROLE.institutionInstructor);
  }
  extra.add(ROLE.systemUser);
  return [...roles, ...[...extra].filter((r) => !roles.includes(r))];
}

export function buildLaunchClaims(ctx: SandboxContext, input: LaunchClaimsInput): JWTPayload {
  const { course, user, membership, client, resourceLink, deepLinking } = input;
  const quirks = QUIRKS[course.quirks];
  const iat = Math.floor(ctx.now().getTime() / 1000);
  const sub = ctx.store.subjectOf(course, user);
  const roles = quirks.canvasIdentity ? canvasRoles(membership.roles) : [...membership.roles];
  // Every platform substitutes `$User.username`: Moodle (observed on 4.5.6: it arrives as the
  // login), Chamilo (plugin/ims_lti/src/ImsLti.php) and Canvas (lib/lti/variable_expander.rb,
  // `User.username` = the login id of the user's primary pseudonym).
  // Canvas also expands its own variables, only where the tool's configuration asks for them
  // (lib/lti/variable_expander.rb: `Canvas.user.id` = users.id, `Canvas.course.id` = courses.id);
  // Moodle and Chamilo leave them as typed.
  const expand = (v: string): string => {
    if (v === '$User.username') return user.username;
    if (quirks.canvasIdentity && v === '$Canvas.user.id') return user.id;
    if (quirks.canvasIdentity && v === '$Canvas.course.id') return course.id;
    return v;
  };
  const custom: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...client.customParameters, ...resourceLink.custom })) custom[k] = expand(v);
  // Canvas's privacy level (Lti::PrivacyLevelExpander, lib/lti/messages/jwt_message.rb include_name?/include_email?).
  const privacy = quirks.canvasIdentity ? (client.privacyLevel ?? 'public') : 'public';
  const withName = privacy === 'public' || privacy === 'name_only';
  const withEmail = privacy === 'public' || privacy === 'email_only';

  const claims: JWTPayload & Record<string, unknown> = {
    iss: ctx.urls.issuer,
    aud: client.clientId,
    azp: client.clientId,
    sub,
    iat,
    exp: iat + quirks.idTokenLifetimeSeconds,
    nonce: input.nonce,
    ...(withName ? { name: user.name, given_name: user.givenName, family_name: user.familyName } : {}),
    ...(withEmail ? { email: user.email } : {}),
    // Moodle 4.5.6 and Chamilo 1.11.28 send no top-level `locale` (only launch_presentation's).
    ...(quirks.launchLocale === 'bcp47' ? { locale: user.locale } : {}),
    [CLAIM.messageType]: deepLinking ? MESSAGE_TYPE.deepLinkingRequest : MESSAGE_TYPE.resourceLink,
    [CLAIM.version]: '1.3.0',
    [CLAIM.deploymentId]: deploymentIdFor(course, client),
    [CLAIM.targetLinkUri]: deepLinking ? (client.deepLinkingUrl ?? client.targetLinkUri) : (resourceLink.url ?? client.targetLinkUri),
    [CLAIM.roles]: roles,
    [CLAIM.context]: {
      id: ctx.store.contextIdOf(course),
      label: course.label,
      title: course.title,
      type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
    },
    // Chamilo 1.11 names its family `family_code: "Chamilo LMS"` instead of product_family_code
    // (plugin/ims_lti/auth.php, as a real 1.11.28 sends it).
    [CLAIM.toolPlatform]:
      quirks.productFamilyCode === 'chamilo'
        ? { guid: new URL(ctx.urls.issuer).host, name: quirks.platformName, family_code: 'Chamilo LMS', version: quirks.platformVersion }
        : { guid: new URL(ctx.urls.issuer).host, name: quirks.platformName, product_family_code: quirks.productFamilyCode, version: quirks.platformVersion },
    [CLAIM.launchPresentation]: {
      locale: platformLocale(quirks.launchLocale, user.locale),
      document_target: 'iframe',
      ...(quirks.sendsReturnUrl ? { return_url: ctx.urls.course(course.id) } : {}),
    },
    [CLAIM.custom]: custom,
    [CLAIM.lis]: {
      person_sourcedid: user.sourcedId,
      course_offering_sourcedid: course.sourcedId,
    },
  };
  // The resource link claim is required for resource link launches and absent from deep linking requests.
  if (!deepLinking) claims[CLAIM.resourceLink] = { id: resourceLink.id, title: resourceLink.title };
  if (quirks.canvasIdentity) claims[CLAIM.lti11LegacyUserId] = user.legacyId;

  const permitted = course.permittedScopes.filter((scope) => client.scopes.includes(scope));
  const agsScopes = permitted.filter((scope) => AGS_SCOPES.includes(scope) && (!quirks.agsClaimScopes || quirks.agsClaimScopes.includes(scope)));
  if (agsScopes.length > 0) {
    const coupled = ctx.store.listLineItems(course.id).filter((item) => item.resourceLinkId === resourceLink.id && visibleTo(item, client.clientId));
    const ags: Record<string, unknown> = { scope: agsScopes, lineitems: ctx.urls.lineItems(course.id) };
    // Moodle and Canvas send `lineitem` only when exactly one item is coupled to the link.
    if (!deepLinking && coupled.length === 1) ags.lineitem = ctx.urls.lineItem(course.id, coupled[0].id);
    // Moodle 4.5.6 after the teacher unticked the link's grades: `"lineitem": ""` (observed, platforms.md §6).
    else if (!deepLinking && coupled.length === 0 && resourceLink.gradesUnticked && course.quirks === 'moodle') ags.lineitem = '';
    claims[CLAIM.agsEndpoint] = ags;
  }
  if (permitted.includes(SCOPE.nrps) && (!quirks.nrpsClaimOnlyForTeachers || isTeacher(membership.roles))) {
    claims[CLAIM.nrps] = { context_memberships_url: ctx.urls.memberships(course.id), service_versions: ['2.0'] };
  }
  if (deepLinking) {
    claims[CLAIM.deepLinkingSettings] = {
      deep_link_return_url: ctx.urls.deepLinkReturn,
      accept_types: ['ltiResourceLink'],
      accept_presentation_document_targets: ['iframe', 'window'],
      accept_multiple: true,
      auto_create: true,
      title: course.title,
      data: input.deepLinkingData,
    };
  }
  return claims;
}

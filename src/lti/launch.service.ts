/**
 * What happens after ltijs has verified a launch: read the claims into a typed Launch, apply the
 * deployment policy, record the course, and open a tool session. A refused launch writes nothing
 * of ours (no course, no session): every check runs before the first write.
 */
import { z } from 'zod';
import type { Connection } from 'mongoose';
import { courseLinkOf } from '../courses/course-link';
import { courseIdentity, courseModel, type CourseDoc } from '../courses/course.model';
import { LAUNCHED_COURSE_MS, rememberLaunchedCourse } from '../courses/launched-course';
import { CLAIM } from './claims';
import { deploymentModel } from './deployment.model';
import type { Launch } from './launch';
import { LAUNCH_FAILURES, TOOL_FAILURES, type LaunchFailure } from './launch-errors';
import { toolRoleOf } from './roles';
import { createSession } from './session.service';

const str = z.string().min(1).max(2048);
const opt = z.string().max(2048).optional();
/** Moodle sends `"lineitem": ""` when the teacher unticks grades on the activity: that is "no line item". */
const optionalUrl = z.preprocess((v) => (v === '' || v === null ? undefined : v), z.url().optional());

/** The claims we use, validated (ltijs has checked signature, iss, aud, exp, nonce and the core claims). */
const ClaimsSchema = z.object({
  iss: str,
  aud: z.union([str, z.array(str).nonempty()]),
  azp: opt,
  sub: str,
  name: opt,
  given_name: opt,
  family_name: opt,
  email: opt,
  [CLAIM.messageType]: z.enum(['LtiResourceLinkRequest', 'LtiDeepLinkingRequest']),
  [CLAIM.deploymentId]: str,
  [CLAIM.roles]: z.array(z.string().max(2048)).max(200),
  [CLAIM.context]: z.object({ id: str, title: opt, label: opt }).passthrough().optional(),
  [CLAIM.resourceLink]: z.object({ id: str }).passthrough().optional(),
  [CLAIM.launchPresentation]: z.object({ locale: opt, return_url: z.string().max(2048).optional().catch(undefined) }).passthrough().optional(),
  [CLAIM.toolPlatform]: z.object({ product_family_code: opt, family_code: opt }).passthrough().optional(),
  [CLAIM.custom]: z.record(z.string(), z.unknown()).optional(),
  [CLAIM.ags]: z
    .object({ scope: z.array(z.string()).optional(), lineitems: optionalUrl, lineitem: optionalUrl })
    .passthrough()
    .optional(),
  [CLAIM.nrps]: z.object({ context_memberships_url: z.url() }).passthrough().optional(),
  [CLAIM.deepLinkingSettings]: z
    .object({ deep_link_return_url: z.url(), accept_types: z.array(z.string()), accept_multiple: z.union([z.boolean(), z.string()]).optional(), data: opt })
    .passthrough()
    .optional(),
});
type Claims = z.infer<typeof ClaimsSchema>;

export type LaunchOutcome =
  | { ok: true; launch: Launch; sessionToken: string }
  | { ok: false; failure: LaunchFailure };

function platformFamily(claims: Claims): Launch['platformFamily'] {
  // Chamilo 1.11 sends `family_code: "Chamilo LMS"` and no product_family_code
  // (plugin/ims_lti/auth.php; seen on a real 1.11.28: test/real-lms/README.md).
  const platform = claims[CLAIM.toolPlatform];
  const code = (platform?.product_family_code ?? platform?.family_code ?? '').toLowerCase();
  if (code.includes('moodle')) return 'moodle';
  if (code.includes('canvas')) return 'canvas';
  if (code.includes('chamilo')) return 'chamilo';
  if (code.includes('sandbox')) return 'sandbox';
  return 'generic';
}

const isDuplicateKey = (err: unknown) => (err as { code?: number }).code === 11000;

/**
 * The deployment's part of a launch, in one command when the deployment may launch: an upsert
 * that skips a refused deployment. A refused one makes the upsert collide with it on the unique
 * index, and only then is it read, to refuse the launch with nothing written.
 */
async function recordDeployment(deps: LaunchDeps, key: { issuer: string; clientId: string; deploymentId: string }, now: Date): Promise<LaunchFailure | null> {
  const deployments = deploymentModel(deps.conn);
  const refusedOrUnknown = async (): Promise<LaunchFailure> => {
    const known = await deployments.findOne(key, { status: 1 }).lean();
    return known ? TOOL_FAILURES.inactiveDeployment(key.deploymentId) : TOOL_FAILURES.unknownDeployment(key.deploymentId);
  };
  if (deps.unknownDeployment === 'refuse') {
    const r = await deployments.updateOne({ ...key, status: 'accepted' }, { $set: { lastLaunchAt: now } });
    return r.matchedCount === 1 ? null : refusedOrUnknown();
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await deployments.updateOne(
        { ...key, status: { $ne: 'refused' } },
        { $setOnInsert: { source: 'launch', status: 'accepted', firstSeenAt: now }, $set: { lastLaunchAt: now } },
        { upsert: true },
      );
      return null;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Either the deployment is refused, or a simultaneous first launch inserted it: then once more.
      const known = await deployments.findOne(key, { status: 1 }).lean();
      if (known?.status === 'refused') return TOOL_FAILURES.inactiveDeployment(key.deploymentId);
      if (attempt > 0) throw err;
    }
  }
}

/** Course writes this process made lately: the same launch data again within LAUNCHED_COURSE_MS writes nothing. */
const writtenCourses = new Map<string, { doc: CourseDoc; at: number }>();
const MAX_WRITTEN_COURSES = 5_000;

/**
 * The course of a launch, upserted with what the launch says of it. A class launching one after
 * the other sends the same title, services and deployment each time: when this process wrote
 * exactly that less than LAUNCHED_COURSE_MS ago, the document it got back then stands (the launch
 * needs its id; the page's refresh its services, which only launches write: launched-course.ts).
 */
async function recordCourse(conn: Connection, identity: Record<string, unknown>, update: Record<string, unknown>): Promise<CourseDoc> {
  const key = `${conn.name}\n${JSON.stringify([identity, update])}`;
  const hit = writtenCourses.get(key);
  if (hit && Date.now() - hit.at < LAUNCHED_COURSE_MS) return hit.doc;
  const doc = (await courseModel(conn).findOneAndUpdate(identity, update, { upsert: true, new: true, setDefaultsOnInsert: true, lean: true })) as CourseDoc;
  rememberLaunchedCourse(conn, doc);
  if (writtenCourses.size >= MAX_WRITTEN_COURSES) writtenCourses.clear();
  writtenCourses.set(key, { doc, at: Date.now() });
  return doc;
}

export interface LaunchDeps {
  conn: Connection;
  now: () => Date;
  unknownDeployment: 'accept' | 'refuse';
}

/**
 * Decides and records a verified launch. `verified.clientId` is the client id of the registration
 * the token was verified against — never one read from the token (`azp ?? aud[0]` let a token
 * name an unregistered client and set it on a course).
 */
export async function acceptLaunch(deps: LaunchDeps, rawClaims: Record<string, unknown>, verified: { clientId: string }): Promise<LaunchOutcome> {
  const parsed = ClaimsSchema.safeParse(rawClaims);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      failure: LAUNCH_FAILURES.invalidClaim(issue.path.join('.'), issue.message),
    };
  }
  const claims = parsed.data;
  const clientId = verified.clientId;
  const deploymentId = claims[CLAIM.deploymentId];
  const context = claims[CLAIM.context];
  if (!context) return { ok: false, failure: TOOL_FAILURES.noContext() };

  const roles = claims[CLAIM.roles];
  const role = toolRoleOf(roles);
  if (role === 'none') return { ok: false, failure: TOOL_FAILURES.noRole() };

  const now = deps.now();
  const refusal = await recordDeployment(deps, { issuer: claims.iss, clientId, deploymentId }, now);
  if (refusal) return { ok: false, failure: refusal };
  // Accepted: from here on we write. Upserts keyed on unique indexes make two simultaneous
  // first launches safe.
  const ags = claims[CLAIM.ags];
  const nrps = claims[CLAIM.nrps];
  const family = platformFamily(claims);
  const serviceUpdate: Record<string, unknown> = {};
  if (ags?.lineitems) {
    serviceUpdate['services.lineItemsUrl'] = ags.lineitems;
    serviceUpdate['services.agsScopes'] = ags.scope ?? [];
  }
  // Chamilo sends the NRPS claim only on teacher launches: keep the last one we saw.
  if (nrps) serviceUpdate['services.membershipsUrl'] = nrps.context_memberships_url;
  // the course's page in the LMS, for "start" links on My certifications (course-link.ts)
  const lmsUrl = courseLinkOf({ platformFamily: family, issuer: claims.iss, label: context.label, returnUrl: claims[CLAIM.launchPresentation]?.return_url });
  if (lmsUrl) serviceUpdate.lmsUrl = lmsUrl;
  // One course per issuer + client id + context id (course.model.ts says why): a launch under
  // another client id of the same issuer gets a course of its own, never this one's services.
  const identity = courseIdentity(claims.iss, clientId, context.id);
  const update = {
    $set: { title: context.title ?? context.label ?? context.id, label: context.label, platformFamily: family, ...serviceUpdate },
    $addToSet: { deploymentIds: deploymentId },
  };
  const course = await recordCourse(deps.conn, identity, update);

  // An unsubstituted `$User.username` (a platform that does not know the variable) is no username.
  const usernameOf = (c: Record<string, string>) => (c.username && !c.username.startsWith('$') ? c.username.trim().slice(0, 200) || undefined : undefined);
  const custom: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims[CLAIM.custom] ?? {})) if (v !== undefined && v !== null) custom[k] = String(v);
  const launch: Launch = {
    issuer: claims.iss,
    clientId,
    deploymentId,
    courseId: String(course!._id),
    context: { id: context.id, title: context.title, label: context.label },
    resourceLinkId: claims[CLAIM.resourceLink]?.id,
    user: { id: claims.sub, name: claims.name, givenName: claims.given_name, familyName: claims.family_name, email: claims.email, username: usernameOf(custom) },
    roles,
    role,
    locale: claims[CLAIM.launchPresentation]?.locale,
    messageType: claims[CLAIM.messageType],
    services: {
      lineItemsUrl: ags?.lineitems,
      lineItemUrl: ags?.lineitem,
      agsScopes: ags?.scope ?? [],
      membershipsUrl: nrps?.context_memberships_url,
    },
    custom,
    platformFamily: family,
  };
  const dl = claims[CLAIM.deepLinkingSettings];
  if (launch.messageType === 'LtiDeepLinkingRequest' && dl) {
    launch.deepLinking = {
      returnUrl: dl.deep_link_return_url,
      acceptTypes: dl.accept_types,
      acceptMultiple: !(dl.accept_multiple === false || dl.accept_multiple === 'false'),
      data: dl.data,
    };
  }
  const sessionToken = await createSession(deps.conn, launch, { now: deps.now });
  return { ok: true, launch, sessionToken };
}

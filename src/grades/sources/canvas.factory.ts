/**
 * When a course gets the Canvas REST source: a teacher of the course authorised the tool in Canvas
 * (OAuth2, ../canvas/canvas-oauth.service.ts). A course whose grant Canvas revoked, or whose
 * administrator removed the API key, gets a source that says so in every sync instead of
 * silently reading nothing.
 */
import { createCanvasHttp } from '../canvas/canvas-http';
import { CanvasGrantRevokedError, CanvasNotSetUpError } from '../canvas/canvas-errors';
import { canvasGrantModel, canvasUserModel } from '../canvas/canvas.model';
import { findCanvasGrant, findCanvasKey, grantTokenSource, markCanvasGrantRevoked, type CanvasDeps } from '../canvas/canvas-oauth.service';
import { createCanvasRestClient, type CanvasPacing, type CanvasRestOptions } from '../canvas/canvas-rest.client';
import { memberModel } from '../member.model';
import { checkPlatformUrl } from '../../lti/advantage/url-guard';
import { moodleUrlPolicy } from '../moodle/moodle-connection.service';
import type { GradeSource } from './grade-source';
import type { GradeSourceFactory } from './index';
import { createCanvasSource } from './canvas.source';

export interface CanvasFactoryDeps extends CanvasDeps {
  pacing?: CanvasPacing;
  onCall?: CanvasRestOptions['onCall'];
}

function unavailable(err: Error): GradeSource {
  const fail = async (): Promise<never> => {
    throw err;
  };
  return { kind: 'canvas', lineItems: fail, results: fail };
}

/** Marks the grant revoked as soon as Canvas refuses it, so the teacher page asks again. */
function watchRevocation(deps: CanvasDeps, courseId: Parameters<typeof markCanvasGrantRevoked>[1], source: GradeSource): GradeSource {
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CanvasGrantRevokedError) await markCanvasGrantRevoked(deps, courseId, err.detail);
      throw err;
    }
  };
  return {
    kind: source.kind,
    lineItems: (ctx) => guard(() => source.lineItems(ctx)),
    results: (ctx, req, sink) => guard(() => source.results(ctx, req, sink)),
  };
}

export function canvasSourceFactory(deps: CanvasFactoryDeps): GradeSourceFactory {
  return async (course) => {
    const grant = await findCanvasGrant(deps.conn, course._id);
    if (!grant) return null;
    const key = await findCanvasKey(deps.conn, grant.issuer);
    if (!key) return unavailable(new CanvasNotSetUpError());
    if (grant.status === 'revoked') return unavailable(new CanvasGrantRevokedError(grant.revokedReason ?? 'revoked'));
    let tokens;
    try {
      tokens = grantTokenSource(deps, grant, key);
    } catch (err) {
      if (err instanceof CanvasGrantRevokedError) return unavailable(err);
      throw err;
    }
    const policy = { ...moodleUrlPolicy(key.issuer, key.baseUrl), what: 'the Canvas API', lookup: deps.lookup };
    const client = createCanvasRestClient({ baseUrl: key.baseUrl, http: deps.http, tokens, pacing: deps.pacing, onCall: deps.onCall, checkUrl: async (u) => void (await checkPlatformUrl(u, policy)) });
    const issuer = grant.issuer;
    return watchRevocation(
      deps,
      course._id,
      createCanvasSource({
        client,
        canvasCourseId: grant.canvasCourseId,
        contextId: grant.contextId,
        onCourseId: async (id) => void (await canvasGrantModel(deps.conn).updateOne({ _id: grant._id }, { $set: { canvasCourseId: id } })),
        knownUsers: async () => new Map((await canvasUserModel(deps.conn).find({ issuer }, { canvasUserId: 1, sub: 1 }).lean()).map((u) => [u.canvasUserId, u.sub])),
        rosterSubs: async () => (await memberModel(deps.conn).find({ courseId: course._id, isLearner: true, status: { $ne: 'left' } }, { userId: 1 }).lean()).map((m) => m.userId),
        remember: async (pairs) => {
          if (!pairs.length) return;
          await canvasUserModel(deps.conn).bulkWrite(
            pairs.map((p) => ({ updateOne: { filter: { issuer, canvasUserId: p.canvasUserId }, update: { $set: { sub: p.sub }, $setOnInsert: { learnedFrom: 'api' as const } }, upsert: true } })),
            { ordered: false },
          );
        },
      }),
    );
  };
}

/** At each launch from Canvas: remember the custom `canvas_user_id` (= `$Canvas.user.id`) of the user. */
export async function rememberCanvasUser(conn: CanvasDeps['conn'], launch: { issuer: string; user: { id: string }; custom: Record<string, string>; platformFamily: string }): Promise<void> {
  const canvasUserId = launch.custom?.canvas_user_id;
  if (!canvasUserId || !/^\d{1,20}$/.test(canvasUserId)) return;
  await canvasUserModel(conn).updateOne(
    { issuer: launch.issuer, canvasUserId },
    { $set: { sub: launch.user.id, learnedFrom: 'launch' } },
    { upsert: true },
  );
}

export { createCanvasHttp };

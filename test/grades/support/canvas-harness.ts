/**
 * A Canvas-mode course of the sandbox read by the Canvas grade source outside the web app, for
 * the throttling tests and the benchmark: an API key in the sandbox's Canvas and in the tool, a
 * teacher's grant (a real token from the sandbox's Canvas, stored encrypted as the OAuth2 callback
 * stores it), every learner's Canvas id known (steady state after the first sync), and one fake
 * clock shared by the sandbox's leaky bucket and the client's waits, so throttling is exact and instant.
 */
import { Types, type Connection } from 'mongoose';
import { CANVAS_SCOPE_LIST, saveCanvasGrant, saveCanvasKey } from '../../../src/grades/canvas/canvas-oauth.service';
import { canvasUserModel } from '../../../src/grades/canvas/canvas.model';
import { createCanvasHttp } from '../../../src/grades/canvas/canvas-http';
import { canvasSourceFactory } from '../../../src/grades/sources/canvas.factory';
import type { GradeSource } from '../../../src/grades/sources/grade-source';
import { LeakyBuckets, type ThrottleSettings } from '../../../src/sandbox/canvas-site';
import type { CreatedCourse, Sandbox } from '../../../src/sandbox/sandbox';

export interface CanvasHarness {
  course: { _id: Types.ObjectId };
  source: () => Promise<GradeSource>;
  /** Simulated time spent waiting (client pacing + retries), ms. */
  waitedMs: () => number;
  calls: { total: number; throttled: number; byPath: Record<string, number> };
  resetCounts(): void;
  /** The teacher's access token (for direct calls in the benchmark). */
  accessToken: string;
  /** The client's HTTP layer and pacing, with the shared fake clock. */
  http: ReturnType<typeof createCanvasHttp>;
  sleep: (ms: number) => Promise<void>;
}

export async function canvasHarness(opts: {
  conn: Connection;
  sandbox: Sandbox;
  created: CreatedCourse;
  ltiKey?: string;
  throttle?: Partial<ThrottleSettings>;
  /** The client's low-water mark (0: never slow down, only retry after 403). */
  lowWater?: number;
}): Promise<CanvasHarness> {
  const { sandbox, created, conn } = opts;
  const ltiKey = opts.ltiKey ?? 'canvas-harness-lti-key-0123456789abcdef';
  let clock = 0;
  let waited = 0;
  const sleep = async (ms: number) => {
    clock += ms;
    waited += ms;
  };
  sandbox.canvas.throttle = new LeakyBuckets({ ...sandbox.canvas.throttle.settings, ...opts.throttle }, () => clock);
  const key = sandbox.canvas.addApiKey({ name: 'harness', redirectUris: ['http://tool.invalid/canvas/oauth/callback'], scopes: [...CANVAS_SCOPE_LIST] });
  const now = () => new Date();
  await saveCanvasKey({ conn, ltiKey, now }, { issuer: sandbox.issuer, clientId: key.clientId, clientSecret: key.secret });
  const teacher = created.teacherIds[0]!;
  const token = sandbox.canvas.issueToken(key.clientId, teacher, [...CANVAS_SCOPE_LIST]);
  const course = { _id: new Types.ObjectId() };
  await saveCanvasGrant({ conn, ltiKey, now }, { courseId: course._id, issuer: sandbox.issuer, contextId: created.course.opaqueContextId, canvasCourseId: created.course.id, accessToken: token.token, refreshToken: token.refreshToken, expiresInSeconds: 3600, by: { userId: 'bench-teacher' } });
  await canvasUserModel(conn).bulkWrite(
    created.learnerIds.map((id) => ({ updateOne: { filter: { issuer: sandbox.issuer, canvasUserId: id }, update: { $set: { sub: sandbox.store.getUser(id)!.ltiId, learnedFrom: 'launch' as const } }, upsert: true } })),
  );
  const calls = { total: 0, throttled: 0, byPath: {} as Record<string, number> };
  const http = createCanvasHttp({
      sleep,
      random: () => 0.5,
      // Every HTTP answer, retried ones included (the retry policy hides Canvas's 403s from the client).
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        calls.total++;
        if (res.status === 403) calls.throttled++;
        return res;
      },
    });
  const factory = canvasSourceFactory({
    conn,
    ltiKey,
    now,
    http,
    pacing: { sleep, ...(opts.lowWater !== undefined ? { lowWater: opts.lowWater } : {}) },
    onCall: (url) => {
      const path = new URL(url).pathname.replace(/^.*\/api\/v1\/courses\/[^/]+/, '').replace(/\/lti_1_3_id:.*$/, '/:id') || '/';
      calls.byPath[path] = (calls.byPath[path] ?? 0) + 1;
    },
  });
  return {
    course,
    source: async () => (await factory({ _id: course._id, issuer: sandbox.issuer, clientId: 'x', platformFamily: 'canvas', services: {} } as never))!,
    waitedMs: () => waited,
    calls,
    accessToken: token.token,
    http,
    sleep,
    resetCounts() {
      calls.total = 0;
      calls.throttled = 0;
      calls.byPath = {};
      waited = 0;
    },
  };
}

/**
 * Canvas mode's OAuth2 provider and the slice of Canvas's REST API the tool reads, answering as
 * Canvas does (instructure/canvas-lms; each handler cites its source):
 *
 *   GET  /login/oauth2/auth           oauth2_provider_controller.rb#auth → the "Authorize" page
 *   POST /login/oauth2/confirm        #accept / #deny → redirect_uri?code&state | ?error=access_denied&state
 *   POST /login/oauth2/token          #token: authorization_code, refresh_token (lib/canvas/oauth/grant_types/)
 *   DELETE /login/oauth2/token        #destroy
 *   GET  /api/v1/courses/:id                                    courses_controller.rb#show
 *   GET  /api/v1/courses/:course_id/assignment_groups           assignment_groups_controller.rb#index
 *   GET  /api/v1/courses/:course_id/assignments                 assignments_api_controller.rb#index
 *   GET  /api/v1/courses/:course_id/enrollments                 enrollments_api_controller.rb#index (grades)
 *   GET  /api/v1/courses/:course_id/students/submissions        submissions_api_controller.rb#for_students (grouped)
 *   GET  /api/v1/courses/:course_id/users/:id                   courses_controller.rb#user (lti_1_3_id: ids)
 *
 * Every API request: Bearer token (401 "Invalid access token." + `WWW-Authenticate: Bearer
 * realm="canvas-lms"`), the token's scopes when its key enforces them (401 "Insufficient scopes on
 * access token."), the user's rights in the course (401 "user not authorized to perform that
 * action"), the leaky-bucket throttle (403 "403 Forbidden (Rate Limit Exceeded)", X-Request-Cost,
 * X-Rate-Limit-Remaining; app/middleware/request_throttle.rb), and paging (lib/api.rb: per_page
 * default 10, at most 100; Link header with current/next/prev/first/last).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { SandboxContext } from './context';
import { CanvasSite, type CanvasAccessToken, type CanvasCourseSetup } from './canvas-site';
import { esc, renderPage } from './html';
import { ROLE } from './lti-vocabulary';
import type { SandboxCourse, SandboxLineItem } from './sandbox.store';

const API_DEFAULT_PER_PAGE = 10;
const API_MAX_PER_PAGE = 100;

const CANVAS_SCOPE = {
  course: 'url:GET|/api/v1/courses/:id',
  assignmentGroups: 'url:GET|/api/v1/courses/:course_id/assignment_groups',
  assignments: 'url:GET|/api/v1/courses/:course_id/assignments',
  enrollments: 'url:GET|/api/v1/courses/:course_id/enrollments',
  submissions: 'url:GET|/api/v1/courses/:course_id/students/submissions',
  courseUser: 'url:GET|/api/v1/courses/:course_id/users/:id',
} as const;

interface ApiLocals {
  token: CanvasAccessToken;
  course: SandboxCourse;
  setup: CanvasCourseSetup;
  records: number;
}

const apiErrors = (res: Response, status: number, message: string, extra: Record<string, unknown> = {}) => void res.status(status).json({ ...extra, errors: [{ message }] });

/** Canvas's Api.paginate: `page` + `per_page`, the Link header with its five relations. */
function paginate<T>(req: Request, res: Response, site: CanvasSite, all: T[]): T[] {
  const asked = Number.parseInt(String(req.query.per_page ?? ''), 10);
  const perPage = Math.min(API_MAX_PER_PAGE, Number.isFinite(asked) && asked > 0 ? asked : API_DEFAULT_PER_PAGE);
  const pageNo = Math.max(1, Number.parseInt(String(req.query.page ?? '1'), 10) || 1);
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const self = new URL(`${req.protocol}://${req.get('host')}${req.baseUrl}${req.path}`);
  const urlAt = (n: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) {
      if (k === 'page' || k === 'per_page') continue;
      for (const one of Array.isArray(v) ? v : [v]) if (typeof one === 'string') q.append(k, one);
    }
    q.set('page', String(n));
    q.set('per_page', String(perPage));
    return `${self.origin}${self.pathname}?${q.toString().replace(/%5B%5D/g, '[]')}`;
  };
  const rel: string[] = [`<${urlAt(pageNo)}>; rel="current"`];
  if (pageNo < last) rel.push(`<${urlAt(site.pagingLoop ? pageNo : pageNo + 1)}>; rel="next"`);
  if (pageNo > 1) rel.push(`<${urlAt(pageNo - 1)}>; rel="prev"`);
  rel.push(`<${urlAt(1)}>; rel="first"`, `<${urlAt(last)}>; rel="last"`);
  res.set('Link', rel.join(','));
  return all.slice((pageNo - 1) * perPage, pageNo * perPage);
}

const isAssignment = (li: SandboxLineItem) => li.module !== 'lti' || li.clientId === undefined;

export function canvasRestRoutes(ctx: SandboxContext, site: CanvasSite): express.Router {
  const router = express.Router();
  const { store } = ctx;

  /** The course's assignments: its gradebook columns (the tool's own AGS line items are assignments too). */
  const assignmentsOf = (course: SandboxCourse) => store.listLineItems(course.id).filter(isAssignment);

  // ---- OAuth2 --------------------------------------------------------------------------------

  router.get('/login/oauth2/auth', (req, res) => {
    const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : '');
    const key = site.keys.get(q('client_id'));
    // Canvas::OAuth::RequestError: unknown/inactive key → 401 JSON; redirect not on the key → 400 JSON.
    if (!key || !key.active) {
      res.set('WWW-Authenticate', 'Canvas OAuth 2.0');
      return void res.status(401).json({ error: 'invalid_client', error_description: 'unknown client' });
    }
    const redirectUri = q('redirect_uri');
    const domainOk = key.redirectUris.some((u) => {
      try {
        const a = new URL(u);
        const b = new URL(redirectUri);
        return b.hostname === a.hostname || b.hostname.endsWith(`.${a.hostname}`);
      } catch {
        return false;
      }
    });
    if (!domainOk) return void res.status(400).json({ error: 'invalid_request', error_description: 'redirect_uri does not match client settings' });
    const scopes = q('scope').split(/\s+/).filter(Boolean);
    const back = (params: Record<string, string>) => `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
    if (key.scopes && (scopes.length === 0 || scopes.some((s) => !key.scopes!.includes(s)))) {
      // Canvas::OAuth::InvalidScopeError (provider.valid_scopes?) → redirect with invalid_scope.
      const missing = scopes.filter((s) => !key.scopes!.includes(s));
      return void res.redirect(302, back({ error: 'invalid_scope', error_description: `A requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner. The following scopes were requested, but not granted: ${missing.join(', ')}`, ...(q('state') ? { state: q('state') } : {}) }));
    }
    if (q('response_type') !== 'code') return void res.redirect(302, back({ error: 'unsupported_response_type', error_description: 'Only response_type=code is permitted', ...(q('state') ? { state: q('state') } : {}) }));
    // Who is "logged in": the sandbox has no login, so the page lets one pick a person.
    const people = new Map<string, string>();
    for (const c of store.listCourses()) if (c.quirks === 'canvas') for (const m of store.listMembers(c.id)) people.set(m.id, `${m.name} (${m.roles.some((r) => r === ROLE.instructor) ? 'teacher' : 'student'} in ${c.title})`);
    const hidden = { client_id: key.clientId, redirect_uri: redirectUri, state: q('state'), scope: scopes.join(' ') };
    const body = `<h1>${esc(key.name)} is requesting access to your account.</h1>
<div class="card"><p>The app is requesting access to ${scopes.length ? `${scopes.length} endpoints: <code>${scopes.map(esc).join('</code>, <code>')}</code>` : 'your whole account'}.</p>
<form method="post" action="${esc(ctx.baseUrl)}/login/oauth2/confirm">${Object.entries(hidden).map(([n, v]) => `<input type="hidden" name="${n}" value="${esc(v)}">`).join('')}
<label>Logged in as <select name="user_id">${[...people].map(([id, label]) => `<option value="${esc(id)}">${esc(label)}</option>`).join('')}</select></label>
<p><button class="primary" name="decision" value="accept" type="submit">Authorize</button> <button name="decision" value="deny" type="submit">Cancel</button></p></form></div>`;
    res.type('html').send(renderPage('Authorize', body, { homeUrl: `${ctx.baseUrl}/`, subtitle: 'Canvas mode' }));
  });

  router.post('/login/oauth2/confirm', express.urlencoded({ extended: false }), (req, res) => {
    const b = req.body as Record<string, string>;
    const key = site.keys.get(b.client_id ?? '');
    if (!key) return void res.status(400).type('text/plain').send('Invalid or missing session for oauth');
    const redirectUri = b.redirect_uri ?? '';
    const back = (params: Record<string, string>) => `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${new URLSearchParams(params).toString()}`;
    const state: Record<string, string> = b.state ? { state: b.state } : {};
    if (b.decision !== 'accept') return void res.redirect(302, back({ error: 'access_denied', ...state }));
    const user = store.getUser(b.user_id ?? '');
    if (!user) return void res.status(400).type('text/plain').send('Invalid or missing session for oauth');
    const code = site.issueCode(key.clientId, user.id, (b.scope ?? '').split(/\s+/).filter(Boolean), redirectUri);
    res.redirect(302, back({ code, ...state }));
  });

  router.post('/login/oauth2/token', express.urlencoded({ extended: false }), express.json(), (req, res, next) => {
    const b = (req.body ?? {}) as Record<string, string>;
    // LTI Advantage tokens come from the same endpoint (Canvas::OAuth::GrantTypes::ClientCredentials):
    // the sandbox's /token implements that grant for every mode.
    if (b.grant_type === 'client_credentials') {
      req.url = '/token';
      return next();
    }
    const oauthError = (status: number, error: string, description: string) => {
      if (status === 401) res.set('WWW-Authenticate', 'Canvas OAuth 2.0');
      res.status(status).json({ error, error_description: description });
    };
    const key = site.keys.get(b.client_id ?? '');
    if (b.grant_type !== 'authorization_code' && b.grant_type !== 'refresh_token') return oauthError(400, 'unsupported_grant_type', 'The grant_type you requested is not currently supported');
    if (!key || !key.active) return oauthError(401, 'invalid_client', 'unknown client');
    if (key.secret !== b.client_secret) return oauthError(401, 'invalid_client', 'invalid client');
    if (b.grant_type === 'authorization_code') {
      if (!b.code) return oauthError(400, 'invalid_request', 'You must provide the code parameter when using the authorization_code grant type');
      const code = site.redeemCode(b.code);
      if (!code) return oauthError(400, 'invalid_grant', 'authorization_code not found');
      if (code.clientId !== key.clientId) return oauthError(400, 'invalid_grant', 'incorrect client');
      const t = site.issueToken(key.clientId, code.userId, code.scopes);
      const user = store.getUser(code.userId)!;
      return void res.json({ access_token: t.token, token_type: 'Bearer', user: { id: Number(user.id), name: user.name, global_id: user.id, effective_locale: 'en' }, refresh_token: t.refreshToken, expires_in: site.tokenLifetimeSeconds });
    }
    if (!b.refresh_token) return oauthError(400, 'invalid_request', 'You must provide the refresh_token parameter when using the refresh_token grant type');
    const grant = site.lookupRefresh(b.refresh_token);
    if (!grant || grant.clientId !== key.clientId) return oauthError(400, 'invalid_request', 'refresh_token not found');
    const t = site.issueToken(key.clientId, grant.userId, grant.scopes, grant.refreshToken);
    const user = store.getUser(grant.userId)!;
    res.json({ access_token: t.token, token_type: 'Bearer', user: { id: Number(user.id), name: user.name, global_id: user.id, effective_locale: 'en' }, expires_in: site.tokenLifetimeSeconds });
  });

  router.delete('/login/oauth2/token', (req, res) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const t = m ? site.lookupToken(m[1]!) : undefined;
    if (!t) return void res.status(400).json({ message: "can't delete OAuth access token when not using an OAuth access token" });
    site.revokeGrant(t);
    res.json({});
  });

  // ---- the API -------------------------------------------------------------------------------

  /** Token, throttle, scope, course and the user's rights, in Canvas's order. */
  const api = (scope: string, opts: { teacherOnly?: boolean } = { teacherOnly: true }) =>
    (req: Request, res: Response, next: NextFunction) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
      const token = m ? site.lookupToken(m[1]!) : undefined;
      if (!token) {
        res.set('WWW-Authenticate', 'Bearer realm="canvas-lms"');
        return apiErrors(res, 401, 'Invalid access token.');
      }
      const bucketKey = `token:${token.token}`;
      if (!site.throttle.reserve(bucketKey)) {
        res.set({ 'Content-Type': 'text/plain; charset=utf-8', 'X-Rate-Limit-Remaining': '0.0' });
        return void res.status(403).send('403 Forbidden (Rate Limit Exceeded)\n');
      }
      const locals = res.locals as ApiLocals;
      locals.records = 0;
      // Costs are settled before the body goes out, so the headers carry them (Canvas sets them after the app ran).
      const send = res.send.bind(res);
      res.send = (body?: unknown) => {
        const cost = site.throttle.settings.baseCost + site.throttle.settings.costPerRecord * locals.records;
        const remaining = site.throttle.settle(bucketKey, cost);
        res.set({ 'X-Request-Cost': cost.toFixed(6), 'X-Rate-Limit-Remaining': remaining.toFixed(6) });
        if (site.htmlAnswers > 0 && res.statusCode === 200) {
          site.htmlAnswers--;
          res.type('html');
          return send('<!DOCTYPE html><html><head><title>Log In to Canvas</title></head><body><form action="/login/canvas">Log in</form></body></html>');
        }
        return send(body as never);
      };
      if (site.keys.get(token.clientId)?.scopes && !token.scopes.includes(scope)) return apiErrors(res, 401, 'Insufficient scopes on access token.');
      const idParam = String(req.params.course_id ?? req.params.id ?? '');
      const course = idParam.startsWith('lti_context_id:')
        ? store.listCourses().find((c) => c.quirks === 'canvas' && c.opaqueContextId === decodeURIComponent(idParam.slice('lti_context_id:'.length)))
        : store.getCourse(idParam);
      if (!course || course.quirks !== 'canvas') return apiErrors(res, 404, 'The specified resource does not exist.');
      const membership = store.getMembership(course.id, token.userId);
      const teaches = membership?.roles.some((r) => r === ROLE.instructor || r.endsWith('#Instructor') || r.endsWith('#TeachingAssistant'));
      if (!membership || (opts.teacherOnly && !teaches)) return apiErrors(res, 401, 'user not authorized to perform that action', { status: 'unauthorized' });
      locals.token = token;
      locals.course = course;
      locals.setup = site.course(course.id);
      next();
    };
  const L = (res: Response) => res.locals as ApiLocals;

  router.get('/api/v1/courses/:id', api(CANVAS_SCOPE.course, { teacherOnly: false }), (_req, res) => {
    const { course, setup } = L(res);
    res.json({ id: Number(course.id), name: course.title, course_code: course.label, workflow_state: 'available', apply_assignment_group_weights: setup.applyWeights, lti_context_id: course.opaqueContextId, default_view: 'modules' });
  });

  router.get('/api/v1/courses/:course_id/assignment_groups', api(CANVAS_SCOPE.assignmentGroups), (req, res) => {
    const { setup } = L(res);
    const page = paginate(req, res, site, setup.groups);
    L(res).records = page.length;
    res.json(page.map((g, i) => ({ id: g.id, name: g.name, position: i + 1, group_weight: g.weight, sis_source_id: null, integration_data: {}, rules: g.rules ?? {} })));
  });

  router.get('/api/v1/courses/:course_id/assignments', api(CANVAS_SCOPE.assignments), (req, res) => {
    const { course, setup } = L(res);
    const page = paginate(req, res, site, assignmentsOf(course));
    L(res).records = page.length;
    res.json(
      page.map((li, i) => ({
        id: Number(li.id),
        name: li.label,
        points_possible: li.scoreMaximum,
        assignment_group_id: site.groupIdOf(course.id, li.id),
        position: i + 1,
        published: !setup.unpublished.has(li.id),
        omit_from_final_grade: false,
        grading_type: 'points',
        submission_types: li.module === 'lti' ? ['external_tool'] : li.module === 'quiz' ? ['online_quiz'] : ['online_upload'],
        due_at: li.endDateTime ?? null,
        unlock_at: li.startDateTime ?? null,
        course_id: Number(course.id),
      })),
    );
  });

  /** One student's submission of one assignment, as Api::V1::Submission renders it. */
  const submissionOf = (course: SandboxCourse, li: SandboxLineItem, userId: string) => {
    const r = store.getResult(course.id, li.id, userId);
    const st = site.submissionState(li.id, userId);
    const score = r ? Math.max(0, (r.scoreGiven / r.scoreMaximum) * li.scoreMaximum - (st.pointsDeducted ?? 0)) : null;
    const graded = r !== undefined && !st.excused;
    return {
      id: Number(`${li.id}${userId}`),
      assignment_id: Number(li.id),
      user_id: Number(userId),
      score: st.excused ? null : score,
      entered_score: r ? (r.scoreGiven / r.scoreMaximum) * li.scoreMaximum : null,
      grade: score === null || st.excused ? null : String(score),
      workflow_state: graded ? 'graded' : 'unsubmitted',
      excused: st.excused ?? false,
      missing: st.missing ?? false,
      late: st.late ?? false,
      points_deducted: st.pointsDeducted ?? null,
      graded_at: r ? r.timestamp : null,
      posted_at: r && st.posted !== false ? r.timestamp : null,
    };
  };

  const students = (course: SandboxCourse) => store.listMembers(course.id).filter((m) => m.roles.some((r) => r === ROLE.learner || r.endsWith('#Learner') || r.endsWith('#Student')) && !m.roles.includes(ROLE.instructor));

  router.get('/api/v1/courses/:course_id/students/submissions', api(CANVAS_SCOPE.submissions), (req, res) => {
    const { course } = L(res);
    const ids = ([] as unknown[]).concat(req.query['student_ids'] ?? req.query['student_ids[]'] ?? []).map(String);
    if (ids.length === 0) return apiErrors(res, 400, 'student_ids is required');
    const all = students(course).filter((s) => ids.includes('all') || ids.includes(s.id));
    const items = assignmentsOf(course);
    const grouped = req.query.grouped !== undefined && req.query.grouped !== 'false' && req.query.grouped !== '0';
    if (grouped) {
      // for_students with grouped: the students are paginated, each with every submission.
      const page = paginate(req, res, site, all);
      L(res).records = page.length * items.length;
      return void res.json(page.map((s) => ({ user_id: Number(s.id), section_id: Number(course.id), integration_id: null, sis_user_id: null, submissions: items.map((li) => submissionOf(course, li, s.id)) })));
    }
    // The flat list is every (student, assignment) pair in order; only the page asked for is built.
    const pairs = Array.from({ length: all.length * items.length }, (_, i) => i);
    const page = paginate(req, res, site, pairs).map((i) => submissionOf(course, items[i % items.length]!, all[Math.floor(i / items.length)]!.id));
    L(res).records = page.length;
    res.json(page);
  });

  router.get('/api/v1/courses/:course_id/enrollments', api(CANVAS_SCOPE.enrollments), (req, res) => {
    const { course, setup } = L(res);
    const types = ([] as unknown[]).concat(req.query['type'] ?? req.query['type[]'] ?? []).map(String);
    const userId = typeof req.query.user_id === 'string' ? req.query.user_id : undefined;
    const people = store
      .listMembers(course.id)
      .filter((m) => m.status === 'Active')
      .filter((m) => !userId || m.id === userId)
      .map((m) => ({ m, type: m.roles.includes(ROLE.instructor) ? 'TeacherEnrollment' : 'StudentEnrollment' }))
      .filter((e) => types.length === 0 || types.includes(e.type));
    const page = paginate(req, res, site, people);
    L(res).records = page.length;
    res.json(
      page.map(({ m, type }) => ({
        id: Number(`9${m.id}`),
        user_id: Number(m.id),
        course_id: Number(course.id),
        type,
        role: type,
        enrollment_state: 'active',
        ...(type === 'StudentEnrollment' ? { grades: scoresOf(course, setup, m.id) } : {}),
        user: { id: Number(m.id), name: m.name, sortable_name: `${m.familyName}, ${m.givenName}`, short_name: m.name },
      })),
    );
  });

  router.get('/api/v1/courses/:course_id/users/:id', api(CANVAS_SCOPE.courseUser), (req, res) => {
    const { course } = L(res);
    const raw = decodeURIComponent(String(req.params.id));
    // lib/api.rb sis_parse_id: lti_1_3_id → users.lti_id (the LTI 1.3 sub), plain digits → users.id.
    const user = raw.startsWith('lti_1_3_id:') ? store.getUser(raw.slice('lti_1_3_id:'.length)) : /^\d+$/.test(raw) ? store.getUser(raw) : undefined;
    if (!user || !store.getMembership(course.id, user.id) || (raw.startsWith('lti_1_3_id:') && user.ltiId !== raw.slice(11))) return apiErrors(res, 404, 'The specified resource does not exist.');
    res.json({ id: Number(user.id), name: user.name, sortable_name: `${user.familyName}, ${user.givenName}`, short_name: user.name, created_at: '2024-08-01T00:00:00Z' });
  });

  /** lib/grade_calculator.rb, reduced to what the sandbox models: groups, weights, drop rules. */
  function scoresOf(course: SandboxCourse, setup: CanvasCourseSetup, userId: string) {
    const items = assignmentsOf(course).filter((li) => !setup.unpublished.has(li.id));
    const calc = (postedOnly: boolean, finalScore: boolean) => {
      const groups = setup.groups.map((g) => {
        const rows = items
          .filter((li) => site.groupIdOf(course.id, li.id) === g.id)
          .map((li) => ({ li, s: submissionOf(course, li, userId) }))
          .filter(({ s }) => !s.excused)
          .filter(({ s }) => finalScore || (s.score !== null && (!postedOnly || s.posted_at !== null)))
          .map(({ li, s }) => ({ id: Number(li.id), earned: s.score !== null && (!postedOnly || s.posted_at !== null) ? s.score : 0, possible: li.scoreMaximum }));
        let kept = rows;
        const never = new Set(g.rules?.never_drop ?? []);
        const pct = (x: { earned: number; possible: number }) => (x.possible > 0 ? x.earned / x.possible : Infinity);
        for (let i = 0; i < (g.rules?.drop_lowest ?? 0) && kept.length > 1; i++) {
          const d = kept.filter((x) => !never.has(x.id)).sort((a, b) => pct(a) - pct(b))[0];
          if (d) kept = kept.filter((x) => x !== d);
        }
        for (let i = 0; i < (g.rules?.drop_highest ?? 0) && kept.length > 1; i++) {
          const d = kept.filter((x) => !never.has(x.id)).sort((a, b) => pct(a) - pct(b)).at(-1);
          if (d) kept = kept.filter((x) => x !== d);
        }
        return { weight: g.weight, earned: kept.reduce((s, x) => s + x.earned, 0), possible: kept.reduce((s, x) => s + x.possible, 0) };
      });
      if (setup.applyWeights) {
        const relevant = groups.filter((g) => g.possible > 0);
        const full = relevant.reduce((s, g) => s + g.weight, 0);
        if (relevant.length === 0 || full === 0) return null;
        const total = relevant.reduce((s, g) => s + (g.earned / g.possible) * g.weight, 0);
        return Math.round((full < 100 ? (total * 100) / full : total) * 100) / 100;
      }
      const earned = groups.reduce((s, g) => s + g.earned, 0);
      const possible = groups.reduce((s, g) => s + g.possible, 0);
      return possible > 0 ? Math.round((earned / possible) * 10000) / 100 : null;
    };
    return {
      html_url: `${ctx.baseUrl}/courses/${course.id}/grades/${userId}`,
      current_score: calc(true, false),
      final_score: calc(true, true),
      current_grade: null,
      final_grade: null,
      // Api::V1::Enrollment: the unposted scores only for a caller who may manage grades.
      unposted_current_score: calc(false, false),
      unposted_final_score: calc(false, true),
    };
  }

  return router;
}

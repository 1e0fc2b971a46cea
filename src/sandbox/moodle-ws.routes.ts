/**
 * Moodle 4.5's REST web service, for the sandbox's courses in Moodle mode: the same URL
 * (`/webservice/rest/server.php`), parameters, JSON and error answers as a real Moodle, for the
 * three functions the tool uses. Checked in the order Moodle checks (webservice/lib.php
 * `webservice_base_server::run`): protocol enabled → token → user → `webservice/rest:use` →
 * function exists → function in the token's service → the function's own checks.
 *
 * Sources (Moodle 4.5.6):
 * - webservice/rest/server.php: REST off → `403` with an empty body;
 * - webservice/rest/locallib.php: `$_GET` and `$_POST` merged; `moodlewsrestformat`; errors as
 *   HTTP 200 `{"exception","errorcode","message"}` (`generate_error`);
 * - webservice/lib.php: `invalidtoken`, `wsaccessusersuspended`, `accessexception` ("Access control
 *   exception") for a function outside the service or a user without webservice/rest:use;
 * - lib/external/classes/external_api.php: an unknown function is `dml_missing_record_exception`
 *   `invalidrecord` on table external_functions; `validate_context` → require_login
 *   (`requireloginerror` without moodle/course:view or an enrolment);
 * - grade/report/user/classes/external/user.php: `gradereport/user:view`, and `moodle/grade:viewall`
 *   when userid=0; one entry per graded user (gradebook roles, active enrolments only), sorted by
 *   last name then first name (grade/lib.php `graded_users_iterator`); no paging;
 * - enrol/externallib.php `get_enrolled_users`: options `userfields`, `limitfrom`, `limitnumber`,
 *   ordered by user id; moodle/course:viewparticipants (course/lib.php
 *   `course_require_view_participants`); `username` only with moodle/user:viewalldetails (user/lib.php);
 * - completion/classes/external.php `get_course_completion_status`: `cannotviewreport` when
 *   completion is off or report/completion:view is missing, `usernotenroled`, `nocriteriaset`.
 * Exception class names are those `get_class()` gives in 4.5 (lib/classes/exception/*: namespaced,
 * with the old names as aliases).
 */
import express, { type Request, type Response } from 'express';
import type { SandboxContext } from './context';
import { esc, renderPage } from './html';
import { principalRole } from './lti-vocabulary';
import { storeGradebook, userGradeItems, type GradebookReader } from './moodle-ws.gradebook';
import { MoodleWsSite, SANDBOX_WS_CAPABILITIES, SANDBOX_WS_FUNCTIONS, type SandboxWsToken } from './moodle-ws.site';
import type { SandboxCourse, SandboxMember } from './sandbox.store';

/** A Moodle exception as the REST server serialises it. */
class WsException extends Error {
  constructor(
    readonly exception: string,
    readonly errorcode: string,
    message: string,
  ) {
    super(message);
  }
}

const moodleException = (errorcode: string, message: string) => new WsException('core\\exception\\moodle_exception', errorcode, message);
const accessException = () => new WsException('webservice_access_exception', 'accessexception', 'Access control exception');
const invalidParameter = () => new WsException('core\\exception\\invalid_parameter_exception', 'invalidparameter', 'Invalid parameter value detected');
const missingRecord = (table: string) => new WsException('dml_missing_record_exception', 'invalidrecord', `Can't find data record in database table ${table}.`);
/** required_capability_exception names the capability by its human string (get_capability_string). */
const noPermission = (capability: string) =>
  new WsException('core\\exception\\required_capability_exception', 'nopermissions', `Sorry, but you do not currently have permissions to do that (${SANDBOX_WS_CAPABILITIES[capability] ?? capability}).`);

/** Moodle's role for an LTI role: mod/lti/locallib.php maps student → Learner, (editing)teacher → Instructor. */
function moodleRoles(member: SandboxMember): { roleid: number; name: string; shortname: string; sortorder: number }[] {
  return member.roles.map((r) => {
    const principal = principalRole(r);
    if (principal === 'Learner') return { roleid: 5, name: '', shortname: 'student', sortorder: 0 };
    if (principal === 'Instructor') return { roleid: 3, name: '', shortname: 'editingteacher', sortorder: 0 };
    return { roleid: 1, name: '', shortname: 'manager', sortorder: 0 };
  });
}

const isLearner = (m: SandboxMember) => m.roles.some((r) => principalRole(r) === 'Learner');

/** PARAM_INT as external_api::validate_parameters reads it. */
function intParam(value: unknown, required: boolean, fallback = 0): number {
  if (value === undefined || value === '') {
    if (required) throw invalidParameter();
    return fallback;
  }
  if (typeof value !== 'string' || !/^-?\d+$/.test(value.trim())) throw invalidParameter();
  return Number(value);
}

export interface MoodleWsRoutes {
  router: express.Router;
  site: MoodleWsSite;
}

export function moodleWsRoutes(ctx: SandboxContext, gradebook: GradebookReader = storeGradebook(ctx.store)): MoodleWsRoutes {
  const site = new MoodleWsSite(ctx.now);
  const router = express.Router();
  const adminUrl = `${ctx.baseUrl}/admin/webservices`;

  /** A course of this "Moodle": sandbox courses in another platform's mode are not Moodle courses. */
  function requireCourse(courseId: number): SandboxCourse {
    const course = ctx.store.getCourse(String(courseId));
    if (!course || course.quirks !== 'moodle') throw missingRecord('course');
    return course;
  }

  /** One participant, without listing the whole course (2,000 learners × one call each). */
  function memberOf(courseId: string, userId: string): SandboxMember | undefined {
    const membership = ctx.store.getMembership(courseId, userId);
    const user = ctx.store.getUser(userId);
    return membership && user ? { ...user, roles: [...membership.roles], status: membership.status } : undefined;
  }

  function requireCap(token: SandboxWsToken, capability: string): void {
    if (!token.capabilities.has(capability)) throw noPermission(capability);
  }

  /** external_api::validate_context → require_login($course): the ws user is not enrolled, so it needs moodle/course:view. */
  function enterCourse(token: SandboxWsToken, courseId: number): SandboxCourse {
    const course = requireCourse(courseId);
    if (!token.capabilities.has('moodle/course:view')) throw moodleException('requireloginerror', 'Course or activity not accessible.');
    return course;
  }

  const functions: Record<string, (token: SandboxWsToken, p: Record<string, unknown>) => unknown> = {
    gradereport_user_get_grade_items(token, p) {
      const courseId = intParam(p.courseid, true);
      const userId = intParam(p.userid, false);
      intParam(p.groupid, false);
      const course = enterCourse(token, courseId);
      requireCap(token, 'gradereport/user:view');
      if (userId === 0) requireCap(token, 'moodle/grade:viewall');
      let users: SandboxMember[];
      if (userId !== 0) {
        const user = ctx.store.getUser(String(userId));
        if (!user) throw new WsException('dml_missing_record_exception', 'invaliduser', 'Invalid user');
        requireCap(token, 'moodle/grade:viewall');
        const m = memberOf(course.id, user.id);
        users = m ? [m] : [];
      } else {
        users = ctx.store
          .listMembers(course.id)
          .filter((m) => isLearner(m) && m.status === 'Active')
          .sort((a, b) => a.familyName.localeCompare(b.familyName) || a.givenName.localeCompare(b.givenName) || Number(a.id) - Number(b.id));
      }
      const canViewHidden = token.capabilities.has('moodle/grade:viewhidden');
      return {
        usergrades: users.map((m) => ({
          courseid: courseId,
          courseidnumber: course.sourcedId,
          userid: Number(m.id),
          userfullname: m.name,
          useridnumber: m.sourcedId,
          maxdepth: 2,
          gradeitems: userGradeItems(gradebook, course.id, m.id, { canViewHidden }),
        })),
        warnings: [],
      };
    },

    core_enrol_get_enrolled_users(token, p) {
      const courseId = intParam(p.courseid, true);
      const options = Array.isArray(p.options) ? (p.options as { name?: unknown; value?: unknown }[]) : [];
      let limitFrom = 0;
      let limitNumber = 0;
      let fields: string[] | undefined;
      for (const o of options) {
        if (typeof o?.name !== 'string') throw invalidParameter();
        const value = typeof o.value === 'string' ? o.value : '';
        if (o.name === 'limitfrom') limitFrom = Number.parseInt(value, 10) || 0;
        if (o.name === 'limitnumber') limitNumber = Number.parseInt(value, 10) || 0;
        if (o.name === 'userfields') fields = value.split(',').map((f) => f.trim());
      }
      const course = enterCourse(token, courseId);
      if (!token.capabilities.has('moodle/course:viewparticipants')) throw noPermission('moodle/course:viewparticipants');
      const all = ctx.store.listMembers(course.id).sort((a, b) => Number(a.id) - Number(b.id));
      const page = limitNumber > 0 ? all.slice(limitFrom, limitFrom + limitNumber) : all.slice(limitFrom);
      const want = (f: string) => !fields || fields.includes(f);
      const viewAllDetails = token.capabilities.has('moodle/user:viewalldetails');
      return page.map((m) => ({
        id: Number(m.id),
        ...(want('username') && viewAllDetails ? { username: m.username } : {}),
        ...(want('firstname') ? { firstname: m.givenName } : {}),
        ...(want('lastname') ? { lastname: m.familyName } : {}),
        fullname: m.name,
        ...(want('email') ? { email: m.email } : {}),
        ...(want('idnumber') && viewAllDetails ? { idnumber: m.sourcedId } : {}),
        ...(want('roles') ? { roles: moodleRoles(m) } : {}),
      }));
    },

    core_completion_get_course_completion_status(token, p) {
      const courseId = intParam(p.courseid, true);
      const userId = intParam(p.userid, true);
      const course = requireCourse(courseId);
      const user = ctx.store.getUser(String(userId));
      if (!user) throw new WsException('dml_missing_record_exception', 'invaliduser', 'Invalid user');
      enterCourse(token, courseId);
      const setting = site.getCompletion(course.id);
      if (!setting.enabled || !token.capabilities.has('report/completion:view')) throw moodleException('cannotviewreport', 'You cannot view this report');
      const member = memberOf(course.id, user.id);
      if (!member || !isLearner(member)) throw new WsException('core\\exception\\moodle_exception', 'usernotenroled', 'User is not enrolled in this course');
      const rows = userGradeItems(gradebook, course.id, user.id, { canViewHidden: true });
      const total = rows[rows.length - 1]!;
      const grade = typeof total.graderaw === 'number' ? total.graderaw : null;
      // The criterion's "Required course grade" is in course-total points (completion_criteria_grade gradepass).
      const required = ((total.grademax as number) * setting.passPercent) / 100;
      const completedAt = site.courseCompletedAt(course.id, user.id, grade !== null && grade >= required - 1e-9);
      const complete = completedAt !== undefined;
      // completion/criteria/completion_criteria_grade.php get_status()/get_details(), 2 decimals (grade_decimalpoints).
      return {
        completionstatus: {
          completed: complete,
          aggregation: 1,
          completions: [
            {
              type: 6,
              title: 'Course grade',
              status: `${grade === null ? 'No grade' : grade.toFixed(2)} (${required.toFixed(2)} required)`,
              complete,
              timecompleted: completedAt ? Math.floor(completedAt.getTime() / 1000) : null,
              details: { type: 'Course grade', criteria: 'Required course grade', requirement: required.toFixed(2), status: grade === null ? '' : grade.toFixed(2) },
            },
          ],
        },
        warnings: [],
      };
    },
  };

  function serve(req: Request, res: Response): void {
    if (!site.webServicesEnabled || !site.restEnabled) {
      res.status(403).end();
      return;
    }
    const params: Record<string, unknown> = { ...(req.query as Record<string, unknown>), ...((req.body ?? {}) as Record<string, unknown>) };
    const json = params.moodlewsrestformat === 'json';
    const send = (status: number, body: unknown) => {
      // Moodle answers XML unless asked for JSON; the tool always asks for JSON.
      if (json) res.status(status).type('application/json').send(JSON.stringify(body));
      else res.status(status).type('application/xml').send(`<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n${esc(JSON.stringify(body))}\n</RESPONSE>\n`);
    };
    try {
      const token = site.getToken(typeof params.wstoken === 'string' ? params.wstoken : '');
      if (!token) throw moodleException('invalidtoken', 'Invalid token - token not found');
      token.lastAccess = ctx.now();
      if (token.suspended) throw moodleException('wsaccessusersuspended', `Suspended account: ${token.username}`);
      if (!token.capabilities.has('webservice/rest:use')) throw accessException();
      const name = typeof params.wsfunction === 'string' ? params.wsfunction : '';
      if (!name) throw invalidParameter();
      const fn = functions[name];
      if (!fn) throw missingRecord('external_functions');
      if (!token.functions.has(name)) throw accessException();
      const { wstoken: _t, wsfunction: _f, moodlewsrestformat: _r, ...args } = params;
      send(200, fn(token, args));
    } catch (err) {
      if (!(err instanceof WsException)) throw err;
      send(200, { exception: err.exception, errorcode: err.errorcode, message: err.message });
    }
  }

  // `extended: true` reads PHP-style arrays (`options[0][name]`) as Moodle does.
  router.post('/webservice/rest/server.php', express.urlencoded({ extended: true, limit: '1mb' }), serve);
  router.get('/webservice/rest/server.php', serve);

  // ---- the administrator's page: Site administration › Server › Web services -------------------

  router.get('/admin/webservices', (_req, res) => {
    const fnBoxes = SANDBOX_WS_FUNCTIONS.map((f) => `<label><input type="checkbox" name="functions" value="${esc(f)}" checked> <code>${esc(f)}</code></label><br>`).join('');
    const capBoxes = Object.entries(SANDBOX_WS_CAPABILITIES)
      .map(([c, n]) => `<label><input type="checkbox" name="capabilities" value="${esc(c)}" checked> <code>${esc(c)}</code> <span class="muted">${esc(n)}</span></label><br>`)
      .join('');
    const rows = site
      .listTokens()
      .map(
        (t) => `<tr data-token="${esc(t.token)}"><td><code class="token">${esc(t.token)}</code></td><td>${esc(t.username)}</td><td>${[...t.functions].map((f) => `<code>${esc(f)}</code>`).join('<br>')}</td><td>${[...t.capabilities].map((c) => `<code>${esc(c)}</code>`).join('<br>')}</td>
<td><form method="post" action="${esc(adminUrl)}/tokens/delete" class="inline"><input type="hidden" name="token" value="${esc(t.token)}"><button type="submit">Delete</button></form></td></tr>`,
      )
      .join('');
    const courses = ctx.store
      .listCourses()
      .filter((c) => c.quirks === 'moodle')
      .map((c) => {
        const s = site.getCompletion(c.id);
        return `<tr><td>${esc(c.id)}</td><td>${esc(c.title)}</td><td><form method="post" action="${esc(adminUrl)}/completion" class="inline"><input type="hidden" name="courseId" value="${esc(c.id)}">
<label><input type="checkbox" name="enabled" value="1"${s.enabled ? ' checked' : ''}> tracking on</label> <label>course grade ≥ <input name="passPercent" type="number" min="0" max="100" size="4" value="${esc(s.passPercent)}">%</label> <button type="submit">Save</button></form></td></tr>`;
      })
      .join('');
    const body = `<h1>Web services</h1>
<p class="muted">What a Moodle administrator sets under Site administration › Server › Web services. The REST endpoint is <code>${esc(ctx.baseUrl)}/webservice/rest/server.php</code>; courses in Moodle mode answer.</p>
<form method="post" action="${esc(adminUrl)}/settings" class="card" id="ws-settings">
<label><input type="checkbox" name="webServicesEnabled" value="1"${site.webServicesEnabled ? ' checked' : ''}> Enable web services</label>
<label><input type="checkbox" name="restEnabled" value="1"${site.restEnabled ? ' checked' : ''}> REST protocol</label> <button type="submit">Save</button></form>
<form method="post" action="${esc(adminUrl)}/tokens" class="card" id="ws-create-token"><h2>Create a token</h2>
<p>External service functions:</p>${fnBoxes}<p>Capabilities of the web-service user's role:</p>${capBoxes}
<button type="submit" class="primary">Create token</button></form>
<h2>Tokens</h2><table id="ws-tokens"><thead><tr><th>Token</th><th>User</th><th>Functions</th><th>Capabilities</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<h2>Course completion</h2><table id="ws-completion"><thead><tr><th>Id</th><th>Course</th><th>Completion tracking</th></tr></thead><tbody>${courses}</tbody></table>`;
    res.type('html').send(renderPage('Web services', body, { homeUrl: `${ctx.baseUrl}/` }));
  });

  const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
  const form = express.urlencoded({ extended: false });

  router.post('/admin/webservices/settings', form, (req, res) => {
    site.webServicesEnabled = req.body?.webServicesEnabled === '1';
    site.restEnabled = req.body?.restEnabled === '1';
    res.redirect(303, adminUrl);
  });
  router.post('/admin/webservices/tokens', form, (req, res) => {
    site.createToken({ functions: asList(req.body?.functions), capabilities: asList(req.body?.capabilities) });
    res.redirect(303, adminUrl);
  });
  router.post('/admin/webservices/tokens/delete', form, (req, res) => {
    site.revokeToken(String(req.body?.token ?? ''));
    res.redirect(303, adminUrl);
  });
  router.post('/admin/webservices/completion', form, (req, res) => {
    const courseId = String(req.body?.courseId ?? '');
    if (ctx.store.getCourse(courseId)) site.setCompletion(courseId, { enabled: req.body?.enabled === '1', passPercent: Number(req.body?.passPercent) || 50 });
    res.redirect(303, adminUrl);
  });

  return { router, site };
}

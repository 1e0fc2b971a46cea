/**
 * Canvas REST as a grade source: every assignment of the course (AGS shows a tool only its own
 * line items, app/controllers/lti/ims/line_items_controller.rb), the assignment groups with
 * Canvas's weights, and the course's current and final scores as Canvas computes them.
 *
 * Calls, fewest the API allows (per_page=100, Canvas's maximum; ../canvas/canvas-rest.client.ts):
 * - `GET /api/v1/courses/:id` — `apply_assignment_group_weights` (and the numeric course id when the
 *   launch gave only the context id: `lti_context_id:<context.id>` is accepted, doc/api/file.object_ids.md);
 * - `GET /api/v1/courses/:id/assignment_groups` — name, `group_weight`, drop rules;
 * - `GET /api/v1/courses/:id/assignments` — name, points_possible, group, published, omit_from_final_grade;
 * - `GET /api/v1/courses/:id/enrollments?type[]=StudentEnrollment` — each student's `grades`
 *   (current_score, final_score; unposted_current_score / unposted_final_score for a teacher);
 * - `GET /api/v1/courses/:id/students/submissions?student_ids[]=all&grouped=1` — grouped by student,
 *   so a page holds 100 students with all their submissions (app/controllers/submissions_api_controller.rb
 *   `for_students`): 2,000 students are 20 pages whatever the number of assignments;
 * - `GET /api/v1/courses/:id/users/lti_1_3_id:<sub>` — only for a learner whose Canvas id is not known
 *   yet (once per learner, ever).
 *
 * Submissions (doc/api/submissions.md): `score` is after Canvas's late/missing policy deductions
 * (`points_deducted`); a score counts when `workflow_state` is `graded` and the grade is posted
 * (`posted_at`); `excused` is shown as not graded with the comment "Excused in Canvas" (and left out of
 * the group score, as Canvas does); `missing` without a score is not graded.
 *
 * Group scores follow Canvas's current score (lib/grade_calculator.rb): the points earned over the
 * points possible of the group's graded, posted, not excused assignments, after the group's
 * drop_lowest / drop_highest rules (never_drop kept); a group with nothing graded yet has no score.
 * The weight of a group column is its `group_weight` when the course applies weights, else the
 * group's points possible (Canvas then totals points across groups).
 */
import { inEnglish } from '../../i18n/english';
import { SourceUnavailableError } from '../../http/platform-errors';
import type { CanvasRestClient } from '../canvas/canvas-rest.client';
import { CANVAS_SCOPES } from '../canvas/canvas-oauth.service';
import type { GradeSource, SourceContext, SourceLineItem, SourceResult } from './grade-source';

export interface CanvasAssignmentGroup {
  id: number;
  name: string;
  position?: number;
  group_weight?: number | null;
  rules?: { drop_lowest?: number; drop_highest?: number; never_drop?: number[] } | null;
}

export interface CanvasAssignment {
  id: number;
  name: string;
  points_possible?: number | null;
  assignment_group_id: number;
  published?: boolean;
  omit_from_final_grade?: boolean;
  submission_types?: string[];
  due_at?: string | null;
  unlock_at?: string | null;
}

export interface CanvasSubmission {
  assignment_id: number;
  user_id?: number;
  score?: number | null;
  workflow_state?: string;
  excused?: boolean | null;
  missing?: boolean;
  late?: boolean;
  points_deducted?: number | null;
  posted_at?: string | null;
  graded_at?: string | null;
}

export interface CanvasEnrollment {
  user_id: number;
  type: string;
  enrollment_state?: string;
  grades?: { current_score?: number | null; final_score?: number | null; unposted_current_score?: number | null; unposted_final_score?: number | null };
  user?: { id: number; name?: string; sortable_name?: string };
}

export interface CanvasSourceOptions {
  client: CanvasRestClient;
  /** Canvas's numeric course id, when known (custom `canvas_course_id`, or learned before). */
  canvasCourseId?: string;
  /** The course's LTI context id (used as `lti_context_id:<id>` until the numeric id is known). */
  contextId: string;
  /** Records the numeric course id once learned. */
  onCourseId?: (id: string) => Promise<void>;
  /** Canvas user id → sub, as far as known. */
  knownUsers: () => Promise<Map<string, string>>;
  /** The course's learners on the tool's roster (NRPS), by sub, for the ones not yet matched. */
  rosterSubs: () => Promise<string[]>;
  /** Records learned matches. */
  remember: (pairs: { canvasUserId: string; sub: string }[]) => Promise<void>;
}

export const courseScoreIds = {
  current: 'canvas:score:current',
  final: 'canvas:score:final',
  unpostedCurrent: 'canvas:score:unposted_current',
  unpostedFinal: 'canvas:score:unposted_final',
} as const;
export const assignmentExternalId = (id: number | string) => `canvas:assignment:${id}`;
export const groupExternalId = (id: number | string) => `canvas:group:${id}`;

interface CourseData {
  courseId: string;
  applyWeights: boolean;
  groups: CanvasAssignmentGroup[];
  assignments: CanvasAssignment[];
}

const isPosted = (s: CanvasSubmission) => s.posted_at !== null;
const counts = (s: CanvasSubmission | undefined): s is CanvasSubmission => !!s && !s.excused && typeof s.score === 'number' && s.workflow_state === 'graded' && isPosted(s);

/** Canvas's current score of one group for one student (null: nothing graded in it yet). */
export function groupScore(group: CanvasAssignmentGroup, assignments: CanvasAssignment[], subs: Map<number, CanvasSubmission>): { earned: number; possible: number } | null {
  const graded = assignments
    .filter((a) => a.assignment_group_id === group.id && a.published !== false && !a.omit_from_final_grade)
    .map((a) => ({ a, s: subs.get(a.id) }))
    .filter((x): x is { a: CanvasAssignment; s: CanvasSubmission } => counts(x.s))
    .map(({ a, s }) => ({ id: a.id, earned: s.score as number, possible: a.points_possible ?? 0 }));
  if (graded.length === 0) return null;
  const never = new Set(group.rules?.never_drop ?? []);
  const pct = (x: { earned: number; possible: number }) => (x.possible > 0 ? x.earned / x.possible : Number.POSITIVE_INFINITY);
  let kept = [...graded];
  const droppable = () => kept.filter((x) => !never.has(x.id)).sort((p, q) => pct(p) - pct(q));
  for (let i = 0; i < (group.rules?.drop_lowest ?? 0) && kept.length > 1; i++) {
    const d = droppable()[0];
    if (d) kept = kept.filter((x) => x !== d);
  }
  for (let i = 0; i < (group.rules?.drop_highest ?? 0) && kept.length > 1; i++) {
    const d = droppable().at(-1);
    if (d) kept = kept.filter((x) => x !== d);
  }
  const earned = kept.reduce((s, x) => s + x.earned, 0);
  const possible = kept.reduce((s, x) => s + x.possible, 0);
  return possible > 0 ? { earned, possible } : null;
}

export function createCanvasSource(opts: CanvasSourceOptions): GradeSource {
  const { client } = opts;
  let courseData: Promise<CourseData> | undefined;
  let enrollments: Promise<CanvasEnrollment[]> | undefined;
  let courseKey = opts.canvasCourseId ?? `lti_context_id:${encodeURIComponent(opts.contextId)}`;

  const loadCourse = (ctx: SourceContext) =>
    (courseData ??= (async () => {
      const course = await client.get<{ id?: number; apply_assignment_group_weights?: boolean }>(`/api/v1/courses/${courseKey}`, {}, CANVAS_SCOPES.course, { signal: ctx.signal });
      if (typeof course?.id !== 'number') {
        const ref = { key: 'grades.syncError.canvas.courseUnknown', params: { context: opts.contextId } };
        throw new SourceUnavailableError(inEnglish(ref), 'canvas_course_unknown', ref);
      }
      const id = String(course.id);
      if (id !== opts.canvasCourseId) await opts.onCourseId?.(id);
      courseKey = id;
      const [groups, assignments] = [
        await client.list<CanvasAssignmentGroup>(`/api/v1/courses/${id}/assignment_groups`, {}, CANVAS_SCOPES.assignmentGroups, { signal: ctx.signal }),
        await client.list<CanvasAssignment>(`/api/v1/courses/${id}/assignments`, { order_by: 'position' }, CANVAS_SCOPES.assignments, { signal: ctx.signal }),
      ];
      return { courseId: id, applyWeights: course.apply_assignment_group_weights === true, groups, assignments };
    })());

  /** Canvas user id → sub, asking Canvas for roster learners not matched yet. */
  async function matchUsers(ctx: SourceContext, data: CourseData, onlySub?: string): Promise<Map<string, string>> {
    const known = await opts.knownUsers();
    const matchedSubs = new Set(known.values());
    const wanted = onlySub ? [onlySub] : await opts.rosterSubs();
    const learned: { canvasUserId: string; sub: string }[] = [];
    for (const sub of wanted) {
      if (matchedSubs.has(sub) || ctx.signal?.aborted) continue;
      try {
        const user = await client.get<{ id?: number }>(`/api/v1/courses/${data.courseId}/users/lti_1_3_id:${encodeURIComponent(sub)}`, {}, CANVAS_SCOPES.courseUser, { signal: ctx.signal });
        if (typeof user?.id === 'number') {
          known.set(String(user.id), sub);
          learned.push({ canvasUserId: String(user.id), sub });
        }
      } catch (err) {
        ctx.failure('canvas_user_lookup_failed', err);
        break;
      }
    }
    if (learned.length) await opts.remember(learned);
    return known;
  }

  return {
    kind: 'canvas',

    async lineItems(ctx) {
      const data = await loadCourse(ctx);
      const items: SourceLineItem[] = [];
      const groupPoints = new Map<number, number>();
      for (const a of data.assignments) {
        if (a.published === false) continue;
        if (!a.omit_from_final_grade) groupPoints.set(a.assignment_group_id, (groupPoints.get(a.assignment_group_id) ?? 0) + (a.points_possible ?? 0));
        items.push({
          externalId: assignmentExternalId(a.id),
          label: a.name,
          scoreMaximum: Math.max(0, a.points_possible ?? 0),
          kind: 'activity',
          tag: `canvas:${a.submission_types?.[0] ?? 'assignment'}`,
          ...(a.due_at ? { endDateTime: new Date(a.due_at) } : {}),
          ...(a.unlock_at ? { startDateTime: new Date(a.unlock_at) } : {}),
        });
      }
      for (const g of data.groups) {
        items.push({
          externalId: groupExternalId(g.id),
          label: `${g.name} (assignment group)`,
          scoreMaximum: 100,
          kind: 'category',
          weight: data.applyWeights ? (g.group_weight ?? 0) : (groupPoints.get(g.id) ?? 0),
          tag: 'canvas:assignment_group',
        });
      }
      items.push(
        { externalId: courseScoreIds.current, label: 'Current score (Canvas)', scoreMaximum: 100, kind: 'course-total', tag: 'canvas:current_score' },
        { externalId: courseScoreIds.final, label: 'Final score (Canvas)', scoreMaximum: 100, kind: 'course-total', tag: 'canvas:final_score' },
        { externalId: courseScoreIds.unpostedCurrent, label: 'Current score with unposted grades (Canvas, teachers only)', scoreMaximum: 100, kind: 'course-total', hidden: true, tag: 'canvas:unposted_current_score' },
        { externalId: courseScoreIds.unpostedFinal, label: 'Final score with unposted grades (Canvas, teachers only)', scoreMaximum: 100, kind: 'course-total', hidden: true, tag: 'canvas:unposted_final_score' },
      );
      return { items, complete: true };
    },

    async results(ctx, req, sink) {
      const data = await loadCourse(ctx);
      const users = await matchUsers(ctx, data, req.userId);
      const canvasIdOf = new Map([...users].map(([c, s]) => [s, c]));
      const only = req.userId ? canvasIdOf.get(req.userId) : undefined;
      if (req.userId && !only) return; // this learner is not (yet) known to Canvas's API: nothing to read
      enrollments ??= client.list<CanvasEnrollment>(
        `/api/v1/courses/${data.courseId}/enrollments`,
        { type: ['StudentEnrollment'], state: ['active', 'completed'], ...(only ? { user_id: only } : {}) },
        CANVAS_SCOPES.enrollments,
        { signal: ctx.signal },
      );
      const enrolled = await enrollments;
      const grouped = await client.list<{ user_id: number; submissions: CanvasSubmission[] }>(
        `/api/v1/courses/${data.courseId}/students/submissions`,
        { student_ids: [only ?? 'all'], grouped: 1 },
        CANVAS_SCOPES.submissions,
        { signal: ctx.signal },
      );
      const byStudent = new Map<string, Map<number, CanvasSubmission>>();
      for (const g of grouped) byStudent.set(String(g.user_id), new Map((g.submissions ?? []).map((s) => [s.assignment_id, s])));

      const students = [...new Set(enrolled.map((e) => String(e.user_id)))];
      const unmatched = students.filter((id) => !users.has(id));
      if (unmatched.length && !req.userId) {
        ctx.error(
          'canvas_unmatched',
          `${unmatched.length} Canvas student${unmatched.length === 1 ? ' is' : 's are'} not matched to anyone on the tool's roster yet (Canvas user id${unmatched.length === 1 ? '' : 's'} ${unmatched.slice(0, 5).join(', ')}${unmatched.length > 5 ? ', …' : ''}): their grades are read once they appear in the course's roster (NRPS) or open the tool once.`,
        );
      }
      const wanted = new Set(req.items.map((i) => i.externalId));
      const batches = new Map<string, SourceResult[]>();
      const push = (id: string, r: SourceResult) => {
        if (!wanted.has(id)) return;
        let list = batches.get(id);
        if (!list) batches.set(id, (list = []));
        list.push(r);
      };
      const published = data.assignments.filter((a) => a.published !== false);
      for (const e of enrolled) {
        const canvasId = String(e.user_id);
        const sub = users.get(canvasId);
        if (!sub) continue;
        const subs = byStudent.get(canvasId) ?? new Map<number, CanvasSubmission>();
        for (const a of published) {
          const s = subs.get(a.id);
          const max = Math.max(0, a.points_possible ?? 0);
          if (s?.excused) push(assignmentExternalId(a.id), { userId: sub, scoreGiven: null, scoreMaximum: max, comment: 'Excused in Canvas' });
          else if (counts(s)) {
            if (max > 0 && (s.score as number) > max * 10) {
              const ref = { key: 'grades.syncError.canvas.aboveMaximum', params: { learner: e.user?.name ?? canvasId, score: s.score as number, max, item: a.name } };
              ctx.error('invalid_result', inEnglish(ref), { userId: sub, assignmentId: a.id }, ref);
              continue;
            }
            push(assignmentExternalId(a.id), { userId: sub, scoreGiven: s.score as number, scoreMaximum: max, ...(s.graded_at ? { timestamp: new Date(s.graded_at) } : {}) });
          } else push(assignmentExternalId(a.id), { userId: sub, scoreGiven: null, scoreMaximum: max });
        }
        for (const g of data.groups) {
          const score = groupScore(g, published, subs);
          push(groupExternalId(g.id), { userId: sub, scoreGiven: score ? (score.earned / score.possible) * 100 : null, scoreMaximum: 100 });
        }
        const gr = e.grades ?? {};
        const pct = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
        push(courseScoreIds.current, { userId: sub, scoreGiven: pct(gr.current_score), scoreMaximum: 100 });
        push(courseScoreIds.final, { userId: sub, scoreGiven: pct(gr.final_score), scoreMaximum: 100 });
        if ('unposted_current_score' in gr) push(courseScoreIds.unpostedCurrent, { userId: sub, scoreGiven: pct(gr.unposted_current_score), scoreMaximum: 100 });
        if ('unposted_final_score' in gr) push(courseScoreIds.unpostedFinal, { userId: sub, scoreGiven: pct(gr.unposted_final_score), scoreMaximum: 100 });
      }
      // Students whose enrolment ended are not listed: never "complete", so their stored grades stay.
      for (const [externalId, results] of batches) await sink({ externalId, results, complete: false });
    },
  };
}

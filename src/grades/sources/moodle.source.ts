/**
 * Moodle web services as a grade source: every grade item of the course — quizzes, assignments,
 * manual items, category totals and the course total — with each learner's grade, from
 * `gradereport_user_get_grade_items`, which AGS never shows (mod/lti/service/gradebookservices
 * lists only the tool's own items).
 *
 * Fewest calls: Moodle has no paging for grade items; `userid=0` returns every graded learner's
 * items in ONE call (grade/report/user/classes/external/user.php `get_grade_items`), so a course
 * sync is one call for the grades (+ one for the roster when NRPS is missing, + one per learner for
 * course completion, which Moodle only answers learner by learner). A learner's refresh asks for
 * that learner alone (`userid=<sub>`).
 *
 * Mapping: Moodle user id = LTI `sub` (mod/lti/locallib.php sends `$USER->id`); Moodle course id =
 * the launch's context id. Ungraded items (`graderaw: null`) are kept as "not graded".
 */
import type { IncomingMember } from '../grade-writes';
import { messageRefOf } from '../../errors';
import { SourceUnavailableError } from '../../http/platform-errors';
import { inEnglish } from '../../i18n/english';
import type { MoodleCompletionStatus, MoodleEnrolledUser, MoodleGradeItem, MoodleUserGrades, MoodleWsClient } from '../moodle/moodle-ws.client';
import { MoodleCompletionUnavailableError, MoodleNoCompletionCriteriaError } from '../moodle/moodle-ws.errors';
import { missingItemsAdvice } from '../moodle/moodle-connection.service';
import type { ColumnKind, GradeSource, SourceContext, SourceLineItem, SourceResult } from './grade-source';
import { mapLimit } from './map-limit';

export interface MoodleSourceOptions {
  client: MoodleWsClient;
  /** The Moodle course id: the course's LTI context id. */
  moodleCourseId: string;
  /** Read the roster over web services (only when the platform sent no NRPS address: NRPS says who is suspended, this does not). */
  withRoster: boolean;
  /** Read course completion too (one call per learner). */
  readCompletion: boolean;
  /**
   * Resource links whose grade column the tool already reads over AGS (asked when the columns are
   * listed, so after the AGS run of the same sync): Moodle's `lti` item of such an activity is the
   * same activity, so it is left out here rather than stored twice.
   */
  agsResourceLinks?: () => Promise<ReadonlySet<string>>;
}

export const COMPLETION_EXTERNAL_ID = 'moodle:completion';
export const externalIdOf = (itemId: number) => `moodle:item:${itemId}`;

const LEARNER = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Learner';
const INSTRUCTOR = 'http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor';
const ADMIN = 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator';

/** Moodle role shortnames as mod/lti/locallib.php `get_ims_role` maps them. */
function ltiRoles(user: MoodleEnrolledUser): string[] {
  const out = new Set<string>();
  for (const r of user.roles ?? []) {
    if (r.shortname === 'student' || r.shortname === 'guest') out.add(LEARNER);
    else if (r.shortname === 'editingteacher' || r.shortname === 'teacher' || r.shortname === 'coursecreator') out.add(INSTRUCTOR);
    else if (r.shortname === 'manager') out.add(ADMIN);
  }
  return [...out];
}

function kindOf(g: MoodleGradeItem): ColumnKind {
  return g.itemtype === 'course' ? 'course-total' : g.itemtype === 'category' ? 'category' : 'activity';
}

function labelOf(g: MoodleGradeItem): string {
  if (g.itemname) return g.itemname;
  if (g.itemtype === 'course') return 'Course total';
  if (g.itemtype === 'category') return `Category total${g.idnumber ? ` ${g.idnumber}` : g.iteminstance ? ` (category ${g.iteminstance})` : ''}`;
  return `Grade item ${g.id}`;
}

const dateOf = (unixSeconds: number | null | undefined) => (typeof unixSeconds === 'number' && unixSeconds > 0 ? new Date(unixSeconds * 1000) : undefined);

export function createMoodleSource(opts: MoodleSourceOptions): GradeSource {
  const { client } = opts;
  const courseId = Number(opts.moodleCourseId);
  /** The one grade-items answer of this sync, shared by lineItems() and results(). */
  let fetched: Promise<MoodleUserGrades[]> | undefined;
  let completionOn = false;
  /** The completion answer of the learner lineItems() asked to see whether completion is on. */
  let probed: { userId: number; status: MoodleCompletionStatus } | undefined;

  const gradeItemsOnce = (ctx: SourceContext) => {
    fetched ??= client.getGradeItems(courseId, { signal: ctx.signal, ...(ctx.userId ? { userId: Number(ctx.userId) } : {}) });
    return fetched;
  };

  return {
    kind: 'moodle',

    ...(opts.withRoster
      ? {
          async roster(ctx: SourceContext) {
            const users = await client.getEnrolledUsers(courseId, { signal: ctx.signal });
            const members: IncomingMember[] = users.map((u) => {
              const roles = ltiRoles(u);
              return {
                userId: String(u.id),
                name: u.fullname,
                givenName: u.firstname,
                familyName: u.lastname,
                email: u.email,
                lisPersonSourcedId: u.idnumber || undefined,
                roles,
                isLearner: roles.includes(LEARNER) && !roles.includes(INSTRUCTOR),
                status: 'active' as const,
              };
            });
            await ctx.rosterProgress(members.length);
            // Suspended enrolments are listed like active ones: never conclude that someone left.
            return { members, complete: false };
          },
        }
      : {}),

    async lineItems(ctx) {
      if (!Number.isInteger(courseId) || courseId <= 0) {
        const ref = { key: 'grades.syncError.moodle.notACourse', params: { context: String(opts.moodleCourseId) } };
        throw new SourceUnavailableError(inEnglish(ref), 'moodle_not_a_course', ref);
      }
      const usergrades = await gradeItemsOnce(ctx);
      const overAgs = (await opts.agsResourceLinks?.()) ?? new Set<string>();
      const byId = new Map<number, { item: SourceLineItem; hiddenForAll: boolean }>();
      for (const u of usergrades) {
        for (const g of u.gradeitems) {
          if (g.itemmodule === 'lti' && g.iteminstance && overAgs.has(String(g.iteminstance))) continue;
          const max = typeof g.grademax === 'number' ? g.grademax : 0;
          const seen = byId.get(g.id);
          if (seen) {
            // The course total's maximum varies per learner ("exclude empty grades"): keep the largest.
            if (max > seen.item.scoreMaximum) seen.item.scoreMaximum = max;
            seen.hiddenForAll &&= g.gradeishidden === true;
            continue;
          }
          byId.set(g.id, {
            hiddenForAll: g.gradeishidden === true,
            item: {
              externalId: externalIdOf(g.id),
              label: labelOf(g),
              scoreMaximum: max,
              kind: kindOf(g),
              ...(typeof g.weightraw === 'number' ? { weight: g.weightraw } : {}),
              // The tool's own External tool activity: its instance id is the launch's resource_link.id.
              ...(g.itemmodule === 'lti' && g.iteminstance ? { resourceLinkId: String(g.iteminstance) } : {}),
              ...(g.idnumber ? { resourceId: g.idnumber } : {}),
              tag: g.itemmodule ? `moodle:${g.itemmodule}` : `moodle:${g.itemtype}`,
            },
          });
        }
      }
      const items = [...byId.values()].map(({ item, hiddenForAll }) => (hiddenForAll ? { ...item, hidden: true } : item));
      if (!ctx.userId) {
        const advice = missingItemsAdvice(usergrades);
        if (advice) ctx.error('moodle_items_hidden', advice.message, undefined, advice.translated);
      }
      if (opts.readCompletion && usergrades.length > 0) {
        try {
          const userId = usergrades[0]!.userid;
          probed = { userId, status: await client.getCourseCompletionStatus(courseId, userId, { signal: ctx.signal }) };
          completionOn = true;
          items.push({ externalId: COMPLETION_EXTERNAL_ID, label: 'Course completion (Moodle)', scoreMaximum: 1, kind: 'activity', tag: 'moodle:completion' });
        } catch (err) {
          if (err instanceof MoodleCompletionUnavailableError || err instanceof MoodleNoCompletionCriteriaError) ctx.error('moodle_completion_unavailable', err.message, undefined, messageRefOf(err));
          else ctx.failure('moodle_completion_failed', err);
        }
      }
      // A learner's own answer can omit items hidden from them; only a whole-course listing is complete.
      return { items, complete: !ctx.userId };
    },

    async results(ctx, req, sink) {
      const usergrades = await gradeItemsOnce(ctx);
      const wanted = new Set(req.items.map((i) => i.externalId));
      const batches = new Map<string, SourceResult[]>();
      for (const u of usergrades) {
        const userId = String(u.userid);
        if (req.userId && userId !== req.userId) continue;
        for (const g of u.gradeitems) {
          const externalId = externalIdOf(g.id);
          if (!wanted.has(externalId)) continue;
          const raw = typeof g.graderaw === 'number' ? g.graderaw : null;
          const max = typeof g.grademax === 'number' ? g.grademax : 0;
          if (raw !== null && raw > max + 1e-9) {
            const ref = { key: 'grades.syncError.moodle.aboveMaximum', params: { learner: u.userfullname, score: raw, max, item: labelOf(g) } };
            ctx.error('invalid_result', inEnglish(ref), { userId, itemId: g.id }, ref);
            continue;
          }
          let list = batches.get(externalId);
          if (!list) batches.set(externalId, (list = []));
          list.push({ userId, scoreGiven: raw, scoreMaximum: max, timestamp: raw === null ? undefined : dateOf(g.gradedategraded) });
        }
      }
      // Learners whose enrolment is suspended are not listed by Moodle, though their grades remain:
      // a batch is never "complete", so their stored results are kept, not cleared.
      for (const [externalId, results] of batches) await sink({ externalId, results, complete: false });

      if (completionOn && wanted.has(COMPLETION_EXTERNAL_ID)) {
        const learners = usergrades.map((u) => u.userid).filter((id) => !req.userId || String(id) === req.userId);
        const results: SourceResult[] = [];
        await mapLimit(learners, req.concurrency, async (userId) => {
          if (ctx.signal?.aborted) return;
          try {
            const status = probed?.userId === userId ? probed.status : await client.getCourseCompletionStatus(courseId, userId, { signal: ctx.signal });
            const done = status.completions.map((c) => c.timecompleted ?? 0).filter((t) => t > 0);
            results.push({ userId: String(userId), scoreGiven: status.completed ? 1 : 0, scoreMaximum: 1, timestamp: status.completed && done.length ? dateOf(Math.max(...done)) : undefined });
          } catch (err) {
            ctx.failure('moodle_completion_failed', err);
          }
        });
        await sink({ externalId: COMPLETION_EXTERNAL_ID, results, complete: false });
      }
    },
  };
}

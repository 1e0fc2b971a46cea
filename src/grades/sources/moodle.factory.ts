/**
 * When a course gets the Moodle web-service source: its teacher turned "Moodle gradebook" on and
 * the administrator set up web services for its platform. A teacher's choice without the
 * administrator's setup (or with a token that can no longer be read) gives a source that says so
 * in the sync history, instead of silently syncing nothing.
 */
import { courseModel } from '../../courses/course.model';
import { lineItemModel } from '../line-item.model';
import { AppError, messageRefOf, type MessageRef } from '../../errors';
import { inEnglish } from '../../i18n/english';
import { SourceUnavailableError } from '../../http/platform-errors';
import { isMoodleSourceOn, openMoodleClient, type MoodleSetupDeps } from '../moodle/moodle-connection.service';
import type { GradeSource } from './grade-source';
import type { GradeSourceFactory } from './index';
import { createMoodleSource } from './moodle.source';

/** A source that cannot serve the course: every sync records why. */
function unavailable(message: string, kind: string, translated?: MessageRef): GradeSource {
  const fail = async (): Promise<never> => {
    throw new SourceUnavailableError(message, kind, translated);
  };
  return { kind: 'moodle', lineItems: fail, results: fail };
}

export function moodleSourceFactory(deps: MoodleSetupDeps): GradeSourceFactory {
  return async (course) => {
    if (!(await isMoodleSourceOn(deps.conn, course._id))) return null;
    let opened: Awaited<ReturnType<typeof openMoodleClient>>;
    try {
      opened = await openMoodleClient(deps, course.issuer);
    } catch (err) {
      if (err instanceof AppError) return unavailable(err.message, 'moodle_token_unreadable', messageRefOf(err));
      throw err;
    }
    if (!opened) {
      const ref = { key: 'grades.syncError.moodle.notConfigured' };
      return unavailable(inEnglish(ref), 'moodle_ws_not_configured', ref);
    }
    const doc = await courseModel(deps.conn).findById(course._id, { contextId: 1 }).lean();
    if (!doc) return null;
    return createMoodleSource({
      client: opened.client,
      moodleCourseId: doc.contextId,
      withRoster: !course.services.membershipsUrl,
      readCompletion: opened.connection.readCompletion,
      agsResourceLinks: async () => {
        const items = await lineItemModel(deps.conn).find({ courseId: course._id, source: 'ags', removedAt: null, resourceLinkId: { $exists: true, $ne: null } }, { resourceLinkId: 1 }).lean();
        return new Set(items.map((i) => i.resourceLinkId!).filter(Boolean));
      },
    });
  };
}

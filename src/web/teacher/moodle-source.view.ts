/**
 * The "Moodle gradebook" line of the teacher's grade data block: offered once the administrator
 * has set up Moodle web services for the course's platform, on or off per course, with the
 * outcome of the last Moodle sync (its errors say what to fix in Moodle).
 */
import { Types } from 'mongoose';
import type { Connection } from 'mongoose';
import { moodleConnectionModel } from '../../grades/moodle/moodle-connection.model';
import { isMoodleSourceOn } from '../../grades/moodle/moodle-connection.service';
import { syncRunModel, type SyncRun } from '../../grades/sync-run.model';
import type { Launch } from '../../lti/launch';

export interface MoodleSourceView {
  /** The administrator set up web services for this platform. */
  available: boolean;
  enabled: boolean;
  lastRun: Pick<SyncRun, 'status' | 'finishedAt' | 'counts' | 'errors'> | null;
}

export async function moodleSourceView(conn: Connection, launch: Pick<Launch, 'issuer' | 'courseId'>): Promise<MoodleSourceView> {
  const [setUp, enabled, lastRun] = await Promise.all([
    moodleConnectionModel(conn).exists({ issuer: launch.issuer }),
    isMoodleSourceOn(conn, launch.courseId),
    syncRunModel(conn)
      .findOne({ courseId: new Types.ObjectId(launch.courseId), scope: 'course', source: 'moodle' }, { status: 1, finishedAt: 1, counts: 1, errors: { $slice: 3 } })
      .sort({ startedAt: -1 })
      .lean<MoodleSourceView['lastRun']>(),
  ]);
  // A course already reading Moodle keeps showing the line (and its errors) if the setup was removed.
  return { available: Boolean(setUp) || enabled, enabled, lastRun: enabled ? lastRun : null };
}

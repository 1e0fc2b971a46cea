/**
 * Usernames learned at launch. NRPS never sends a login name, but Chamilo's gradebook export
 * names learners by nothing else; with the custom parameter `username=$User.username` every
 * launch carries it, and it is kept on the course member for matching a CSV import. A teacher
 * launch also marks the member as teaching, so that a roster listing them as a learner (Moodle's
 * non-editing teacher over NRPS) does not put them among the learners (member.model.ts).
 */
import { Types, type Connection } from 'mongoose';
import type { Launch } from '../../lti/launch';
import { memberModel } from '../member.model';

/**
 * Stores the launching user's username on their course member. A member not on the stored roster
 * yet (a launch before the first roster sync, or a platform whose roster service fails, such as
 * Chamilo's course copies made by deep linking) is added as an active member with what the launch
 * says; the next roster sync completes or corrects it.
 */
export async function rememberUsername(conn: Connection, launch: Launch, now: Date): Promise<void> {
  const username = launch.user.username;
  const teacher = launch.role === 'teacher';
  if (launch.role === 'none' || (!username && !teacher)) return;
  const u = launch.user;
  await memberModel(conn).updateOne(
    { courseId: new Types.ObjectId(launch.courseId), userId: u.id },
    {
      // A teacher launch also marks the member as teaching (Moodle's non-editing teacher: member.model.ts).
      $set: { ...(username ? { username } : {}), ...(teacher ? { teacherLaunchAt: now, isLearner: false } : {}) },
      $setOnInsert: {
        ...(u.name ? { name: u.name } : {}),
        ...(u.givenName ? { givenName: u.givenName } : {}),
        ...(u.familyName ? { familyName: u.familyName } : {}),
        ...(u.email ? { email: u.email } : {}),
        roles: launch.roles,
        ...(teacher ? {} : { isLearner: launch.role === 'learner' }),
        status: 'active',
        fetchedAt: now,
        leftAt: null,
      },
    },
    { upsert: true },
  );
}

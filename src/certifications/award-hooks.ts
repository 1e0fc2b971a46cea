/**
 * Wires certifications to the moments that can complete (or undo) a programme: a course
 * certificate issued or revoked (src/certificates/issue-events.ts), and a grade sync or CSV
 * import of a course (app.ts calls `afterCourseGrades`). Registered once in app.ts.
 */
import { Types, type Connection } from 'mongoose';
import { onIssueEvent } from '../certificates/issue-events';
import type { Clock, RandomBytes } from '../runtime';
import { awardModel } from './award.model';
import { evaluateCertification, reconsiderAfterRevocation } from './award.service';
import { certificationAuditModel } from './certification-audit';
import { certificationModel } from './certification.model';
import { certificationsUsingCourse } from './certification.service';

export function registerCertificationHooks(conn: Connection, deps: { now: Clock; random: RandomBytes }): void {
  // Compile the models now, while the connection is open: a model first compiled during a database
  // outage buffers its queries (mongoose) and fails after 10 s with a 500, instead of the 503 at once.
  awardModel(conn);
  certificationModel(conn);
  certificationAuditModel(conn);
  onIssueEvent(conn, async (event) => {
    // group by course: a "delete all" or "generate all" concerns one course and many learners
    const byCourse = new Map<string, { courseId: Types.ObjectId; userIds: Set<string> }>();
    for (const c of event.certificates) {
      const key = String(c.courseId);
      const entry = byCourse.get(key) ?? { courseId: c.courseId, userIds: new Set<string>() };
      entry.userIds.add(c.userId);
      byCourse.set(key, entry);
    }
    for (const { courseId, userIds } of byCourse.values()) {
      for (const cert of await certificationsUsingCourse(conn, courseId)) {
        if (event.type === 'issued') await evaluateCertification(conn, cert, { now: deps.now(), random: deps.random, userIds: [...userIds] });
        else await reconsiderAfterRevocation(conn, cert, [...userIds], courseId, { now: deps.now() });
      }
    }
  });
}

/** After a course's grades changed (sync, import): every certification using it, for every learner. */
export async function afterCourseGrades(conn: Connection, courseId: Types.ObjectId | string, deps: { now: Clock; random: RandomBytes }): Promise<void> {
  const id = typeof courseId === 'string' ? new Types.ObjectId(courseId) : courseId;
  for (const cert of await certificationsUsingCourse(conn, id)) await evaluateCertification(conn, cert, { now: deps.now(), random: deps.random });
}

/**
 * "Your certificate has been issued", for course certificates whose definition opts in
 * (`mailOnIssue`, a checkbox on the definition form). Called by the issuing paths right after
 * their write; it only records outbox events (keyed by certificate id, so a retried issue or a
 * crash repair never mails twice) and never fails an issue: a mail problem is logged.
 */
import type { Connection } from 'mongoose';
import { courseModel } from '../courses/course.model';
import type { IssueDoc } from '../certificates/issue.model';
import { createLogger } from '../logger';
import { enqueueMail } from './outbox';

const log = createLogger('mail');

export async function notifyCertificatesIssued(conn: Connection, definition: { mailOnIssue?: boolean }, certificates: IssueDoc[], now: Date): Promise<void> {
  if (!definition.mailOnIssue || certificates.length === 0) return;
  try {
    const issuer = (await courseModel(conn).findById(certificates[0]!.courseId, { issuer: 1 }).lean())?.issuer as string | undefined;
    for (const c of certificates) {
      await enqueueMail(conn, {
        key: `certificate.issued:${String(c._id)}`,
        template: 'certificate.issued',
        to: { issuer, userId: c.userId, email: c.learnerEmail, name: c.learnerName },
        params: { title: c.title, course: c.courseTitle, issuedAt: c.issuedAt, link: `/verify/${c.code}` },
        now,
      });
    }
  } catch (err) {
    log.error(`recording "certificate issued" mails for ${certificates.length} certificate(s) failed`, err);
  }
}

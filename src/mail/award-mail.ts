/**
 * Mail for certifications (certs' awards): "You have earned the certification" when one is issued
 * or renewed (certs announces them through onAwardIssued), and the reminders before an award
 * expires (a ReminderSource for the hourly scan, reminders.ts).
 */
import type { Connection } from 'mongoose';
import { awardModel, type AwardDoc } from '../certifications/award.model';
import { onAwardIssued } from '../certifications/award.service';
import { createLogger } from '../logger';
import { enqueueMail } from './outbox';
import type { ReminderSource } from './reminders';

const log = createLogger('mail');

/** Records a "certification issued" mail for every award certs announces on `conn`. */
export function mailAwardsIssued(conn: Connection, now: () => Date): void {
  onAwardIssued(conn, async (award: AwardDoc) => {
    // an approved proof already says so ("proof approved", proof.service.ts): one mail, not two
    if (award.basis.some((b) => b.via === 'proof')) return;
    try {
      await enqueueMail(conn, {
        key: `certification.issued:${String(award._id)}`,
        template: 'certification.issued',
        to: { issuer: award.issuer, userId: award.userId, email: award.learnerEmail, name: award.learnerName, locale: award.language },
        params: { title: award.name, issuedAt: award.completedAt, link: `/verify/${award.code}` },
        now: now(),
      });
    } catch (err) {
      log.error(`recording the "certification issued" mail of award ${String(award._id)} failed`, err);
    }
  });
}

/** Active awards (internal and external certifications) that expire in the window. */
export const awardReminders: ReminderSource = async (conn, { from, to }) => {
  const awards = await awardModel(conn)
    .find({ status: 'active', expiresAt: { $gte: from, $lte: to } }, { issuer: 1, userId: 1, learnerName: 1, learnerEmail: 1, language: 1, name: 1, expiresAt: 1, code: 1 })
    .lean<AwardDoc[]>();
  return awards.map((a) => ({
    id: `award:${String(a._id)}`,
    issuer: a.issuer,
    userId: a.userId,
    email: a.learnerEmail,
    name: a.learnerName,
    locale: a.language,
    title: a.name,
    expiresAt: a.expiresAt!,
    link: `/verify/${a.code}`,
  }));
};

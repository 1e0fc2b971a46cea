/**
 * awardExternal: what an approved proof issues (helper proofs calls it) — validity from the
 * learner's completion date, a renewal as a new version that supersedes the old one.
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import { addMonths } from '../../src/certificates/certificate-state';
import { awardModel } from '../../src/certifications/award.model';
import { awardExternal, findAwardByCode, onAwardIssued } from '../../src/certifications/award.service';
import { certificationAuditModel } from '../../src/certifications/certification-audit';
import { certificationModel, type CertificationDoc } from '../../src/certifications/certification.model';
import { startTestApp, type TestApp } from '../support/app';
import { random } from '../support/builders';

describe('awardExternal (an approved proof)', () => {
  let t: TestApp;
  let cert: CertificationDoc;
  const approver = { kind: 'teacher' as const, userId: 'approver-1', name: 'Ann Approver' };
  before(async () => {
    t = await startTestApp();
    const now = new Date();
    const actor = { kind: 'admin' as const, name: 'Admin' };
    cert = (
      await certificationModel(t.db.connection).create({
        issuer: 'https://external.example',
        clientId: 'ext',
        name: 'First aid',
        overview: 'Red Cross first aid',
        issuerName: 'Red Cross',
        kind: 'external',
        validity: { kind: 'recurring', validForMonths: 24, renewalWindowDays: 60 },
        onCourseRevoked: 'revoke',
        assignment: { everyone: true, userIds: [] },
        version: 1,
        publishedAt: now,
        archivedAt: null,
        createdAt: now,
        createdBy: actor,
        updatedAt: now,
        updatedBy: actor,
      })
    ).toObject() as CertificationDoc;
  });

  it('issues with the learner\'s completion date, and renews as a new version superseding the old', async () => {
    const announced: string[] = [];
    onAwardIssued(t.db.connection, async (a, event) => void announced.push(`${event}:${a.version}`));
    const userId = `u-${new Types.ObjectId()}`;
    const completedAt = new Date('2026-03-10T00:00:00Z');
    const first = await awardExternal(t.db.connection, cert, { userId, learnerName: 'Rosie Cotton', completedAt, by: approver, proofId: 'proof-1', now: new Date(), random });
    expect(first).to.include({ version: 1, status: 'active', kind: 'external' });
    expect(first.completedAt.toISOString()).to.equal(completedAt.toISOString());
    expect(first.expiresAt!.toISOString()).to.equal(addMonths(completedAt, 24).toISOString());
    expect(first.basis).to.deep.equal([{ courseTitle: '', via: 'proof', completedAt }]);

    const second = await awardExternal(t.db.connection, cert, { userId, learnerName: 'Rosie Cotton', completedAt: new Date('2028-02-01T00:00:00Z'), by: approver, proofId: 'proof-2', now: new Date(), random });
    expect(second.version).to.equal(2);
    expect(second.supersedes!.equals(first._id)).to.equal(true);
    const old = await awardModel(t.db.connection).findById(first._id).lean();
    expect(old).to.include({ status: 'superseded' });
    expect((await findAwardByCode(t.db.connection, first.code, new Date()))!.newest!.award.code).to.equal(second.code);
    const audit = await certificationAuditModel(t.db.connection).find({ certificationId: cert._id, userId }).sort({ at: 1, _id: 1 }).lean();
    expect(audit.map((a) => [a.action, a.details.proofId])).to.deep.equal([
      ['award_issued', 'proof-1'],
      ['award_renewed', 'proof-2'],
    ]);
    expect(announced.filter((a) => a === 'issued:1' || a === 'renewed:2')).to.deep.equal(['issued:1', 'renewed:2']);
  });
});

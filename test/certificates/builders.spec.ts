import { expect } from 'chai';
import { issueModel } from '../../src/certificates/issue.model';
import { findByCode } from '../../src/certificates/certificate.queries';
import { buildCourse, buildDefinition, buildIssuedCertificate, buildLineItem, buildMember, buildResult, T0 } from '../support/builders';
import { useTestDatabase } from '../support/db';

describe('test builders (test/support/builders.ts)', () => {
  const db = useTestDatabase({ indexes: [issueModel] });

  it('build a learner who qualifies from a course, a line item, a member and a result, with overrides', async () => {
    const course = await buildCourse(db.connection, { title: 'Elvish' });
    const item = await buildLineItem(db.connection, { courseId: course._id, scoreMaximum: 20 });
    await buildMember(db.connection, { courseId: course._id, userId: 'sam', name: 'Sam Gamgee' });
    await buildResult(db.connection, { courseId: course._id, lineItemId: item._id, userId: 'sam', scoreGiven: 19, scoreMaximum: 20 });
    const definition = await buildDefinition(db.connection, course._id, { threshold: 90 });
    const certificate = await buildIssuedCertificate(db.connection, { definition, learner: { userId: 'sam' } });
    expect(certificate).to.include({ userId: 'sam', learnerName: 'Sam Gamgee', courseTitle: 'Elvish', scorePercent: 95 });
    expect(certificate.issuedAt.toISOString()).to.equal(T0.toISOString());
  });

  it('build a verifiable certificate on a course of its own when given nothing', async () => {
    const a = await buildIssuedCertificate(db.connection);
    const b = await buildIssuedCertificate(db.connection);
    expect(a.courseId.equals(b.courseId)).to.equal(false);
    const found = await findByCode(db.connection, a.code, T0);
    expect(found?.certificate.learnerName).to.equal('Frodo Baggins');
  });
});

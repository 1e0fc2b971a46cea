import { expect } from 'chai';
import { Types } from 'mongoose';
import { useTestDatabase } from '../support/db';
import { listAudit, recordAudit } from '../../src/certificates/audit.service';
import { teacher } from '../support/builders';

describe('the certificate audit log', () => {
  const db = useTestDatabase();

  it('pages through a course\'s entries newest first, and never shows another course\'s', async () => {
    const courseId = new Types.ObjectId();
    const other = new Types.ObjectId();
    const at = (m: number) => new Date(Date.UTC(2025, 4, 3, 10, m));
    // two entries share a timestamp, so the page boundary must break the tie
    await recordAudit(db.connection, [0, 1, 2, 2, 3].map((m, i) => ({ courseId, action: 'certificate_issued' as const, actor: teacher, at: at(m), details: { n: i } })));
    await recordAudit(db.connection, { courseId: other, action: 'generate_all', actor: teacher, at: at(9) });

    const page1 = await listAudit(db.connection, courseId, { limit: 2 });
    const page2 = await listAudit(db.connection, courseId, { limit: 2, before: page1.nextBefore! });
    const page3 = await listAudit(db.connection, courseId, { limit: 2, before: page2.nextBefore! });
    const seen = [...page1.entries, ...page2.entries, ...page3.entries].map((e) => e.details.n);
    expect(seen).to.have.length(5);
    expect(new Set(seen).size).to.equal(5);
    expect(seen[0]).to.equal(4);
    expect(seen[4]).to.equal(0);
    expect(page3.nextBefore).to.equal(null);
    expect(page1.entries[0]).to.deep.include({ action: 'certificate_issued', courseId: String(courseId) });
    expect((await listAudit(db.connection, other)).entries.map((e) => e.action)).to.deep.equal(['generate_all']);
  });
});

/**
 * A Chamilo column whose maximum the file gives by its "x / max" cells may hold "60 %" cells too:
 * those are converted with the file's maximum. When the teacher corrects that maximum on the
 * preview, the percentage cells are converted with the corrected one (60 % stays 60 %), the
 * "x / max" cells keep their points.
 */
import { expect } from 'chai';
import { Types } from 'mongoose';
import { applyCsvImport, previewCsvImport, reviseCsvPreview } from '../../src/grades/csv/csv-import.service';
import { parseGradebookCsv } from '../../src/grades/csv/gradebook-csv';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { useTestDatabase } from '../support/db';

describe('A corrected maximum of a Chamilo column with percentage cells', () => {
  const db = useTestDatabase();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  it('converts its percentage cells again with the corrected maximum, in the preview and in the stored grades', async () => {
    const courseId = new Types.ObjectId();
    const base = { courseId, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'], isLearner: true, status: 'active', fetchedAt: now };
    await memberModel(db.connection).insertMany([
      { ...base, userId: 'u-ada', name: 'Ada Jansen', username: 'ada' },
      { ...base, userId: 'u-bob', name: 'Bob Smit', username: 'bob' },
    ]);
    // Chamilo 1.11's flat view export (Code;First name;Last name;Username;<evaluation> <weight> %;…;TOTAL;).
    const csv = ['Code;First name;Last name;Username;Quiz 1 100 % ;TOTAL;', ';Ada;Jansen;ada;12 / 20 ;60.00 ;', ';Bob;Smit;bob;60 % ;60.00 ;'].join('\r\n');
    const parsed = parseGradebookCsv(Buffer.from(csv), { maxBytes: 1024 * 1024 });
    const first = await previewCsvImport(db.connection, courseId, parsed, { now: () => now });
    const key = first.items[0]!.key;
    expect(first.items[0]).to.include({ scoreMaximum: 20, maximumFrom: 'file' });
    const scores = (p: typeof first) => p.changes.map((c) => `${c.name} ${c.new.scoreGiven}/${c.new.scoreMaximum}`).sort();
    expect(scores(first)).to.deep.equal(['Ada Jansen 12/20', 'Bob Smit 12/20']);

    // The quiz is out of 25: Ada's 12 points stay 12, Bob's 60 % becomes 15 of 25.
    const corrected = await reviseCsvPreview(db.connection, courseId, first.id, { maxima: { [key]: 25 }, zeroIsReal: false }, { now: () => now });
    expect(corrected.items[0]).to.include({ scoreMaximum: 25, maximumFrom: 'corrected', fileMaximum: 20 });
    expect(scores(corrected)).to.deep.equal(['Ada Jansen 12/25', 'Bob Smit 15/25']);
    expect(corrected.ready).to.equal(true);

    await applyCsvImport(db.connection, courseId, corrected, { startedBy: { userId: 't1', name: 'Teacher' }, now: () => now });
    const item = await lineItemModel(db.connection).findOne({ courseId, externalId: key }).lean();
    expect(item).to.include({ scoreMaximum: 25 });
    const results = await resultModel(db.connection).find({ courseId, lineItemId: item!._id }).lean();
    expect(results.map((r) => `${r.userId} ${r.scoreGiven}/${r.scoreMaximum}`).sort()).to.deep.equal(['u-ada 12/25', 'u-bob 15/25']);
  });
});

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Types } from 'mongoose';
import type { Database } from '../../src/db/connect';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { applyCsvImport, previewCsvImport } from '../../src/grades/csv/csv-import.service';
import { parseGradebookCsv } from '../../src/grades/csv/gradebook-csv';
import { loadCourseGrades } from '../../src/grades/course-grades.service';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { connectTestDatabase } from '../support/db';

const FIXTURES = join(__dirname, '..', 'fixtures', 'csv');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const MB = 1024 * 1024;
const parseFixture = (name: string) => parseGradebookCsv(fixture(name), { maxBytes: 5 * MB });

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

describe('Gradebook CSV: parseGradebookCsv', () => {
  describe('Canvas export', () => {
    it('reads assignments with their Points Possible, and leaves totals, the test student and 0-point columns out', () => {
      const g = parseFixture('canvas-gradebook.csv');
      expect(g).to.include({ format: 'canvas', encoding: 'utf-8', delimiter: ',' });
      expect(g.items.map((i) => [i.key, i.label, i.scoreMaximum])).to.deep.equal([
        ['canvas:1201', 'Quiz 1', 10],
        ['canvas:1202', 'Essay: Climate, causes and effects', 25],
        ['canvas:1203', 'Lab report', 100],
      ]);
      expect(g.rows.map((r) => r.name)).to.deep.equal(['Anderson, Mia', 'Bakker, Joris', 'Chen, Li', 'Dubois, Élodie', 'Nowak, Piotr']);
      expect(g.skipped).to.deep.equal([{ row: 4, reason: "Canvas's test student" }]);
      expect(g.warnings.join()).to.match(/Extra credit/);
      expect(g.rows[0]).to.deep.include({ row: 5, userId: '1001', sisId: 'S1001', login: 'mia.anderson@uni.test', scores: [8.5, 22, 91] });
      // EX (excused) and empty cells are "no score"
      expect(g.rows[1]!.scores).to.deep.equal([10, null, 78.5]);
      expect(g.rows[2]!.scores).to.deep.equal([null, 19.5, null]);
    });

    it('reads the same export saved by Excel as UTF-16LE "Unicode text" with tabs', () => {
      const g = parseFixture('canvas-gradebook-excel-utf16.txt');
      expect(g).to.include({ format: 'canvas', encoding: 'utf-16le', delimiter: '\t' });
      expect(g.rows[3]!.name).to.equal('Dubois, Élodie');
      expect(g.rows.map((r) => r.scores)).to.deep.equal(parseFixture('canvas-gradebook.csv').rows.map((r) => r.scores));
    });
  });

  describe('Moodle plain-text export', () => {
    it('derives maxima from Percentage columns, uses 100 for percentages alone, and asks for Real alone', () => {
      const g = parseFixture('moodle-grades.csv');
      expect(g).to.include({ format: 'moodle', delimiter: ',' });
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['Quiz: Week 1 quiz', 10, 'derived'],
        ['Assignment: Final essay', 100, 'derived'],
        ['Assignment: Lab notebook', null, 'unknown'],
        ['Workshop: Peer review', 100, 'percentage'],
      ]);
      expect(g.items.map((i) => i.label)).to.not.include.members(['Course total', 'Practical work total']);
      expect(g.rows[0]).to.deep.include({ name: 'Mia Anderson', sisId: 'S1001', email: 'mia.anderson@uni.test', scores: [8.5, 72, 18, 90] });
      expect(g.rows[1]!.scores).to.deep.equal([10, null, 15.5, 75]);
    });

    it('reads a Windows-1252 file with semicolons and decimal commas', () => {
      const g = parseFixture('moodle-grades-excel-cp1252.csv');
      expect(g).to.include({ format: 'moodle', encoding: 'windows-1252', delimiter: ';' });
      expect(g.rows.map((r) => [r.name, r.scores])).to.deep.equal([
        ['Élodie Dubois', [7.5, 88]],
        ['François Lefèvre', [9.25, null]],
      ]);
    });
  });

  describe('Chamilo flat-view export', () => {
    it('reads items between Username and TOTAL, taking "<name> <weight> %" as a weight, not a maximum', () => {
      const g = parseFixture('chamilo-gradebook.csv');
      expect(g).to.include({ format: 'chamilo', delimiter: ';' });
      expect(g.items.map((i) => [i.key, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['chamilo:Quiz 1', null, 'unknown'],
        ['chamilo:Assignment: lab work', null, 'unknown'],
        ['chamilo:Attendance', null, 'unknown'],
      ]);
      expect(g.rows.map((r) => [r.name, r.login, r.scores])).to.deep.equal([
        ['Ana García', 'agarcia', [12, 24.5, 9]],
        ['Bruno Lefèvre', 'blefevre', [18, null, 10]],
        ['Chloé Martin', 'chloe.martin@uni.test', [7.5, 30, 6]],
      ]);
    });

    it('reads maxima from "x / y" cells (other score display settings, French labels)', () => {
      const g = parseFixture('chamilo-gradebook-scores.csv');
      expect(g.items.map((i) => [i.label, i.scoreMaximum])).to.deep.equal([
        ['Quiz 1', 20],
        ['Assignment: lab work', 30],
      ]);
      expect(g.rows[0]!.scores).to.deep.equal([12, 24.5]);
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, RegExp, Record<string, unknown>]> = [
      ['bad-roster-not-gradebook.csv', /^Row 1: this is not a gradebook export .*"Name, Email, Phone"/, { row: 1, reason: 'not_a_gradebook' }],
      ['bad-junk.csv', /^Row 1: this is not a gradebook export/, { row: 1, reason: 'not_a_gradebook' }],
      ['bad-binary.csv', /not a text file/, { reason: 'binary' }],
      ['bad-utf32.csv', /UTF-32/, { reason: 'encoding' }],
      ['bad-workbook.xlsx', /Excel workbook/, { reason: 'workbook' }],
      ['bad-canvas-score-not-a-number.csv', /^Row 6, column "Essay: Climate, causes and effects \(1202\)": "twelve" is not a number\.$/, { row: 6, column: 'Essay: Climate, causes and effects (1202)' }],
      ['bad-canvas-score-over-maximum.csv', /^Row 9, column "Essay: .*": 30 is above the maximum 25\.$/, { row: 9, reason: 'out_of_range' }],
      ['bad-moodle-duplicate-students.csv', /^Rows 2 and 4 are the same student \(email "mia.anderson@uni.test"\)/, { row: 4, reason: 'duplicate_student' }],
    ];
    for (const [file, message, details] of cases) {
      it(`refuses ${file}, naming the row or column at fault`, () => {
        const err = refusal(() => parseFixture(file));
        expect(err.message).to.match(message);
        expect(err.details).to.include(details);
      });
    }

    it('refuses 50 MB of junk on its size, before reading it', () => {
      const junk = Buffer.alloc(50 * MB, 'x,');
      const started = Date.now();
      const err = refusal(() => parseGradebookCsv(junk, { maxBytes: 5 * MB }));
      expect(err.details).to.include({ reason: 'too_large' });
      expect(err.message).to.match(/50\.0 MB; the limit is 5\.0 MB/);
      expect(Date.now() - started).to.be.below(200);
    });

    it('refuses a negative score', () => {
      const text = readFileSync(join(FIXTURES, 'moodle-grades.csv'), 'utf8').replace('8.50,85.00 %', '-1.00,-10.00 %');
      const err = refusal(() => parseGradebookCsv(Buffer.from(text), { maxBytes: MB }));
      expect(err.details).to.include({ row: 2, column: 'Quiz: Week 1 quiz (Real)', reason: 'out_of_range' });
    });

    it('refuses an empty file', () => {
      expect(refusal(() => parseGradebookCsv(Buffer.alloc(0), { maxBytes: MB })).details).to.include({ reason: 'empty' });
    });
  });
});

describe('Gradebook CSV: preview and apply', () => {
  let db: Database;
  // Previews expire through a TTL index that the database sweeps by its own clock, so these
  // tests run near the real time: "3 May" is now, "12 May" nine days later.
  const MAY_3 = new Date(Math.floor(Date.now() / 1000) * 1000);
  const MAY_12 = new Date(MAY_3.getTime() + 9 * 24 * 3600 * 1000);
  const teacher = { userId: 't1', name: 'Teacher' };

  before(async () => {
    db = await connectTestDatabase();
  });
  after(async () => {
    await db.close();
  });

  /** A course whose roster knows the Canvas students by LTI ids (UUID-like), SIS ids and emails. */
  async function courseWithRoster() {
    const courseId = new Types.ObjectId();
    const base = { courseId, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'], isLearner: true, status: 'active', fetchedAt: MAY_3 };
    await memberModel(db.connection).insertMany([
      { ...base, userId: 'a1b2-mia', name: 'Mia Anderson', email: 'Mia.Anderson@uni.test', lisPersonSourcedId: 'S1001' },
      { ...base, userId: 'c3d4-joris', name: 'Joris Bakker', lisPersonSourcedId: 's1002' },
      { ...base, userId: 'e5f6-li', name: 'Li Chen', email: 'li.chen@uni.test' },
      { ...base, userId: '1004', name: 'Élodie Dubois' },
      { ...base, userId: 'g7h8-other', name: 'Not in the file', email: 'other@uni.test' },
    ]);
    return courseId;
  }

  async function counts(courseId: Types.ObjectId) {
    return {
      items: await lineItemModel(db.connection).countDocuments({ courseId }),
      results: await resultModel(db.connection).countDocuments({ courseId }),
    };
  }

  it('matches rows by SIS id, email and LMS id (case-insensitive), lists the unmatched, and writes no grade', async () => {
    const courseId = await courseWithRoster();
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('canvas-gradebook.csv'), { now: () => MAY_3 });
    expect(preview.matched.map((m) => [m.row, m.userId, m.by])).to.deep.equal([
      [5, 'a1b2-mia', 'sisId'],
      [6, 'c3d4-joris', 'sisId'],
      [7, 'e5f6-li', 'login'],
      [8, '1004', 'userId'],
    ]);
    expect(preview.unmatched).to.have.length(1);
    expect(preview.unmatched[0]).to.deep.include({ row: 9, name: 'Nowak, Piotr', reason: 'no course member with these identifiers' });
    expect(preview.items.map((i) => [i.label, i.status, i.scoreMaximum])).to.deep.equal([
      ['Quiz 1', 'new', 10],
      ['Essay: Climate, causes and effects', 'new', 25],
      ['Lab report', 'new', 100],
    ]);
    // Mia 3 scores, Joris 2 (one excused), Li 1, Élodie 3
    expect(preview.counts).to.deep.equal({ rows: 5, matched: 4, unmatched: 1, changes: 9, unchanged: 0, newItems: 3 });
    expect(preview.changes[0]).to.deep.equal({
      row: 5,
      userId: 'a1b2-mia',
      name: 'Mia Anderson',
      key: 'canvas:1201',
      label: 'Quiz 1',
      old: null,
      new: { scoreGiven: 8.5, scoreMaximum: 10 },
    });
    expect(await counts(courseId)).to.deep.equal({ items: 0, results: 0 });
  });

  it('asks for maxima the file does not give: 100 by default, or the value the teacher typed', async () => {
    const courseId = await courseWithRoster();
    const parsed = parseFixture('moodle-grades.csv');
    const byDefault = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    expect(byDefault.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.include({ scoreMaximum: 100, maximumFrom: 'default' });
    const asked = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3, maxima: { 'moodle:Assignment: Lab notebook': 20 } });
    expect(asked.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.include({ scoreMaximum: 20, maximumFrom: 'asked' });
    const err = await rejection(previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3, maxima: { 'moodle:Assignment: Lab notebook': 10 } }));
    expect(err).to.be.instanceOf(ValidationError);
    expect(err.message).to.match(/^Row 2, column "Assignment: Lab notebook \(Real\)": 18 is above the maximum 10/);
  });

  it('applies exactly the preview: CSV line items and results that take part in the grades, and a csv sync run', async () => {
    const courseId = await courseWithRoster();
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('canvas-gradebook.csv'), { now: () => MAY_3 });
    const summary = await applyCsvImport(db.connection, courseId, preview, { startedBy: teacher, now: () => MAY_3 });
    expect(summary.status).to.equal('partial');
    expect(summary.counts).to.deep.equal({ items: 3, results: 9, members: 4, changed: 12, unchanged: 0, errors: 1 });
    expect(summary.errors[0]!.message).to.equal('Row 9 (Nowak, Piotr): no course member with these identifiers; not imported.');
    const items = await lineItemModel(db.connection).find({ courseId }).lean();
    expect(items.map((i) => [i.source, i.externalId, i.label, i.scoreMaximum])).to.deep.include.members([['csv', 'canvas:1201', 'Quiz 1', 10]]);
    const grades = await loadCourseGrades(db.connection, courseId);
    const quiz = grades.lineItems.find((li) => li.externalId === 'canvas:1201')!;
    expect(grades.resultsByUser.get('a1b2-mia')!.get(String(quiz._id))).to.include({ scoreGiven: 8.5, scoreMaximum: 10, source: 'csv' });
    const run = await syncRunModel(db.connection).findById(summary.runId).lean();
    expect(run).to.include({ source: 'csv', status: 'partial' });

    const again = await rejection(applyCsvImport(db.connection, courseId, preview.id, { startedBy: teacher, now: () => MAY_3 }));
    expect(again).to.be.instanceOf(ConflictError);
  });

  it('shows a re-upload with one changed score as one change (old → new), and keeps the old value in history', async () => {
    const courseId = await courseWithRoster();
    const first = await previewCsvImport(db.connection, courseId, parseFixture('canvas-gradebook.csv'), { now: () => MAY_3 });
    await applyCsvImport(db.connection, courseId, first, { startedBy: teacher, now: () => MAY_3 });

    const text = readFileSync(join(FIXTURES, 'canvas-gradebook.csv'), 'utf8').replace('8.50,22.00,91.00', '9.50,22.00,91.00');
    const second = await previewCsvImport(db.connection, courseId, parseGradebookCsv(Buffer.from(text), { maxBytes: MB }), { now: () => MAY_12 });
    expect(second.items.every((i) => i.status === 'existing')).to.equal(true);
    expect(second.counts).to.include({ changes: 1, unchanged: 8, newItems: 0 });
    expect(second.changes[0]).to.include({ userId: 'a1b2-mia', label: 'Quiz 1' });
    expect(second.changes[0]!.old).to.deep.equal({ scoreGiven: 8.5, scoreMaximum: 10 });
    expect(second.changes[0]!.new).to.deep.equal({ scoreGiven: 9.5, scoreMaximum: 10 });

    const summary = await applyCsvImport(db.connection, courseId, second, { startedBy: teacher, now: () => MAY_12 });
    expect(summary.counts.changed).to.equal(1);
    const quiz = await lineItemModel(db.connection).findOne({ courseId, externalId: 'canvas:1201' }).lean();
    const r = await resultModel(db.connection).findOne({ lineItemId: quiz!._id, userId: 'a1b2-mia' }).lean();
    expect(r).to.include({ scoreGiven: 9.5 });
    expect(r!.history).to.deep.equal([{ scoreGiven: 8.5, scoreMaximum: 10, from: MAY_3, to: MAY_12, source: 'csv' }]);
  });

  it('refuses to apply a preview when the grades changed since it was shown', async () => {
    const courseId = await courseWithRoster();
    const parsed = parseFixture('chamilo-gradebook-scores.csv');
    await memberModel(db.connection).insertMany([
      { courseId, userId: '31', email: 'agarcia', roles: [], isLearner: true, status: 'active', fetchedAt: MAY_3 },
      { courseId, userId: '32', lisPersonSourcedId: 'BLEFEVRE', roles: [], isLearner: true, status: 'active', fetchedAt: MAY_3 },
    ]);
    const stale = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    const fresh = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    expect(stale.matched.map((m) => m.userId)).to.deep.equal(['31', '32']);
    await applyCsvImport(db.connection, courseId, fresh, { startedBy: teacher, now: () => MAY_3 });
    const before = await counts(courseId);
    const err = await rejection(applyCsvImport(db.connection, courseId, stale, { startedBy: teacher, now: () => new Date(MAY_3.getTime() + 60_000) }));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.message).to.match(/changed since the preview/);
    expect(await counts(courseId)).to.deep.equal(before);
  });

  it('refuses an expired or unknown preview', async () => {
    const courseId = await courseWithRoster();
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('moodle-grades.csv'), { now: () => MAY_3, ttlMs: 60_000 });
    const err = await rejection(applyCsvImport(db.connection, courseId, preview, { startedBy: teacher, now: () => new Date(MAY_3.getTime() + 61_000) }));
    expect(err).to.be.instanceOf(NotFoundError);
    expect(await counts(courseId)).to.deep.equal({ items: 0, results: 0 });
    expect(await rejection(applyCsvImport(db.connection, courseId, 'nope', { startedBy: teacher, now: () => MAY_3 }))).to.be.instanceOf(NotFoundError);
    // A preview belongs to its course.
    expect(await rejection(applyCsvImport(db.connection, new Types.ObjectId(), preview, { startedBy: teacher, now: () => MAY_3 }))).to.be.instanceOf(NotFoundError);
  });

  it('lists a row matching the same member as an earlier row as unmatched', async () => {
    const courseId = await courseWithRoster();
    // Row 2 is Mia by SIS id (old email); row 3 has an unknown SIS id but Mia's email.
    const text = readFileSync(join(FIXTURES, 'moodle-grades.csv'), 'utf8')
      .replace('S1001,Uni Test,Biology,mia.anderson@uni.test', 'S1001,Uni Test,Biology,mia@old.test')
      .replace('S1002,Uni Test,Biology,Joris.Bakker@uni.test', 'S7777,Uni Test,Biology,MIA.ANDERSON@uni.test');
    const preview = await previewCsvImport(db.connection, courseId, parseGradebookCsv(Buffer.from(text), { maxBytes: MB }), { now: () => MAY_3 });
    expect(preview.unmatched.find((u) => u.row === 3)).to.include({ reason: 'the same course member as row 2' });
  });
});

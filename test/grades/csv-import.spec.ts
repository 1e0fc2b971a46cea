import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Types } from 'mongoose';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { applyCsvImport, previewCsvImport, reviseCsvPreview } from '../../src/grades/csv/csv-import.service';
import { MaximaMissingError } from '../../src/grades/csv/import.errors';
import { csvPreviewModel } from '../../src/grades/csv/csv-preview.model';
import { parseGradebookCsv } from '../../src/grades/csv/gradebook-csv';
import { loadCourseGrades } from '../../src/grades/course-grades.service';
import { lineItemModel } from '../../src/grades/line-item.model';
import { memberModel } from '../../src/grades/member.model';
import { resultModel } from '../../src/grades/result.model';
import { syncRunModel } from '../../src/grades/sync-run.model';
import { useTestDatabase } from '../support/db';
import { issueModel } from '../../src/certificates/issue.model';
import { previewCertificateImpact } from '../../src/certificates/grade-change-impact';
import { evaluateEligibility } from '../../src/certificates/evaluate';
import { claimCertificate } from '../../src/certificates/issue.service';
import { listLearnerCertificates } from '../../src/certificates/certificate.queries';
import { findStaleCertificates, runAfterSync } from '../../src/certificates/stale.service';
import { seedCourse, seedDefinition } from '../certificates/factories';

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

  describe('as the platforms write them (synthetic files in the real layouts until test/fixtures/csv/real/ has the real ones)', () => {
    it('Chamilo 1.11: Code;First name;Last name;Username;<item> <weight> % ;…;TOTAL; — the weight is no maximum, and every 0 is flagged', () => {
      const g = parseFixture('chamilo-1.11-flatview-synthetic.csv');
      expect(g).to.include({ format: 'chamilo', delimiter: ';' });
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['Quiz 1', null, 'unknown'],
        ['Lab report', null, 'unknown'],
        ['Final exam', null, 'unknown'],
      ]);
      expect(g.rows[0]).to.deep.include({ name: 'Ana García', login: 'agarcia', sisId: 'US001', scores: [12, 24.5, 40] });
      expect(g.rows[0]!.zeros).to.equal(undefined);
      // "0" and "0.00": a real zero or not graded, Chamilo does not say which
      expect(g.rows[1]).to.deep.include({ login: 'blefevre', scores: [18, 0, 45], zeros: [false, true, false] });
      expect(g.rows[2]).to.deep.include({ login: 'cmartin', sisId: undefined, zeros: [true, true, true] });
    });

    it('Moodle 4.5: "Real" alone gives no maximum, and External tool columns are marked as the tool\'s own activities', () => {
      const g = parseFixture('moodle-4.5-real-only-external-tool-synthetic.csv');
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom, i.externalTool ?? null])).to.deep.equal([
        ['Quiz: Week 1 quiz', null, 'unknown', null],
        ['External tool: Certificates', null, 'unknown', 'Certificates'],
        ['External tool: Peer tutoring', null, 'unknown', 'Peer tutoring'],
        ['Assignment: Final essay', null, 'unknown', null],
      ]);
      expect(g.rows[1]!.scores).to.deep.equal([10, null, null, 15.5]);
    });

    it('Canvas: "LastName, FirstName" columns, a custom column, N/A and EX as no score, maxima from Points Possible', () => {
      const g = parseFixture('canvas-gradebook-first-last-synthetic.csv');
      expect(g.items.map((i) => [i.key, i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['canvas:1201', 'Quiz 1', 10, 'file'],
        ['canvas:1203', 'Lab report', 20, 'file'],
      ]);
      expect(g.rows.map((r) => [r.name, r.userId, r.login, r.scores])).to.deep.equal([
        ['Mia Anderson', '1001', 'mia.anderson@uni.test', [8.5, null]],
        ['Joris Bakker', '1002', 'joris.bakker@uni.test', [null, 17]],
      ]);
      expect(g.skipped).to.deep.equal([{ row: 5, reason: "Canvas's test student" }]);
    });
  });

  describe('files written by a real Moodle 4.5.6 (test/fixtures/csv/real/)', () => {
    it('Real only: every item without a maximum, "-" as ungraded, the course total left out', () => {
      const g = parseFixture('real/moodle-4.5.6-real.csv');
      expect(g).to.include({ format: 'moodle', delimiter: ',' });
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom, i.externalTool ?? null])).to.deep.equal([
        ['Quiz: Quiz 1', null, 'unknown', null],
        ['Assignment: Essay', null, 'unknown', null],
        ['Oral exam', null, 'unknown', null],
        ['External tool: Final project (tool)', null, 'unknown', 'Final project (tool)'],
      ]);
      expect(g.rows.map((r) => [r.name, r.sisId, r.email, r.scores])).to.deep.equal([
        ['Carl Gauss', 'L003', 'learner3@example.com', [8, 15, 16, null]],
        ['Emmy Klein', 'L005', 'learner5@example.com', [10, 19, null, null]],
        ['Ada Lovelace', 'L001', 'learner1@example.com', [10, 18, 17, null]],
        ['Dora Noether', 'L004', 'learner4@example.com', [6, 12, 10, null]],
        ['Blaise Pascal', 'L002', 'learner2@example.com', [8, 16, 16, null]],
      ]);
    });

    it('Real + Percentage: the maxima follow from the two columns', () => {
      const g = parseFixture('real/moodle-4.5.6-real-percentage.csv');
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['Quiz: Quiz 1', 10, 'derived'],
        ['Assignment: Essay', 20, 'derived'],
        ['Oral exam', 20, 'derived'],
        // never graded: nothing to derive from
        ['External tool: Final project (tool)', null, 'unknown'],
      ]);
      expect(g.rows[0]!.scores).to.deep.equal([8, 15, 16, null]);
    });

    it('with the Username profile field: rows carry the login', () => {
      const g = parseFixture('real/moodle-4.5.6-real-with-username.csv');
      expect(g.rows.map((r) => r.login)).to.deep.equal(['learner3', 'learner5', 'learner1', 'learner4', 'learner2']);
    });
  });

  describe('files written by a real Chamilo 1.11.28 (test/fixtures/csv/real/)', () => {
    it('flat view CSV: the weight in each header is no maximum, an empty cell is no result, and a 0 is flagged', () => {
      const g = parseFixture('real/chamilo-1.11.28-flatview.csv');
      expect(g).to.include({ format: 'chamilo', delimiter: ';' });
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['Written exam', null, 'unknown'],
        ['Oral exam', null, 'unknown'],
        ['Project', null, 'unknown'],
        ['Certificates', null, 'unknown'],
      ]);
      expect(g.rows.map((r) => [r.sisId, r.name, r.login, r.scores])).to.deep.equal([
        ['L003', 'Carl Gauss', 'learner3', [16, 8, 15, null]],
        ['L005', 'Emmy Klein', 'learner5', [19, 10, null, null]],
        ['L001', 'Ada Lovelace', 'learner1', [18, 9, 17, null]],
        ['L004', 'Dora Noether', 'learner4', [12, 0, 10, null]],
        ['L002', 'Blaise Pascal', 'learner2', [16, 8, 16, null]],
      ]);
      expect(g.rows[3]!.zeros).to.deep.equal([false, true, false, false]);
    });

    it('"only numbers" export: percentages out of 100, the missing result written as 0 % and flagged like the real 0', () => {
      const g = parseFixture('real/chamilo-1.11.28-flatview-only-numbers.csv');
      expect(g.items.map((i) => [i.label, i.scoreMaximum, i.maximumFrom])).to.deep.equal([
        ['Written exam', 100, 'percentage'],
        ['Oral exam', 100, 'percentage'],
        ['Project', 100, 'percentage'],
        ['Certificates', 100, 'percentage'],
      ]);
      expect(g.rows[1]).to.deep.include({ login: 'learner5', scores: [95, 100, 0, 0], zeros: [false, false, true, true] });
      expect(g.rows[3]).to.deep.include({ login: 'learner4', scores: [60, 0, 50, 0], zeros: [false, true, false, true] });
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
  // The certificates' unique indexes guard the re-issue after an import.
  const db = useTestDatabase({ indexes: [issueModel] });
  // Previews expire through a TTL index that the database sweeps by its own clock, so these
  // tests run near the real time: "3 May" is now, "12 May" nine days later.
  const MAY_3 = new Date(Math.floor(Date.now() / 1000) * 1000);
  const MAY_12 = new Date(MAY_3.getTime() + 9 * 24 * 3600 * 1000);
  const teacher = { userId: 't1', name: 'Teacher' };

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
    expect(preview.unmatched[0]).to.deep.include({ row: 9, name: 'Nowak, Piotr', reason: 'no_member' });
    expect(preview.items.map((i) => [i.label, i.status, i.scoreMaximum])).to.deep.equal([
      ['Quiz 1', 'new', 10],
      ['Essay: Climate, causes and effects', 'new', 25],
      ['Lab report', 'new', 100],
    ]);
    // Mia 3 scores, Joris 2 (one excused), Li 1, Élodie 3
    expect(preview.counts).to.deep.equal({ rows: 5, matched: 4, unmatched: 1, changes: 9, unchanged: 0, newItems: 3, zeros: 0 });
    expect(preview.ready).to.equal(true);
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

  it('asks for maxima the file does not give (Moodle "Real" alone) and cannot be applied before they are entered', async () => {
    const courseId = await courseWithRoster();
    const parsed = parseFixture('moodle-grades.csv');
    const unanswered = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    expect(unanswered.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.include({ scoreMaximum: null, maximumFrom: 'unknown' });
    expect(unanswered.ready).to.equal(false);
    expect(unanswered.missingMaxima).to.deep.equal(['Assignment: Lab notebook']);
    // No score of that column is planned: 18/100 must never be offered for 18/20.
    expect(unanswered.changes.filter((c) => c.key === 'moodle:Assignment: Lab notebook')).to.deep.equal([]);
    const refused = await rejection(applyCsvImport(db.connection, courseId, unanswered, { startedBy: teacher, now: () => MAY_3 }));
    expect(refused).to.be.instanceOf(MaximaMissingError);
    expect(refused.message).to.equal('Nothing was applied: enter the maximum of this column first: Assignment: Lab notebook.');
    expect(refused).to.deep.include({ messageKey: 'grades.apply.maximaMissing', messageParams: { columns: 'Assignment: Lab notebook', n: 1 } });
    expect(await counts(courseId)).to.deep.equal({ items: 0, results: 0 });

    const tooLow = await reviseCsvPreview(db.connection, courseId, unanswered.id, { maxima: { 'moodle:Assignment: Lab notebook': 10 }, zeroIsReal: false }, { now: () => MAY_3 });
    expect(tooLow.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.deep.include({ scoreMaximum: 10, aboveMaximum: { row: 2, score: 18 } });
    expect(tooLow.ready).to.equal(false);

    const answered = await reviseCsvPreview(db.connection, courseId, unanswered.id, { maxima: { 'moodle:Assignment: Lab notebook': 20 }, zeroIsReal: false }, { now: () => MAY_3 });
    expect(answered.id).to.equal(unanswered.id);
    expect(answered.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.include({ scoreMaximum: 20, maximumFrom: 'asked' });
    expect(answered.ready).to.equal(true);
    await applyCsvImport(db.connection, courseId, answered, { startedBy: teacher, now: () => MAY_3 });
    const lab = await lineItemModel(db.connection).findOne({ courseId, externalId: 'moodle:Assignment: Lab notebook' }).lean();
    expect(lab).to.include({ scoreMaximum: 20 });
    expect(await resultModel(db.connection).findOne({ lineItemId: lab!._id, userId: 'a1b2-mia' }).lean()).to.include({ scoreGiven: 18, scoreMaximum: 20 });

    // The next export of the same column: the maximum from the earlier import is offered, to be checked.
    const again = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    expect(again.items.find((i) => i.key === 'moodle:Assignment: Lab notebook')).to.include({ scoreMaximum: 20, maximumFrom: 'stored' });
    expect(again.ready).to.equal(true);
  });

  it('refuses a maximum of 0, below 0 or not a number at the service too (the stored preview unchanged), and a corrected answer re-plans the same preview', async () => {
    const courseId = await courseWithRoster();
    const parsed = parseFixture('moodle-grades.csv');
    const key = 'moodle:Assignment: Lab notebook';
    const first = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3 });
    const answered = await reviseCsvPreview(db.connection, courseId, first.id, { maxima: { [key]: 20 }, zeroIsReal: false }, { now: () => MAY_3 });
    expect(answered.ready).to.equal(true);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const refused = await rejection(reviseCsvPreview(db.connection, courseId, first.id, { maxima: { [key]: bad }, zeroIsReal: false }, { now: () => MAY_3 }));
      expect(refused, String(bad)).to.be.instanceOf(ValidationError);
      expect(refused.message).to.equal('The maximum of “Assignment: Lab notebook” must be a number greater than 0.');
      const stored = await csvPreviewModel(db.connection).findOne({ _id: first.id as never }).lean();
      expect(stored!.items.find((i) => i.key === key), String(bad)).to.include({ scoreMaximum: 20, maximumFrom: 'asked' });
      expect(stored!.ready, String(bad)).to.equal(true);
    }
    // Corrected: 25 instead of 20, the same preview, the planned scores out of 25; applied as such.
    const corrected = await reviseCsvPreview(db.connection, courseId, first.id, { maxima: { [key]: 25 }, zeroIsReal: false }, { now: () => MAY_3 });
    expect(corrected.id).to.equal(first.id);
    expect(corrected.items.find((i) => i.key === key)).to.include({ scoreMaximum: 25, maximumFrom: 'asked' });
    const lab = corrected.changes.filter((c) => c.key === key);
    expect(lab.length).to.be.greaterThan(0);
    expect(lab.map((c) => c.new.scoreMaximum)).to.deep.equal(lab.map(() => 25));
    await applyCsvImport(db.connection, courseId, corrected, { startedBy: teacher, now: () => MAY_3 });
    const item = await lineItemModel(db.connection).findOne({ courseId, externalId: key }).lean();
    expect(item).to.include({ scoreMaximum: 25 });
    expect(await resultModel(db.connection).findOne({ lineItemId: item!._id, userId: 'a1b2-mia' }).lean()).to.include({ scoreGiven: 18, scoreMaximum: 25 });
  });

  it('applies exactly the preview: CSV line items and results that take part in the grades, and a csv sync run', async () => {
    const courseId = await courseWithRoster();
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('canvas-gradebook.csv'), { now: () => MAY_3 });
    const summary = await applyCsvImport(db.connection, courseId, preview, { startedBy: teacher, now: () => MAY_3 });
    expect(summary.status).to.equal('partial');
    // The import is the csv grade source run by the generic sync: 3 new columns + 9 new results.
    expect(summary.counts).to.deep.include({ items: 3, results: 9, members: 4, changed: 12, errors: 1 });
    expect(summary.errors[0]!.message).to.equal('Row 9 (Nowak, Piotr): no course member with these identifiers; not imported.');
    expect(summary.errors[0]).to.deep.include({ key: 'grades.syncError.csv.unmatched.no_member', params: { row: 9, name: 'Nowak, Piotr' } });
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
    expect(preview.unmatched.find((u) => u.row === 3)).to.include({ reason: 'duplicate', earlierRow: 2 });
  });

  /** A Chamilo course: members known by their LTI id and the username their launches carried, no email. */
  async function chamiloCourse() {
    const courseId = new Types.ObjectId();
    const base = { courseId, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'], isLearner: true, status: 'active', fetchedAt: MAY_3 };
    await memberModel(db.connection).insertMany([
      { ...base, userId: '11', name: 'Ana García', username: 'AGarcia' },
      { ...base, userId: '12', name: 'Bruno Lefèvre', username: 'blefevre' },
      { ...base, userId: '13', name: 'Chloé Martin', username: 'cmartin' },
      { ...base, userId: '14', name: 'Dario Rossi' },
    ]);
    return courseId;
  }
  const chamiloMaxima = { 'chamilo:Quiz 1': 20, 'chamilo:Lab report': 30, 'chamilo:Final exam': 50 };

  it('matches Chamilo rows by the username learned at launch, and lists a learner whose username is unknown', async () => {
    const courseId = await chamiloCourse();
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('chamilo-1.11-flatview-synthetic.csv'), { now: () => MAY_3, maxima: chamiloMaxima });
    expect(preview.matched.map((m) => [m.row, m.userId, m.by])).to.deep.equal([
      [2, '11', 'username'],
      [3, '12', 'username'],
      [4, '13', 'username'],
    ]);
    expect(preview.unmatched.map((u) => [u.row, u.name, u.reason])).to.deep.equal([
      [5, 'Dario Rossi', 'no_member'],
      [6, 'Eve Nobody', 'no_member'],
    ]);
    expect(preview.noUsernames).to.equal(false);
  });

  it('never imports a Chamilo 0 as a grade unless the teacher confirms it is a real zero', async () => {
    const courseId = await chamiloCourse();
    const parsed = parseFixture('chamilo-1.11-flatview-synthetic.csv');
    const unconfirmed = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3, maxima: chamiloMaxima });
    // Bruno's lab report and Chloé's three cells are 0 in the file
    expect(unconfirmed.counts).to.include({ zeros: 4, changes: 5 });
    expect(unconfirmed.changes.some((c) => c.new.scoreGiven === 0)).to.equal(false);
    await applyCsvImport(db.connection, courseId, unconfirmed, { startedBy: teacher, now: () => MAY_3 });
    const grades = await loadCourseGrades(db.connection, courseId);
    const lab = grades.lineItems.find((li) => li.externalId === 'chamilo:Lab report')!;
    expect(grades.resultsByUser.get('12')?.get(String(lab._id))).to.equal(undefined);
    // so "all counted activities graded" sees Bruno's lab report as not graded
    const definition = { items: { mode: 'all' as const }, thresholdPercent: 50, requireAllGraded: true };
    const bruno = evaluateEligibility(definition, { lineItems: grades.lineItems, results: grades.resultsByUser.get('12') ?? new Map() });
    expect(bruno.reasons.map((r) => r.code)).to.include('not_all_graded');

    const confirmed = await previewCsvImport(db.connection, courseId, parsed, { now: () => MAY_3, maxima: chamiloMaxima, zeroIsReal: true });
    expect(confirmed.counts).to.include({ zeros: 4, changes: 4, unchanged: 5 });
    expect(confirmed.changes.filter((c) => c.userId === '12').map((c) => [c.label, c.new.scoreGiven])).to.deep.equal([['Lab report', 0]]);
  });

  it('treats Moodle\'s "External tool: X" as the AGS line item X, never as a column beside it', async () => {
    const courseId = await courseWithRoster();
    const [certificates] = await lineItemModel(db.connection).insertMany([
      { courseId, source: 'ags', externalId: 'https://moodle.test/mod/lti/services.php/2/lineitems/7/lineitem', label: 'Certificates', scoreMaximum: 1, fetchedAt: MAY_3 },
    ]);
    const maxima = { 'moodle:Quiz: Week 1 quiz': 10, 'moodle:External tool: Peer tutoring': 10, 'moodle:Assignment: Final essay': 20 };
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('moodle-4.5-real-only-external-tool-synthetic.csv'), { now: () => MAY_3, maxima });
    const twin = preview.items.find((i) => i.key === 'moodle:External tool: Certificates')!;
    expect(twin).to.deep.include({ status: 'ags', sameAs: { lineItemId: String(certificates!._id), label: 'Certificates' } });
    // no maximum is asked for it, and it is never planned
    expect(preview.ready).to.equal(true);
    expect(preview.changes.filter((c) => c.key === twin.key)).to.deep.equal([]);
    // an external tool the tool does not know over AGS is imported as its own column
    expect(preview.items.find((i) => i.key === 'moodle:External tool: Peer tutoring')).to.include({ status: 'new' });
    await applyCsvImport(db.connection, courseId, preview, { startedBy: teacher, now: () => MAY_3 });
    const labels = (await lineItemModel(db.connection).find({ courseId }).lean()).map((li) => [li.source, li.label]);
    expect(labels).to.have.deep.members([
      ['ags', 'Certificates'],
      ['csv', 'Quiz: Week 1 quiz'],
      ['csv', 'External tool: Peer tutoring'],
      ['csv', 'Assignment: Final essay'],
    ]);
  });

  it('says before applying who becomes eligible and whose certificate turns stale, and the re-issue after the import does exactly that', async () => {
    // An earlier file brought "Final project" (Bilbo 9, Frodo 6, Sam 5) before the certificate was
    // defined, so "all activities" counts it: Bilbo 9,9,9 (90%) holds a certificate; Frodo 7,8,6
    // (70%) does not qualify. The new file changes the Final project scores.
    const course = await seedCourse(db.connection, { scores: [[9, 9], [7, 8], [5, 5]], names: ['Bilbo Baggins', 'Frodo Baggins', 'Sam Gamgee'], autoReissue: true });
    const now = () => MAY_3;
    const earlier = [
      'Student,ID,SIS User ID,SIS Login ID,Section,Final project (77),Current Score',
      '    Points Possible,,,,,10.00,(read only)',
      '"Baggins, Bilbo",,,user-1@example.org,A,9.00,90.00',
      '"Baggins, Frodo",,,user-2@example.org,A,6.00,70.00',
      '"Gamgee, Sam",,,user-3@example.org,A,5.00,50.00',
    ].join('\r\n');
    await applyCsvImport(db.connection, course.courseId, await previewCsvImport(db.connection, course.courseId, parseGradebookCsv(Buffer.from(earlier), { maxBytes: MB }), { now }), { startedBy: teacher, now });
    const definition = await seedDefinition(db.connection, course.courseId, { requireAllGraded: false, thresholdPercent: 80 });
    await claimCertificate(db.connection, { courseId: course.courseId, definitionId: definition._id, learner: { userId: 'user-1', name: 'Bilbo Baggins' }, now, random: randomBytes });
    const file = [
      'Student,ID,SIS User ID,SIS Login ID,Section,Final project (77),Current Score',
      '    Points Possible,,,,,10.00,(read only)',
      '"Baggins, Bilbo",,,user-1@example.org,A,10.00,93.33',
      '"Baggins, Frodo",,,user-2@example.org,A,10.00,83.33',
      '"Gamgee, Sam",,,user-3@example.org,A,6.00,53.33',
    ].join('\r\n');
    const preview = await previewCsvImport(db.connection, course.courseId, parseGradebookCsv(Buffer.from(file), { maxBytes: MB }), { now });
    const impact = await previewCertificateImpact(db.connection, course.courseId, preview.proposal, MAY_3);
    expect(impact.autoReissue).to.equal(true);
    expect(impact.counts).to.deep.equal({ becomeEligible: 1, turnStale: 1, reissued: 1, loseEligibility: 0 });
    const d = impact.definitions[0]!;
    expect(d.becomeEligible.map((l) => [l.name, Math.round(l.before), Math.round(l.after)])).to.deep.equal([['Frodo Baggins', 70, 83]]);
    expect(d.turnStale.map((l) => [l.name, Math.round(l.before), Math.round(l.after), l.stillEligible])).to.deep.equal([['Bilbo Baggins', 90, 93, true]]);
    // nothing was written by the preview
    expect(await findStaleCertificates(db.connection, course.courseId, MAY_3)).to.deep.equal([]);

    await applyCsvImport(db.connection, course.courseId, preview, { startedBy: teacher, now });
    const after = await runAfterSync(db.connection, { courseId: course.courseId, now, random: randomBytes });
    expect(after).to.deep.equal({ autoReissue: true, stale: 1, reissued: 1, notEligible: 0, skipped: 0 });
    const bilbo = await listLearnerCertificates(db.connection, course.courseId, 'user-1');
    expect(bilbo.map((c) => [c.version, c.status, Math.round(c.scorePercent)])).to.deep.equal([
      [2, 'active', 93],
      [1, 'superseded', 90],
    ]);
  });

  it('imports a real Moodle 4.5.6 export: learners by email or username, the tool\'s own External tool column left to AGS, maxima asked', async () => {
    const courseId = new Types.ObjectId();
    const base = { courseId, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'], isLearner: true, status: 'active', fetchedAt: MAY_3 };
    // Moodle's NRPS sends email but no username; two learners have opened the tool (username known).
    await memberModel(db.connection).insertMany([
      { ...base, userId: '3', name: 'Ada Lovelace', email: 'learner1@example.com', username: 'learner1' },
      { ...base, userId: '4', name: 'Blaise Pascal', username: 'learner2' },
      { ...base, userId: '5', name: 'Carl Gauss', email: 'learner3@example.com' },
      { ...base, userId: '6', name: 'Dora Noether', email: 'learner4@example.com' },
      { ...base, userId: '7', name: 'Emmy Klein', email: 'learner5@example.com' },
    ]);
    await lineItemModel(db.connection).create({ courseId, source: 'ags', externalId: 'http://localhost:8080/mod/lti/services.php/8/lineitems/3/lineitem', label: 'Final project (tool)', scoreMaximum: 100, fetchedAt: MAY_3 });
    const byEmail = await previewCsvImport(db.connection, courseId, parseFixture('real/moodle-4.5.6-real.csv'), { now: () => MAY_3 });
    expect(byEmail.counts).to.include({ matched: 4, unmatched: 1 });
    expect(byEmail.items.map((i) => [i.label, i.status])).to.deep.equal([
      ['Quiz: Quiz 1', 'new'],
      ['Assignment: Essay', 'new'],
      ['Oral exam', 'new'],
      ['External tool: Final project (tool)', 'ags'],
    ]);
    expect(byEmail.missingMaxima).to.deep.equal(['Quiz: Quiz 1', 'Assignment: Essay', 'Oral exam']);
    const withUsername = await previewCsvImport(db.connection, courseId, parseFixture('real/moodle-4.5.6-real-with-username.csv'), { now: () => MAY_3 });
    expect(withUsername.matched.map((m) => [m.userId, m.by]).sort()).to.deep.equal([
      ['3', 'email'],
      ['4', 'username'],
      ['5', 'email'],
      ['6', 'email'],
      ['7', 'email'],
    ]);
    const answered = await previewCsvImport(db.connection, courseId, parseFixture('real/moodle-4.5.6-real-percentage.csv'), { now: () => MAY_3 });
    expect(answered.ready).to.equal(true);
    expect(answered.changes.find((c) => c.userId === '5' && c.label === 'Assignment: Essay')!.new).to.deep.equal({ scoreGiven: 15, scoreMaximum: 20 });
  });

  it('imports a real Chamilo 1.11.28 export: learners by username, the Certificates evaluation left to AGS, the maxima and the 0 asked', async () => {
    const courseId = new Types.ObjectId();
    const base = { courseId, roles: ['http://purl.imsglobal.org/vocab/lis/v2/membership#Learner'], isLearner: true, status: 'active', fetchedAt: MAY_3 };
    // Chamilo's sub is its user id; NRPS gives names and emails, the launches gave the usernames.
    await memberModel(db.connection).insertMany(
      [1, 2, 3, 4, 5].map((n) => ({ ...base, userId: String(10 + n), name: `Learner ${n}`, email: `learner${n}@example.com`, username: `learner${n}` })),
    );
    await lineItemModel(db.connection).create({ courseId, source: 'ags', externalId: 'http://localhost:8081/plugin/ims_lti/gradebook/service/api/v2/lineitems/1', label: 'Certificates', scoreMaximum: 100, fetchedAt: MAY_3 });
    const maxima = { 'chamilo:Written exam': 20, 'chamilo:Oral exam': 10, 'chamilo:Project': 20 };
    const preview = await previewCsvImport(db.connection, courseId, parseFixture('real/chamilo-1.11.28-flatview.csv'), { now: () => MAY_3, maxima });
    expect(preview.matched.every((m) => m.by === 'username')).to.equal(true);
    expect(preview.counts).to.include({ matched: 5, unmatched: 0, zeros: 1 });
    const certificates = preview.items.find((i) => i.key === 'chamilo:Certificates')!;
    expect(certificates.status).to.equal('ags');
    expect(certificates.sameAs?.label).to.equal('Certificates');
    expect(preview.ready).to.equal(true);
    // learner4's Oral exam 0 waits for the teacher; learner5's empty Project is no result
    expect(preview.changes.filter((c) => c.userId === '14').map((c) => c.label)).to.deep.equal(['Written exam', 'Project']);
    expect(preview.changes.filter((c) => c.userId === '15').map((c) => c.label)).to.deep.equal(['Written exam', 'Oral exam']);
    const confirmed = await reviseCsvPreview(db.connection, courseId, preview.id, { maxima, zeroIsReal: true }, { now: () => MAY_3 });
    expect(confirmed.changes.find((c) => c.userId === '14' && c.label === 'Oral exam')!.new).to.deep.equal({ scoreGiven: 0, scoreMaximum: 10 });
  });
});

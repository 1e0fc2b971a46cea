import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { startHarness, type Harness } from './harness';

const MEDIA_LINE_ITEM = 'application/vnd.ims.lis.v2.lineitem+json';
const MEDIA_CONTAINER = 'application/vnd.ims.lis.v2.lineitemcontainer+json';
const AGS_CLAIM = 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint';
const REAL = join(__dirname, '../fixtures/csv/real');
const realFile = (name: string) => readFileSync(join(REAL, name), 'utf8');

describe('sandbox LMS: the course gradebook and what the tool sees of it', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.token();
  });
  after(() => h.close());

  const demo = () => h.sandbox.demo!;
  const lineItemsUrl = (courseId: string) => `${h.sandbox.issuer}/api/courses/${courseId}/lineitems`;
  const labels = async (courseId: string) => ((await (await h.api(lineItemsUrl(courseId), token, { Accept: MEDIA_CONTAINER })).json()) as { label: string }[]).map((i) => i.label);
  const download = async (courseId: string, query = '') => {
    const res = await fetch(`${h.sandbox.issuer}/courses/${courseId}/gradebook/export${query}`);
    expect(res.status).to.equal(200);
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  describe('GET /api/courses/:id/lineitems (AGS)', () => {
    for (const mode of ['moodle', 'canvas', 'chamilo'] as const) {
      it(`${mode}: lists none of the course's own ten activities, which stay in the gradebook`, async () => {
        const courseId = demo().courseIds[mode];
        // Chamilo's own "Certificates" evaluation of the tool is the one line item it shows.
        expect(await labels(courseId)).to.deep.equal(mode === 'chamilo' ? ['Certificates'] : []);
        expect(h.sandbox.store.listLineItems(courseId).filter((i) => i.module !== 'lti').map((i) => i.label)).to.have.length(10);
        const quiz = h.sandbox.store.listLineItems(courseId)[0]!;
        // Moodle answers 403 for a grade item that is not the tool's (resources/results.php); Canvas and Chamilo 404.
        const res = await h.api(`${lineItemsUrl(courseId)}/${quiz.id}/results`, token, { Accept: 'application/vnd.ims.lis.v2.resultcontainer+json' });
        expect(res.status).to.equal(mode === 'moodle' ? 403 : 404);
      });
    }

    it('lists the grade column of a tool activity and the columns the tool created, not a teacher’s manual column', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Mixed', quirks: 'moodle', learners: 1, items: 1, itemModule: 'quiz' });
      const link = h.sandbox.store.addResourceLink(course.id, { title: 'Final project (tool)' });
      h.sandbox.store.setLinkGrades(course.id, link.id, true, 20);
      h.sandbox.store.addLineItem(course.id, { label: 'Oral exam', scoreMaximum: 20, module: 'manual' });
      const created = await fetch(lineItemsUrl(course.id), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA_LINE_ITEM },
        body: JSON.stringify({ label: 'Certificate issued', scoreMaximum: 1 }),
      });
      expect(created.status).to.equal(201);
      expect(await labels(course.id)).to.deep.equal(['Final project (tool)', 'Certificate issued']);
    });
  });

  describe('Chamilo: POST /api/courses/:id/lineitems before the gradebook was opened', () => {
    it('answers 500 until a teacher opens the course gradebook once, then creates the column', async () => {
      const { course } = h.sandbox.store.createCourse({ title: 'Fresh Chamilo course', quirks: 'chamilo', learners: 1, items: 0 });
      const post = () =>
        fetch(lineItemsUrl(course.id), {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': MEDIA_LINE_ITEM, Accept: MEDIA_LINE_ITEM },
          body: JSON.stringify({ label: 'Final project', scoreMaximum: 20 }),
        });
      expect((await post()).status).to.equal(500);
      expect(h.sandbox.store.listLineItems(course.id)).to.have.length(0);
      expect((await fetch(`${h.sandbox.issuer}/courses/${course.id}/gradebook`)).status).to.equal(200);
      expect((await post()).status).to.equal(201);
      expect(await labels(course.id)).to.deep.equal(['Final project']);
    });
  });

  describe('Moodle: a tool activity whose grades the teacher unticked', () => {
    it('sends the AGS claim with "lineitem": "" on its launches, and the line item URL while ticked', async () => {
      const courseId = demo().courseIds.moodle;
      const link = h.sandbox.store.addResourceLink(courseId, { title: 'Badge check' });
      const launch = () => h.launchClaims(h.sandbox.launchUrl(courseId, demo().bilbo.id, { resourceLinkId: link.id }));
      expect((await launch())[AGS_CLAIM]).to.not.have.property('lineitem');
      const ticked = await fetch(`${h.sandbox.issuer}/courses/${courseId}/links/${link.id}/grades`, { method: 'POST', body: new URLSearchParams({ on: '1' }), redirect: 'manual' });
      expect(ticked.status).to.equal(303);
      const item = h.sandbox.store.listLineItems(courseId).find((i) => i.resourceLinkId === link.id)!;
      expect((await launch())[AGS_CLAIM]).to.have.property('lineitem', `${lineItemsUrl(courseId)}/${item.id}`);
      await fetch(`${h.sandbox.issuer}/courses/${courseId}/links/${link.id}/grades`, { method: 'POST', body: new URLSearchParams({ on: '0' }), redirect: 'manual' });
      expect((await launch())[AGS_CLAIM]).to.have.property('lineitem', '');
    });
  });

  describe('GET /courses/:id/gradebook/export', () => {
    it('Moodle: writes the plain-text export exactly as Moodle 4.5.6 does (columns, quoting, "-" for ungraded, LF)', async () => {
      const { res, bytes } = await download(demo().courseIds.moodle);
      expect(res.headers.get('content-disposition')).to.match(/filename="DIGLIT-MOODLE Grades-\d{8}_\d{4}-comma_separated\.csv"/);
      const text = bytes.toString('utf8');
      const real = realFile('moodle-4.5.6-real.csv');
      const [header, ...rows] = text.trimEnd().split('\n');
      const realHeader = real.split('\n')[0]!;
      // Same learner columns, byte for byte, and the same last column.
      expect(header!.startsWith('"First name","Last name","ID number",Institution,Department,"Email address",')).to.equal(realHeader.startsWith('"First name","Last name","ID number",Institution,Department,"Email address",'));
      expect(header!.endsWith(',"Course total (Real)","Last downloaded from this course"')).to.equal(true);
      expect(realHeader.endsWith(',"Course total (Real)","Last downloaded from this course"')).to.equal(true);
      expect(header).to.include('"Quiz: Activity 1 (Real)","Assignment: Activity 2 (Real)"');
      expect(text).to.not.include('\r');
      const bilbo = rows.find((r) => r.startsWith('Bilbo,Baggins,'))!;
      expect(bilbo).to.match(/^Bilbo,Baggins,S\d{6},,,bilbo\.baggins@shire\.example,9\.00,9\.00,9\.00,9\.00,9\.00,10\.00,10\.00,10\.00,10\.00,-,85\.00,\d+$/);
      // Suspended (inactive) learners and teachers are not exported.
      expect(rows.some((r) => r.startsWith('Sméagol,') || r.startsWith('Gandalf,'))).to.equal(false);
      // Rows by last name, as Moodle's.
      const lastNames = rows.map((r) => r.split(',')[1]!);
      expect(lastNames).to.deep.equal([...lastNames].sort((a, b) => a.localeCompare(b, 'en')));
    });

    it('Moodle with "Real" and "Percentage" ticked: each Real column followed by its Percentage one, as Moodle 4.5.6 writes them', async () => {
      const text = (await download(demo().courseIds.moodle, '?format=moodle&display=real,percentage')).bytes.toString('utf8');
      const real = realFile('moodle-4.5.6-real-percentage.csv');
      expect(real.split('\n')[0]).to.include('"Quiz: Quiz 1 (Real)","Quiz: Quiz 1 (Percentage)"');
      const [header, ...rows] = text.trimEnd().split('\n');
      expect(header).to.include('"Quiz: Activity 1 (Real)","Quiz: Activity 1 (Percentage)","Assignment: Activity 2 (Real)"');
      expect(header).to.include(',"Course total (Real)","Course total (Percentage)","Last downloaded from this course"');
      // Real fixture: `8.00,"80.00 %"` and `-,-` for ungraded; Bilbo: 85 of the 90 graded points.
      expect(real).to.match(/,8\.00,"80\.00 %",/).and.match(/,-,-,/);
      expect(rows.find((r) => r.startsWith('Bilbo,'))).to.match(/,9\.00,"90\.00 %",.*,10\.00,"100\.00 %",-,-,85\.00,"94\.44 %",\d+$/);
    });

    it('Chamilo: writes the flat view export (weights in headers, raw scores, empty when missing, TOTAL rounded, CRLF)', async () => {
      const { res, bytes } = await download(demo().courseIds.chamilo);
      expect(res.headers.get('content-disposition')).to.match(/filename="gradebook_results_\d{14}\.csv"/);
      const text = bytes.toString('utf8');
      const real = realFile('chamilo-1.11.28-flatview.csv');
      expect(real.split('\r\n')[0]).to.match(/^Code;First name;Last name;Username;(.+ \d+ % ;)+TOTAL;$/);
      const lines = text.split('\r\n');
      expect(lines[0]).to.match(/^Code;First name;Last name;Username;(.+ \d+ % ;)+TOTAL;$/);
      expect(lines[0]).to.equal(`Code;First name;Last name;Username;${Array.from({ length: 10 }, (_, j) => `Activity ${j + 1} 10 % ;`).join('')}Certificates 100 % ;TOTAL;`);
      expect(lines.find((l) => l.includes(';bilbo;'))).to.match(/^S\d{6};Bilbo;Baggins;bilbo;9;9;9;9;9;10;10;10;10;;;85;$/);
      expect(text.endsWith('\r\n')).to.equal(true);
      const onlyNumbers = (await download(demo().courseIds.chamilo, '?format=chamilo&only_score=1')).bytes.toString('utf8');
      expect(onlyNumbers.split('\r\n').find((l) => l.includes(';bilbo;'))).to.match(/;100 %;0 %;0 %;85 %;$/);
    });

    it('Canvas: writes the gradebook export with its BOM, the Points Possible row and assignment ids', async () => {
      const { bytes } = await download(demo().courseIds.canvas);
      const text = bytes.toString('utf8');
      expect(text.startsWith('\uFEFFStudent,ID,SIS User ID,SIS Login ID,Section,Activity 1 (')).to.equal(true);
      const lines = text.split('\r\n');
      expect(lines[0]).to.match(/,Current Points,Final Points,Current Score,Unposted Current Score,Final Score,Unposted Final Score$/);
      expect(lines[1]).to.match(/^ {4}Points Possible,,,,,10\.00,(10\.00,){9}(\(read only\),){11}\(read only\)$/);
      const bilbo = lines.find((l) => l.startsWith('"Baggins, Bilbo"'))!;
      // 85 points of the 90 graded (94.44%), of 100 possible (85%); Activity 10 empty.
      expect(bilbo).to.match(/,10\.00,,85\.00,85\.00,94\.44,94\.44,85\.00,85\.00,/);
    });
  });
});

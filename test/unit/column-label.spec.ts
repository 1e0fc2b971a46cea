/**
 * The grade columns the tool labels itself (src/grades/column-label.ts): each is recognised by
 * its source, id and the exact English the source writes, and read in the viewer's language; a
 * label the LMS gave or a teacher typed is left as it is.
 */
import { expect } from 'chai';
import { createTranslator } from '../../src/i18n';
import { columnLabel, columnLabelRef, translatedLabelParams, labelRefParams } from '../../src/grades/column-label';
import { staleItemsText } from '../../src/web/teacher/overview.view';

const nl = createTranslator('nl');
const shown = (c: Parameters<typeof columnLabelRef>[0], t = nl) => columnLabel({ label: c.label, labelRef: columnLabelRef(c) }, t);

describe('column labels the tool wrote, in the viewer\'s language', () => {
  it("Canvas's course scores and assignment groups", () => {
    expect(shown({ source: 'canvas', externalId: 'canvas:score:current', label: 'Current score (Canvas)', kind: 'course-total', tag: 'canvas:current_score' })).to.equal('Huidige score (Canvas)');
    expect(shown({ source: 'canvas', externalId: 'canvas:score:final', label: 'Final score (Canvas)', kind: 'course-total' }, createTranslator('de'))).to.equal('Endgültige Punktzahl (Canvas)');
    expect(shown({ source: 'canvas', externalId: 'canvas:score:unposted_final', label: 'Final score with unposted grades (Canvas, teachers only)' }, createTranslator('es'))).to.equal('Puntuación final con calificaciones no publicadas (Canvas, solo para profesores)');
    expect(shown({ source: 'canvas', externalId: 'canvas:group:7', label: 'Huiswerk & <toetsen> (assignment group)', kind: 'category' })).to.equal('Huiswerk & <toetsen> (opdrachtgroep)');
  });

  it("Moodle's course completion and the totals Moodle leaves unnamed", () => {
    const fr = createTranslator('fr');
    expect(shown({ source: 'moodle', externalId: 'moodle:completion', label: 'Course completion (Moodle)', tag: 'moodle:completion' }, fr)).to.equal('Achèvement du cours (Moodle)');
    expect(shown({ source: 'moodle', externalId: 'moodle:item:1', label: 'Course total', kind: 'course-total' }, fr)).to.equal('Total du cours');
    expect(shown({ source: 'moodle', externalId: 'moodle:item:2', label: 'Category total (category 12)', kind: 'category' })).to.equal('Categorietotaal (categorie 12)');
    expect(shown({ source: 'moodle', externalId: 'moodle:item:3', label: 'Category total WEEK1', kind: 'category' })).to.equal('Categorietotaal WEEK1');
    expect(shown({ source: 'moodle', externalId: 'moodle:item:4', label: 'Grade item 4', kind: 'activity' })).to.equal('Cijferitem 4');
  });

  it("Chamilo's course total", () => {
    expect(shown({ source: 'chamilo', externalId: 'chamilo:course-total:MATHS', label: 'Course total (Chamilo gradebook)', kind: 'course-total' })).to.equal('Cursustotaal (Chamilo-cijferlijst)');
  });

  it('leaves a label the LMS gave or a teacher typed as it is, and English English', () => {
    expect(columnLabelRef({ source: 'canvas', externalId: 'canvas:score:current', label: 'Huidige score' })).to.equal(undefined);
    expect(columnLabelRef({ source: 'canvas', externalId: 'canvas:assignment:3', label: 'Current score (Canvas)' })).to.equal(undefined);
    expect(columnLabelRef({ source: 'moodle', externalId: 'moodle:item:9', label: 'Course total', kind: 'activity' })).to.equal(undefined);
    expect(columnLabelRef({ source: 'moodle', externalId: 'moodle:item:9', label: 'Grade item 8' })).to.equal(undefined);
    expect(columnLabelRef({ source: 'ags', externalId: 'https://lms/lineitems/1', label: 'Course total (Chamilo gradebook)' })).to.equal(undefined);
    expect(columnLabelRef({ source: 'csv', externalId: 'moodle:Course total', label: 'Course total' })).to.equal(undefined);
    expect(shown({ source: 'canvas', externalId: 'canvas:score:current', label: 'Current score (Canvas)' }, createTranslator('en'))).to.equal('Current score (Canvas)');
  });

  it("names the column in a reason's sentence the same way", () => {
    const params = { lineItemId: 'x', label: 'Exams (assignment group)', percent: 40, minimum: 50, ...labelRefParams(columnLabelRef({ source: 'canvas', externalId: 'canvas:group:2', label: 'Exams (assignment group)' })) };
    expect(nl('rules.item_below_minimum', translatedLabelParams(params, nl))).to.equal('Voor ‘Exams (opdrachtgroep)’ heb je 40%; het minimum is 50%.');
    const plain = { lineItemId: 'y', label: 'Quiz 1', percent: 40, minimum: 50 };
    expect(translatedLabelParams(plain, nl)).to.equal(plain);
  });
});

describe("a stale certificate's changed columns (staleItemsText)", () => {
  const change = (label: string, labelRef?: { key: string }) => ({ lineItemId: label, label, ...(labelRef ? { labelRef } : {}), before: null, after: null });

  it('names up to three, the tool-labelled ones in the viewer\'s language, and counts the rest', () => {
    const changes = [change('Current score (Canvas)', { key: 'grades.column.canvasCurrent' }), change('Quiz 1'), change('Quiz 2'), change('Quiz 3'), change('Quiz 4')];
    expect(staleItemsText(changes, nl)).to.equal('cijfers veranderd sinds de uitgifte: “Huidige score (Canvas)”, “Quiz 1”, “Quiz 2” en 2 andere');
    expect(staleItemsText(changes.slice(0, 2), createTranslator('fr'))).to.equal('les notes ont changé depuis sa délivrance\u00a0: «\u00a0Note actuelle (Canvas)\u00a0» et «\u00a0Quiz 1\u00a0»');
    expect(staleItemsText(changes.slice(0, 1), createTranslator('en'))).to.equal('grades changed since it was issued: “Current score (Canvas)”');
    expect(staleItemsText([], createTranslator('de'))).to.equal('Bewertungen haben sich seit der Ausstellung geändert');
  });
});

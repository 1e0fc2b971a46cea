/**
 * The pieces of the Canvas source that are pure: the "groups" rule (Canvas's weights), Canvas's
 * group score (drop rules, excused, unposted), the Link header and Canvas's array query syntax.
 */
import { expect } from 'chai';
import { evaluateEligibility, type GradeLineItem, type GradeResult } from '../../src/certificates/evaluate';
import { canvasQuery, nextLink } from '../../src/grades/canvas/canvas-rest.client';
import { groupScore, type CanvasAssignment, type CanvasSubmission } from '../../src/grades/sources/canvas.source';

describe('Canvas pieces', () => {
  describe('certificates over the LMS groups ("groups" mode)', () => {
    const lineItems: GradeLineItem[] = [
      { id: 'hw', label: 'Homework (assignment group)', scoreMaximum: 100, kind: 'category', weight: 40, source: 'canvas', excluded: 'total' },
      { id: 'ex', label: 'Exams (assignment group)', scoreMaximum: 100, kind: 'category', weight: 60, source: 'canvas', excluded: 'total' },
      { id: 'empty', label: 'Assignments (assignment group)', scoreMaximum: 100, kind: 'category', weight: 0, source: 'canvas', excluded: 'total' },
      { id: 'a1', label: 'Activity 1', scoreMaximum: 10, kind: 'activity', source: 'canvas' },
      { id: 'cur', label: 'Current score (Canvas)', scoreMaximum: 100, kind: 'course-total', source: 'canvas', excluded: 'total' },
    ];
    const grades = (hw: number | null, ex: number | null) => ({ lineItems, results: new Map<string, GradeResult>([...(hw === null ? [] : [['hw', { scoreGiven: hw, scoreMaximum: 100 }] as const]), ...(ex === null ? [] : [['ex', { scoreGiven: ex, scoreMaximum: 100 }] as const]), ['a1', { scoreGiven: 1, scoreMaximum: 10 }]]) });
    const rules = { items: { mode: 'groups' as const }, thresholdPercent: 80, requireAllGraded: true };

    it('weights each group as Canvas does and counts nothing else', () => {
      const e = evaluateEligibility(rules, grades(100, 70));
      expect(e.scorePercent).to.be.closeTo(82, 1e-9);
      expect(e.eligible).to.equal(true);
      expect(e.items.filter((i) => i.counted).map((i) => [i.lineItemId, i.weightShare])).to.deep.equal([['hw', 0.4], ['ex', 0.6]]);
      expect(evaluateEligibility(rules, grades(50, 90)).eligible, '20 + 54 = 74%').to.equal(false);
    });

    it('a group with nothing graded blocks the certificate while "all graded" is required', () => {
      const e = evaluateEligibility(rules, grades(100, null));
      expect(e.reasons.map((r) => r.code)).to.include('not_all_graded');
      expect(evaluateEligibility({ ...rules, requireAllGraded: false }, grades(100, null)).scorePercent).to.equal(40);
    });

    it('the course score can be one selected item', () => {
      const e = evaluateEligibility({ items: { mode: 'selected', items: [{ lineItemId: 'cur', weight: 1 }] }, thresholdPercent: 80, requireAllGraded: true }, { lineItems, results: new Map([['cur', { scoreGiven: 81, scoreMaximum: 100 }]]) });
      expect(e.eligible).to.equal(true);
    });
  });

  describe('groupScore (lib/grade_calculator.rb, current score)', () => {
    const a = (id: number, points: number, group = 1): CanvasAssignment => ({ id, name: `A${id}`, points_possible: points, assignment_group_id: group, published: true });
    const s = (id: number, score: number | null, extra: Partial<CanvasSubmission> = {}): [number, CanvasSubmission] => [id, { assignment_id: id, score, workflow_state: score === null ? 'unsubmitted' : 'graded', posted_at: '2026-01-01T00:00:00Z', ...extra }];
    const assignments = [a(1, 10), a(2, 10), a(3, 20), a(4, 10, 2)];

    it('sums points over graded, posted, not excused work of the group', () => {
      const subs = new Map([s(1, 5), s(2, null), s(3, 20, { posted_at: null }), s(4, 10)]);
      expect(groupScore({ id: 1, name: 'G' }, assignments, subs)).to.deep.equal({ earned: 5, possible: 10 });
      expect(groupScore({ id: 1, name: 'G' }, assignments, new Map([s(1, 5, { excused: true })]))).to.equal(null);
    });

    it('drops the lowest (keeping never_drop) and the highest', () => {
      const subs = new Map([s(1, 2), s(2, 9), s(3, 10)]);
      expect(groupScore({ id: 1, name: 'G', rules: { drop_lowest: 1 } }, assignments, subs)).to.deep.equal({ earned: 19, possible: 30 });
      expect(groupScore({ id: 1, name: 'G', rules: { drop_lowest: 1, never_drop: [1] } }, assignments, subs)).to.deep.equal({ earned: 11, possible: 20 });
      expect(groupScore({ id: 1, name: 'G', rules: { drop_highest: 1 } }, assignments, subs)).to.deep.equal({ earned: 12, possible: 30 });
    });
  });

  describe('paging and queries', () => {
    it('finds rel="next" among Canvas\'s five relations', () => {
      const h = '<https://c.example/api/v1/x?page=1&per_page=100>; rel="current",<https://c.example/api/v1/x?page=2&per_page=100>; rel="next",<https://c.example/api/v1/x?page=1&per_page=100>; rel="first",<https://c.example/api/v1/x?page=9&per_page=100>; rel="last"';
      expect(nextLink(h)).to.equal('https://c.example/api/v1/x?page=2&per_page=100');
      expect(nextLink('<https://c.example/a>; rel="last"')).to.equal(undefined);
      expect(nextLink(null)).to.equal(undefined);
    });

    it('writes arrays the way Canvas reads them', () => {
      expect(canvasQuery({ student_ids: ['all'], grouped: 1, type: ['StudentEnrollment'], skip: undefined })).to.equal('student_ids[]=all&grouped=1&type[]=StudentEnrollment');
    });
  });
});

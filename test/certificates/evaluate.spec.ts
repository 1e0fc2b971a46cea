import { expect } from 'chai';
import {
  compareToSnapshot,
  evaluateEligibility,
  evaluationFingerprint,
  floorPercent,
  type EligibilityRules,
  type GradeLineItem,
  type GradeResult,
  type LearnerGrades,
} from '../../src/certificates/evaluate';

/** Builds a course of line items `a1..aN` (maximum `max`) and one learner's scores (null = ungraded). */
function course(scores: Array<number | null>, max = 10): LearnerGrades {
  const lineItems: GradeLineItem[] = scores.map((_, i) => ({ id: `a${i + 1}`, label: `Activity ${i + 1}`, scoreMaximum: max }));
  const results = new Map<string, GradeResult>();
  scores.forEach((s, i) => {
    if (s !== null) results.set(`a${i + 1}`, { scoreGiven: s, scoreMaximum: max });
  });
  return { lineItems, results };
}

function rules(overrides: Partial<EligibilityRules> = {}): EligibilityRules {
  return { items: { mode: 'all' }, thresholdPercent: 80, requireAllGraded: true, ...overrides };
}

const codes = (e: { reasons: Array<{ code: string }> }) => e.reasons.map((r) => r.code);

describe('evaluateEligibility', () => {
  describe('the seeds\' story (ten activities of 10 points, threshold 80%)', () => {
    const nineGraded = course([9, 9, 9, 9, 9, 10, 10, 10, 10, null]);

    it('refuses Bilbo at 85% after nine activities while all items must be graded', () => {
      const e = evaluateEligibility(rules({ requireAllGraded: true }), nineGraded);
      expect(e.eligible).to.equal(false);
      expect(e.scorePercent).to.be.closeTo(85, 1e-9);
      expect(e.reasons).to.deep.equal([{ code: 'not_all_graded', params: { missing: 1, total: 10 } }]);
      expect(e.gradedCount).to.equal(9);
      expect(e.itemCount).to.equal(10);
    });

    it('lets Bilbo qualify at 85% with the guard off, and says the ungraded activity counted as 0', () => {
      const e = evaluateEligibility(rules({ requireAllGraded: false }), nineGraded);
      expect(e.eligible).to.equal(true);
      expect(e.scorePercent).to.be.closeTo(85, 1e-9);
      expect(e.reasons).to.deep.equal([]);
      expect(e.notices).to.deep.include({ code: 'ungraded_counted_as_zero', params: { missing: 1, total: 10 } });
      const last = e.items[9]!;
      expect(last).to.include({ lineItemId: 'a10', graded: false, counted: true, percent: null, scoreGiven: null });
    });

    it('gives 95% once the tenth activity is graded 10/10', () => {
      const e = evaluateEligibility(rules(), course([9, 9, 9, 9, 9, 10, 10, 10, 10, 10]));
      expect(e.eligible).to.equal(true);
      expect(e.scorePercent).to.be.closeTo(95, 1e-9);
      expect(e.notices).to.deep.equal([]);
    });

    it('reports the score over graded items only as information (94.4% over nine)', () => {
      const e = evaluateEligibility(rules({ requireAllGraded: false }), nineGraded);
      expect(e.gradedPercent).to.be.closeTo((85 / 90) * 100, 1e-9);
    });
  });

  describe('arithmetic', () => {
    it('uses weight shares when weights do not sum to 1 (weights 3 and 1)', () => {
      const grades = course([10, 0]);
      const e = evaluateEligibility(
        rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 3 }, { lineItemId: 'a2', weight: 1 }] } }),
        grades,
      );
      expect(e.scorePercent).to.be.closeTo(75, 1e-9);
      expect(e.items.map((i) => i.weightShare)).to.deep.equal([0.75, 0.25]);
      expect(codes(e)).to.deep.equal(['below_threshold']);
    });

    it('gives the same result for weights 30/10 as for 0.75/0.25', () => {
      const grades = course([8, 6]);
      const a = evaluateEligibility(rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 30 }, { lineItemId: 'a2', weight: 10 }] } }), grades);
      const b = evaluateEligibility(rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 0.75 }, { lineItemId: 'a2', weight: 0.25 }] } }), grades);
      expect(a.scorePercent).to.be.closeTo(75, 1e-9);
      expect(b.scorePercent).to.be.closeTo(a.scorePercent, 1e-9);
    });

    it('handles maxima other than 100 (7/20 and 45/50 equally weighted = 62.5%)', () => {
      const grades: LearnerGrades = {
        lineItems: [
          { id: 'q', label: 'Quiz', scoreMaximum: 20 },
          { id: 'e', label: 'Exam', scoreMaximum: 50 },
        ],
        results: new Map([
          ['q', { scoreGiven: 7, scoreMaximum: 20 }],
          ['e', { scoreGiven: 45, scoreMaximum: 50 }],
        ]),
      };
      const e = evaluateEligibility(rules({ thresholdPercent: 60 }), grades);
      expect(e.scorePercent).to.be.closeTo(62.5, 1e-9);
      expect(e.items.map((i) => i.percent)).to.deep.equal([35, 90]);
      expect(e.eligible).to.equal(true);
    });

    it('uses the result\'s own maximum when it differs from the line item\'s current one', () => {
      const grades: LearnerGrades = {
        lineItems: [{ id: 'x', label: 'X', scoreMaximum: 50 }],
        results: new Map([['x', { scoreGiven: 9, scoreMaximum: 10 }]]),
      };
      expect(evaluateEligibility(rules(), grades).scorePercent).to.be.closeTo(90, 1e-9);
    });

    it('refuses an empty course with no_items instead of dividing by zero', () => {
      const e = evaluateEligibility(rules({ thresholdPercent: 0 }), course([]));
      expect(e.eligible).to.equal(false);
      expect(e.scorePercent).to.equal(0);
      expect(e.gradedPercent).to.equal(null);
      expect(codes(e)).to.deep.equal(['no_items']);
    });

    it('leaves an item with maximum 0 out of the score, visibly', () => {
      const grades: LearnerGrades = {
        lineItems: [
          { id: 'a', label: 'A', scoreMaximum: 10 },
          { id: 'z', label: 'Attendance', scoreMaximum: 0 },
        ],
        results: new Map<string, GradeResult>([
          ['a', { scoreGiven: 9, scoreMaximum: 10 }],
          ['z', { scoreGiven: 0, scoreMaximum: 0 }],
        ]),
      };
      const e = evaluateEligibility(rules(), grades);
      expect(e.scorePercent).to.be.closeTo(90, 1e-9);
      expect(e.items[1]).to.include({ counted: false, percent: null, weightShare: 0 });
      expect(e.notices).to.deep.include({ code: 'zero_maximum', params: { lineItemId: 'z', label: 'Attendance' } });
      expect(e.eligible).to.equal(true);
    });

    it('refuses when every item has maximum 0 (nothing to score)', () => {
      const e = evaluateEligibility(rules(), course([0, 0], 0));
      expect(codes(e)).to.deep.equal(['no_items']);
    });

    it('does not round 79.995% up to 80%', () => {
      const grades: LearnerGrades = {
        lineItems: [{ id: 'a', label: 'A', scoreMaximum: 200000 }],
        results: new Map([['a', { scoreGiven: 159990, scoreMaximum: 200000 }]]),
      };
      const e = evaluateEligibility(rules(), grades);
      expect(e.scorePercent).to.be.closeTo(79.995, 1e-9);
      expect(e.eligible).to.equal(false);
      expect(e.reasons).to.deep.equal([{ code: 'below_threshold', params: { score: 79.99, threshold: 80 } }]);
    });

    it('accepts exactly 80% even when float arithmetic lands a hair below it', () => {
      // (1/3 + 1/3 + ...) style sums: 0.8 * 3 items of max 3 with thirds gives 79.99999999999999 in floats
      const grades = course([2.4, 2.4, 2.4], 3);
      const e = evaluateEligibility(rules(), grades);
      expect(e.scorePercent).to.be.closeTo(80, 1e-9);
      expect(e.eligible).to.equal(true);
    });

    it('a threshold of 0 lets a graded 0% qualify, a threshold of 100 needs every point', () => {
      expect(evaluateEligibility(rules({ thresholdPercent: 0 }), course([0, 0])).eligible).to.equal(true);
      expect(evaluateEligibility(rules({ thresholdPercent: 100 }), course([10, 9.99])).eligible).to.equal(false);
      expect(evaluateEligibility(rules({ thresholdPercent: 100 }), course([10, 10])).eligible).to.equal(true);
    });

    it('leaves items removed in the LMS out of "all items", and ignores weight-0 items in the score', () => {
      const grades = course([10, 0, 0]);
      (grades.lineItems[1] as GradeLineItem).removedAt = new Date();
      expect(evaluateEligibility(rules(), grades).items.map((i) => i.lineItemId)).to.deep.equal(['a1', 'a3']);
      const e = evaluateEligibility(
        rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 1 }, { lineItemId: 'a3', weight: 0 }] } }),
        course([10, 0, 0]),
      );
      expect(e.scorePercent).to.equal(100);
      expect(e.items[1]).to.include({ counted: false, weightShare: 0 });
    });

    it('flags a selected item that no longer exists instead of counting it as 0', () => {
      const e = evaluateEligibility(
        rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 1 }, { lineItemId: 'gone', weight: 1 }] } }),
        course([9]),
      );
      expect(e.scorePercent).to.be.closeTo(90, 1e-9);
      expect(e.items[1]).to.include({ missing: true, counted: false });
      expect(e.notices).to.deep.include({ code: 'item_missing', params: { lineItemId: 'gone' } });
      expect(e.eligible).to.equal(true);
    });

    it('treats a result without a score (AGS "scoreGiven" absent) as ungraded', () => {
      const grades = course([10, 10]);
      (grades.results as Map<string, GradeResult>).set('a2', { scoreGiven: null, scoreMaximum: 10 });
      const e = evaluateEligibility(rules(), grades);
      expect(codes(e)).to.deep.equal(['not_all_graded', 'below_threshold']);
      expect(e.scorePercent).to.equal(50);
      expect(e.items[1]).to.include({ graded: false, scoreGiven: null });
    });

    it('lists every failure at once (not graded and below threshold)', () => {
      const e = evaluateEligibility(rules(), course([5, null]));
      expect(codes(e)).to.deep.equal(['not_all_graded', 'below_threshold']);
      expect(e.reasons[1]!.params).to.deep.equal({ score: 25, threshold: 80 });
    });
  });

  describe('per-item minimums', () => {
    const selected = (min: number) =>
      rules({ items: { mode: 'selected', items: [{ lineItemId: 'a1', weight: 1, minimumPercent: min }, { lineItemId: 'a2', weight: 1 }] } });

    it('refuses a high average with one item below its minimum', () => {
      const e = evaluateEligibility(selected(60), course([5, 10]));
      expect(e.scorePercent).to.equal(75);
      expect(e.items[0]).to.include({ minimumPercent: 60, minimumMet: false });
      expect(e.reasons[0]).to.deep.equal({ code: 'item_below_minimum', params: { lineItemId: 'a1', label: 'Activity 1', percent: 50, minimum: 60 } });
    });

    it('accepts a score exactly at the minimum', () => {
      const e = evaluateEligibility(selected(50), course([8, 8]));
      expect(e.items[0]).to.include({ minimumMet: true });
      expect(e.eligible).to.equal(true);
    });

    it('reports an ungraded item with a minimum as below it (percent null), even with the guard off', () => {
      const e = evaluateEligibility({ ...selected(50), requireAllGraded: false, thresholdPercent: 0 }, course([null, 10]));
      expect(e.reasons).to.deep.equal([{ code: 'item_below_minimum', params: { lineItemId: 'a1', label: 'Activity 1', percent: null, minimum: 50 } }]);
    });
  });

  describe('mandatory items ("at least N of the mandatory items")', () => {
    const mandatoryRules = (n: number | null, min?: number) =>
      rules({
        thresholdPercent: 0,
        requireAllGraded: false,
        mandatoryMinimum: n,
        items: {
          mode: 'selected',
          items: [
            { lineItemId: 'a1', weight: 1, mandatory: true, minimumPercent: min },
            { lineItemId: 'a2', weight: 1, mandatory: true, minimumPercent: min },
            { lineItemId: 'a3', weight: 1, mandatory: true, minimumPercent: min },
            { lineItemId: 'a4', weight: 1, mandatory: true, minimumPercent: min },
          ],
        },
      });

    it('accepts 2 of 4 mandatory items done when N is 2 (ALM)', () => {
      const e = evaluateEligibility(mandatoryRules(2), course([7, 7, null, null]));
      expect(e.eligible).to.equal(true);
    });

    it('refuses 1 of 4 when N is 2, naming how many are met', () => {
      const e = evaluateEligibility(mandatoryRules(2), course([7, null, null, null]));
      expect(e.reasons).to.deep.equal([{ code: 'mandatory_not_met', params: { met: 1, required: 2, total: 4 } }]);
    });

    it('requires all mandatory items when N is not set', () => {
      expect(codes(evaluateEligibility(mandatoryRules(null), course([7, 7, 7, null])))).to.deep.equal(['mandatory_not_met']);
      expect(evaluateEligibility(mandatoryRules(null), course([7, 7, 7, 7])).eligible).to.equal(true);
    });

    it('uses a mandatory item\'s minimum as its pass mark, without failing on its own', () => {
      // two pass (80%), two fail (30%): N = 2 is satisfied, so the failures are not separate reasons
      const e = evaluateEligibility(mandatoryRules(2, 50), course([8, 8, 3, 3]));
      expect(e.eligible).to.equal(true);
      expect(e.items.map((i) => i.minimumMet)).to.deep.equal([true, true, false, false]);
      expect(codes(evaluateEligibility(mandatoryRules(3, 50), course([8, 8, 3, 3])))).to.deep.equal(['mandatory_not_met']);
    });
  });

  it('does not modify its inputs', () => {
    const grades = course([9, null]);
    const r = rules();
    const before = JSON.stringify({ r, li: grades.lineItems, res: [...grades.results] });
    evaluateEligibility(r, grades);
    expect(JSON.stringify({ r, li: grades.lineItems, res: [...grades.results] })).to.equal(before);
  });

  it('accepts line items keyed by a database _id', () => {
    const grades: LearnerGrades = {
      lineItems: [{ _id: { toString: () => '65f0' }, label: 'A', scoreMaximum: 10 }],
      results: new Map([['65f0', { scoreGiven: 10, scoreMaximum: 10 }]]),
    };
    expect(evaluateEligibility(rules(), grades).items[0]).to.include({ lineItemId: '65f0', percent: 100 });
  });
});

describe('floorPercent', () => {
  it('rounds down to two decimals so 79.995 shows as 79.99', () => {
    expect(floorPercent(79.995)).to.equal(79.99);
    expect(floorPercent(84.99999999999999)).to.equal(85);
    expect(floorPercent(78.5)).to.equal(78.5);
  });
});

describe('compareToSnapshot', () => {
  it('sees Bilbo\'s certificate as stale: issued at 85%, now 95%', () => {
    const issued = evaluateEligibility(rules({ requireAllGraded: false }), course([9, 9, 9, 9, 9, 10, 10, 10, 10, null]));
    const now = evaluateEligibility(rules({ requireAllGraded: false }), course([9, 9, 9, 9, 9, 10, 10, 10, 10, 10]));
    const c = compareToSnapshot(issued, now);
    expect(c).to.include({ stale: true, scoreChanged: true, stillEligible: true });
    expect(c.issuedScore).to.be.closeTo(85, 1e-9);
    expect(c.currentScore).to.be.closeTo(95, 1e-9);
    expect(c.itemChanges).to.deep.equal([
      { lineItemId: 'a10', label: 'Activity 10', before: { graded: false, percent: null, counted: true }, after: { graded: true, percent: 100, counted: true } },
    ]);
  });

  it('is not stale when nothing changed', () => {
    const e = evaluateEligibility(rules(), course([9, 8]));
    const again = evaluateEligibility(rules(), course([9, 8]));
    expect(compareToSnapshot(e, again)).to.include({ stale: false, scoreChanged: false });
  });

  it('is stale when items changed even if the total did not (9+8 became 8+9)', () => {
    const c = compareToSnapshot(evaluateEligibility(rules(), course([9, 8])), evaluateEligibility(rules(), course([8, 9])));
    expect(c.stale).to.equal(true);
    expect(c.scoreChanged).to.equal(false);
    expect(c.itemChanges).to.have.length(2);
  });

  it('reports a learner who no longer qualifies', () => {
    const c = compareToSnapshot(evaluateEligibility(rules(), course([9, 8])), evaluateEligibility(rules(), course([5, 8])));
    expect(c).to.include({ stale: true, stillEligible: false });
  });

  it('reports items added to the course (and the shares of the others that shrank)', () => {
    const c = compareToSnapshot(evaluateEligibility(rules(), course([9, 8])), evaluateEligibility(rules(), course([9, 8, 10])));
    expect(c.itemChanges.map((i) => [i.lineItemId, i.before?.percent ?? null, i.after?.percent ?? null])).to.deep.equal([
      ['a1', 90, 90],
      ['a2', 80, 80],
      ['a3', null, 100],
    ]);
    expect(c.itemChanges[2]!.before).to.equal(null);
  });

  it('reports items removed from the course', () => {
    const c = compareToSnapshot(evaluateEligibility(rules(), course([9, 8, 10])), evaluateEligibility(rules(), course([9, 8])));
    expect(c.itemChanges.find((i) => i.lineItemId === 'a3')).to.deep.include({ after: null });
    expect(c.stale).to.equal(true);
  });
});

describe('evaluationFingerprint', () => {
  it('is equal for the same grades, whatever the order of the items, and ignores float noise', () => {
    const a = evaluateEligibility(rules(), course([9, 8, 7]));
    const reordered = { ...a, items: [...a.items].reverse() };
    const noisy = { ...a, scorePercent: a.scorePercent + 1e-10, items: a.items.map((i) => ({ ...i, percent: i.percent! + 1e-10 })) };
    expect(evaluationFingerprint(reordered)).to.equal(evaluationFingerprint(a));
    expect(evaluationFingerprint(noisy)).to.equal(evaluationFingerprint(a));
    expect(evaluationFingerprint(a)).to.match(/^[A-Za-z0-9_-]{27}$/);
  });

  it('changes with any change compareToSnapshot reports', () => {
    const base = evaluateEligibility(rules({ requireAllGraded: false }), course([9, 8, null]));
    const variants = [course([9, 8, 0]), course([8, 9, null]), course([9, 8, null, null]), course([9, 8])];
    for (const grades of variants) {
      const other = evaluateEligibility(rules({ requireAllGraded: false }), grades);
      expect(compareToSnapshot(base, other).stale).to.equal(true);
      expect(evaluationFingerprint(other)).to.not.equal(evaluationFingerprint(base));
    }
  });
});

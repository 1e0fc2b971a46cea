/**
 * The grade columns whose label the tool writes itself, in English, when the LMS gives none
 * (Canvas's course scores and assignment groups, Moodle's course completion and unnamed totals,
 * Chamilo's course total): the stored label stays English (logs, CSV, certificates already
 * issued), and a page shows it in the viewer's language from this message reference. A label the
 * LMS gave, or that a teacher typed, has no reference and is shown as it is.
 */
import type { MessageRef } from '../errors';
import { courseScoreIds } from './sources/canvas.source';
import { COMPLETION_EXTERNAL_ID } from './sources/moodle.source';

export { columnLabel, labelRefParams, translatedLabelParams } from './label-ref';

/** What of a stored column says whether the tool wrote its label (src/grades/line-item.model.ts). */
export interface LabelledColumn {
  source?: string;
  label: string;
  externalId?: string;
  tag?: string | null;
  kind?: string | null;
}

/** The English the sources write (src/grades/sources/*.source.ts), keyed by the column's id. */
const CANVAS_SCORES: Record<string, { label: string; key: string }> = {
  [courseScoreIds.current]: { label: 'Current score (Canvas)', key: 'grades.column.canvasCurrent' },
  [courseScoreIds.final]: { label: 'Final score (Canvas)', key: 'grades.column.canvasFinal' },
  [courseScoreIds.unpostedCurrent]: { label: 'Current score with unposted grades (Canvas, teachers only)', key: 'grades.column.canvasUnpostedCurrent' },
  [courseScoreIds.unpostedFinal]: { label: 'Final score with unposted grades (Canvas, teachers only)', key: 'grades.column.canvasUnpostedFinal' },
};

/** The message a page shows for a column labelled by the tool; undefined for a label of the LMS or a teacher. */
export function columnLabelRef(c: LabelledColumn): MessageRef | undefined {
  const id = c.externalId ?? '';
  if (c.source === 'canvas') {
    const score = CANVAS_SCORES[id];
    if (score && c.label === score.label) return { key: score.key };
    const group = id.startsWith('canvas:group:') ? /^(.*) \(assignment group\)$/s.exec(c.label) : null;
    if (group) return { key: 'grades.column.canvasGroup', params: { name: group[1]! } };
    return undefined;
  }
  if (c.source === 'moodle') {
    if (id === COMPLETION_EXTERNAL_ID && c.label === 'Course completion (Moodle)') return { key: 'grades.column.moodleCompletion' };
    // Moodle names neither its course total nor an unnamed category's total (itemname null; moodle.source.ts labelOf)
    if (c.kind === 'course-total' && c.label === 'Course total') return { key: 'grades.column.moodleCourseTotal' };
    if (c.kind === 'category') {
      if (c.label === 'Category total') return { key: 'grades.column.moodleCategoryTotal' };
      const numbered = /^Category total \(category (\d+)\)$/.exec(c.label);
      if (numbered) return { key: 'grades.column.moodleCategoryNumbered', params: { id: numbered[1]! } };
      const named = /^Category total (.+)$/s.exec(c.label);
      if (named) return { key: 'grades.column.moodleCategoryNamed', params: { name: named[1]! } };
    }
    const unnamed = /^Grade item (\d+)$/.exec(c.label);
    if (unnamed && id === `moodle:item:${unnamed[1]}`) return { key: 'grades.column.moodleGradeItem', params: { id: unnamed[1]! } };
    return undefined;
  }
  if (c.source === 'chamilo' && id.startsWith('chamilo:course-total:') && c.label === 'Course total (Chamilo gradebook)') return { key: 'grades.column.chamiloCourseTotal' };
  return undefined;
}

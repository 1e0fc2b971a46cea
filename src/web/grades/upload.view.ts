/** The upload form of the gradebook import, and a refused file in the teacher's language. */
import type { GradebookFileError } from '../../grades/csv/import.errors';
import { formatNumber, type Translator } from '../../i18n';

const MB = 1024 * 1024;

export interface UploadErrorView {
  reason: string;
  where: string | null;
  text: string;
  technical: string | null;
  field: string;
}

export interface FormState {
  error?: UploadErrorView;
  notice?: { kind: 'bad' | 'warn'; code: string; text: string };
}

export const megabytes = (bytes: number, t: Translator) => formatNumber(bytes / MB, t.lang, 1);

/**
 * A refused file, located by row and column. An English reader also gets the check's own words
 * (the cell's value, the header it found); the other languages read the same facts in the
 * translated reason and place, and no English sentence under them.
 */
export function fileErrorView(t: Translator, err: GradebookFileError, limitBytes: number): UploadErrorView {
  const { row, column, reason } = err;
  const where = row !== undefined && column !== undefined ? t('grades.import.error.atCell', { row, column }) : row !== undefined ? t('grades.import.error.atRow', { row }) : null;
  return { reason, where, text: t(`grades.import.error.${reason}`, { limit: megabytes(limitBytes, t) }), technical: t.lang === 'en' ? err.message : null, field: column ?? 'file' };
}

/** A refusal of the form itself (no file, an unreadable upload, a bad field). */
export function formErrorView(t: Translator, reason: 'upload' | 'missing', field = 'file'): UploadErrorView {
  return { reason, where: null, text: t(`grades.import.error.${reason}`), technical: null, field };
}

export function uploadFormData(t: Translator, state: FormState, urls: { grades: string }, limitBytes: number) {
  return {
    title: t('grades.import.title'),
    action: `${urls.grades}/import`,
    limit: megabytes(limitBytes, t),
    error: state.error ?? null,
    notice: state.notice ?? null,
  };
}

/**
 * The teacher's gradebook CSV import and the course's sync history (issue #4). AGS shows only
 * the tool's own grade columns, so course-wide grades come from the LMS's gradebook export: the
 * teacher uploads it, sees a preview (nothing stored), and applies exactly that preview, once.
 *
 *   GET  /app/:session/teacher/grades/import                   the upload form
 *   POST /app/:session/teacher/grades/import                   multipart `file` (+ `max-<i>` maxima the file lacks):
 *                                                              parse and preview → 303 to the preview; errors → the form, 400
 *   GET  /app/:session/teacher/grades/import/:previewId        the preview (?page= pages the score changes)
 *   POST /app/:session/teacher/grades/import/:previewId/apply  apply once → 303 to the history with ?imported=<runId>;
 *                                                              409 when already applied or the grades changed since
 *   GET  /app/:session/teacher/grades/history                  sync runs, newest first (?page=, ?scope=course|all, ?imported=)
 *
 * Mounted under `/app/:session` (not inside the teacher router) and guarded by
 * `requireRole('teacher')` here too. The launch decides the course: a preview or run of another
 * course is not found (404), whatever id the URL carries.
 */
import { Router, type Request, type Response } from 'express';
import multer from 'multer';
import { Types } from 'mongoose';
import { z } from 'zod';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors';
import { applyCsvImport, previewCsvImport, type CsvImportPreview, type CsvPreviewItem } from '../grades/csv/csv-import.service';
import { csvPreviewModel, type CsvPreviewDoc } from '../grades/csv/csv-preview.model';
import { parseGradebookCsv, type ParsedGradebook } from '../grades/csv/gradebook-csv';
import { memberModel } from '../grades/member.model';
import { syncRunModel, type SyncRun } from '../grades/sync-run.model';
import { formatNumber, type Translator } from '../i18n';
import type { WebContext } from './context';
import { renderTeacherPage, teacherPage, type TeacherPage } from './teacher-page';
import { requireRole } from './middleware/session';
import { formatDateTime } from './teacher/audit.view';
import { pageParam, parseQuery } from './teacher/query';

/** Preview ids are 16 random bytes in hex (csv-import.service); anything else is not looked up. */
const PREVIEW_ID = /^[0-9a-f]{32}$/;
const MB = 1024 * 1024;
/** Rows listed per group on the preview page (the counts are always complete). */
const LISTED_ROWS = 1000;
const CHANGES_PAGE_SIZE = 100;
const HISTORY_PAGE_SIZE = 20;
/** Errors shown per run in the history (the run keeps up to 200). */
const ERRORS_PER_RUN = 3;
const ITEM_TEXT_MAX = 300;
/** What the history shows of a run (the progress of a running sync is the teacher page's). */
const RUN_FIELDS = { source: 1, scope: 1, startedBy: 1, startedAt: 1, status: 1, counts: 1, durationMs: 1 } as const;
/** Maximum fields beside the file: one `max-<i>` per grade column at most. */
const MAX_FIELDS = 500;

/** The multipart fields besides `file`: maxima for columns whose maximum the file does not give. */
const UploadBodySchema = z.record(z.string().regex(/^max-\d{1,3}$/), z.string().trim().max(20));
const PreviewQuerySchema = z.strictObject({ page: pageParam() });
const HistoryQuerySchema = z.strictObject({
  page: pageParam(),
  scope: z.enum(['course', 'all']).default('course'),
  imported: z.string().regex(/^[0-9a-f]{24}$/i).optional(),
});
type HistoryQuery = z.output<typeof HistoryQuerySchema>;

/**
 * What the preview page shows beyond the plan the service stores (how each row matched, the
 * unmatched rows' identifiers, the file's remarks). Kept in the preview document itself, so it
 * expires with it and never outlives the plan.
 */
interface PreviewView {
  fileName: string;
  encoding: ParsedGradebook['encoding'];
  delimiter: ParsedGradebook['delimiter'];
  items: Array<Omit<CsvPreviewItem, 'lineItemId'>>;
  matched: CsvImportPreview['matched'];
  unmatched: CsvImportPreview['unmatched'];
  skipped: CsvImportPreview['skipped'];
  warnings: string[];
  counts: CsvImportPreview['counts'];
  uploadedBy: { userId: string; name?: string };
}
type StoredPreview = CsvPreviewDoc & { view?: PreviewView };

type PageContext = TeacherPage & {
  /** `/app/<session>/teacher/grades` */
  grades: string;
};

function pageContext(res: Response): PageContext {
  const page = teacherPage(res);
  return { ...page, grades: `${page.base}/grades` };
}

/** What the upload form shows besides the form itself. */
interface FormState {
  error?: UploadErrorView;
  notice?: { kind: 'bad' | 'warn'; code: string; text: string };
  /** Inputs for maxima the file does not give (after a preview refused a score above the assumed one). */
  maxima?: MaximumInput[];
}

interface UploadErrorView {
  reason: string;
  where: string | null;
  text: string;
  technical: string | null;
  field: string;
}

interface MaximumInput {
  name: string;
  label: string;
  column: string;
  value: string;
}

/** A refused upload in the teacher's language, located by row and column, with the check's own words beside it. */
function uploadError(t: Translator, err: ValidationError, limitBytes: number): UploadErrorView {
  const d = err.details ?? {};
  const given = typeof d.reason === 'string' ? d.reason : 'other';
  const reason = t.has(`grades.import.error.${given}`) ? given : 'other';
  const row = typeof d.row === 'number' ? d.row : null;
  const column = typeof d.column === 'string' ? d.column : null;
  const where = row !== null && column !== null ? t('grades.import.error.atCell', { row, column }) : row !== null ? t('grades.import.error.atRow', { row }) : null;
  return {
    reason,
    where,
    text: t(`grades.import.error.${reason}`, { limit: megabytes(limitBytes, t) }),
    technical: err.message,
    field: typeof d.field === 'string' ? d.field : column ?? 'file',
  };
}

const megabytes = (bytes: number, t: Translator) => formatNumber(bytes / MB, t.lang, 1);

/** A maximum typed by a teacher: "12", "12.5" or "12,5". */
function readMaximum(raw: string): number | null {
  const s = raw.replace(/\s/g, '');
  if (!/^\d+([.,]\d+)?$/.test(s)) return null;
  const n = Number(s.replace(',', '.'));
  return Number.isFinite(n) && n > 0 && n <= 1_000_000 ? n : null;
}

function maximaInputs(parsed: ParsedGradebook, posted: Record<string, string>): MaximumInput[] {
  return parsed.items.flatMap((item, i) => (item.scoreMaximum === null ? [{ name: `max-${i}`, label: item.label, column: item.column, value: posted[`max-${i}`] ?? '' }] : []));
}

const DELIMITER_NAMES = { ',': 'comma', ';': 'semicolon', '\t': 'tab' } as const;
const STATUS_CLASS = { succeeded: 'ok', running: '', partial: 'warn', failed: 'bad' } as const;

function itemText(item: unknown): string | null {
  if (item === undefined || item === null) return null;
  const text = typeof item === 'string' ? item : JSON.stringify(item);
  return text.length > ITEM_TEXT_MAX ? `${text.slice(0, ITEM_TEXT_MAX)}…` : text;
}

/** The import and history pages; mount under `/app/:session` (paths start with `/teacher/grades`). */
export function gradesRouter(ctx: WebContext): Router {
  const router = Router({ mergeParams: true });
  const { conn } = ctx;
  const limit = ctx.config.uploadMaxBytes;
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limit, files: 1, fields: MAX_FIELDS, fieldSize: 64, parts: MAX_FIELDS + 1 },
  }).single('file');

  router.use('/teacher/grades', requireRole('teacher'));

  const render = (res: Response, p: PageContext, page: string, data: Record<string, unknown>, status = 200) =>
    renderTeacherPage(ctx.views, res, p, page, { grades: p.grades, ...data }, status);

  function renderForm(res: Response, p: PageContext, state: FormState = {}, status = 200): void {
    render(
      res,
      p,
      'grades-import',
      {
        title: p.t('grades.import.title'),
        action: `${p.grades}/import`,
        limit: megabytes(limit, p.t),
        error: state.error ?? null,
        notice: state.notice ?? null,
        maxima: state.maxima ?? [],
      },
      status,
    );
  }

  /** Receives the multipart body; a file above the limit is a 413 naming the limit. */
  function receiveUpload(req: Request, res: Response, p: PageContext): Promise<'ok' | 'unreadable'> {
    return new Promise((resolve, reject) => {
      upload(req, res, (err: unknown) => {
        if (!err) return resolve('ok');
        if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') {
          reject(new PayloadTooLargeError(p.t('grades.import.tooLarge', { limit: megabytes(limit, p.t) }), { field: 'file', limit: `${megabytes(limit, p.t)} MB` }));
          return;
        }
        // Anything else busboy or multer refuse is a malformed form, shown on the form.
        resolve('unreadable');
      });
    });
  }

  /** The preview of this course with this id, or null (unknown, another course's, or expired unapplied). */
  async function findPreview(p: PageContext, previewId: string): Promise<StoredPreview | null> {
    if (!PREVIEW_ID.test(previewId)) return null;
    const doc = await csvPreviewModel(conn).collection.findOne<StoredPreview>({ _id: previewId as never, courseId: new Types.ObjectId(p.launch.courseId) });
    if (!doc) return null;
    if (!doc.appliedAt && new Date(doc.expiresAt).getTime() <= ctx.now().getTime()) return null;
    return doc;
  }

  const previewNotFound = (p: PageContext): FormState => ({ notice: { kind: 'bad', code: 'previewNotFound', text: p.t('grades.preview.notFound') } });

  // ---- upload --------------------------------------------------------------------------------

  router.get('/teacher/grades/import', (req, res) => {
    const p = pageContext(res);
    parseQuery(z.strictObject({}), req.query, p.t);
    renderForm(res, p);
  });

  router.post('/teacher/grades/import', async (req, res) => {
    const p = pageContext(res);
    const refuse = (error: UploadErrorView, maxima?: MaximumInput[]) => renderForm(res, p, { error, maxima }, 400);
    if ((await receiveUpload(req, res, p)) === 'unreadable') {
      refuse({ reason: 'upload', where: null, text: p.t('grades.import.error.upload'), technical: null, field: 'file' });
      return;
    }
    const body = UploadBodySchema.safeParse({ ...(req.body ?? {}) });
    if (!body.success) {
      refuse({ reason: 'upload', where: null, text: p.t('grades.import.error.upload'), technical: null, field: body.error.issues[0]?.path.map(String).join('.') || 'file' });
      return;
    }
    const file = req.file;
    if (!file) {
      refuse({ reason: 'missing', where: null, text: p.t('grades.import.error.missing'), technical: null, field: 'file' });
      return;
    }

    let parsed: ParsedGradebook;
    try {
      parsed = parseGradebookCsv(file.buffer, { maxBytes: limit });
    } catch (err) {
      if (err instanceof ValidationError) return refuse(uploadError(p.t, err, limit));
      throw err;
    }

    const maxima: Record<string, number> = {};
    for (const [name, raw] of Object.entries(body.data)) {
      const item = parsed.items[Number(name.slice('max-'.length))];
      if (!item || item.scoreMaximum !== null || raw === '') continue;
      const value = readMaximum(raw);
      if (value === null) {
        return refuse(
          { reason: 'bad_maximum', where: null, text: p.t('grades.import.maximumInvalid', { label: item.label }), technical: null, field: name },
          maximaInputs(parsed, body.data),
        );
      }
      maxima[item.key] = value;
    }

    let preview: CsvImportPreview;
    try {
      preview = await previewCsvImport(conn, p.launch.courseId, parsed, { maxima, now: ctx.now });
    } catch (err) {
      // A score above a maximum the file does not give: the teacher enters the real one.
      if (err instanceof ValidationError) return refuse(uploadError(p.t, err, limit), maximaInputs(parsed, body.data));
      throw err;
    }
    const view: PreviewView = {
      fileName: file.originalname.slice(0, 200),
      encoding: parsed.encoding,
      delimiter: parsed.delimiter,
      items: preview.items.map(({ lineItemId: _, ...item }) => item),
      matched: preview.matched.slice(0, LISTED_ROWS),
      unmatched: preview.unmatched.slice(0, LISTED_ROWS),
      skipped: preview.skipped.slice(0, LISTED_ROWS),
      warnings: preview.warnings,
      counts: preview.counts,
      uploadedBy: { userId: p.launch.user.id, name: p.launch.user.name },
    };
    await csvPreviewModel(conn).collection.updateOne({ _id: preview.id as never, courseId: new Types.ObjectId(p.launch.courseId) }, { $set: { view } });
    res.redirect(303, `${p.grades}/import/${preview.id}`);
  });

  // ---- preview and apply ---------------------------------------------------------------------

  router.get('/teacher/grades/import/:previewId', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(PreviewQuerySchema, req.query, p.t);
    const doc = await findPreview(p, String(req.params.previewId));
    if (!doc) return renderForm(res, p, previewNotFound(p), 404);
    const view = doc.view;
    const items = view?.items ?? doc.items.map((i) => ({ ...i, column: i.label, maximumFrom: 'file' as const, status: 'new' as const }));

    const pages = Math.max(1, Math.ceil(doc.changes.length / CHANGES_PAGE_SIZE));
    const page = Math.min(query.page, pages);
    const slice = doc.changes.slice((page - 1) * CHANGES_PAGE_SIZE, page * CHANGES_PAGE_SIZE);
    const userIds = [...new Set(slice.map((c) => c[0]))];
    const members = await memberModel(conn)
      .find({ courseId: doc.courseId, userId: { $in: userIds } }, { userId: 1, name: 1 })
      .lean();
    const nameOf = new Map(members.map((m) => [m.userId, m.name]));
    const score = (given: number | null, maximum: number | null) =>
      given === null || maximum === null ? p.t('grades.preview.noScore') : p.t('grades.preview.score', { given: formatNumber(given, p.t.lang), maximum: formatNumber(maximum, p.t.lang) });
    const changes = slice.map(([userId, i, oldScore, oldMax, newScore, newMax]) => ({
      userId,
      name: nameOf.get(userId) ?? userId,
      label: doc.items[i]?.label ?? '',
      old: oldMax === null ? p.t('grades.preview.noScore') : score(oldScore, oldMax),
      isNew: oldMax === null,
      new: score(newScore, newMax),
    }));
    const counts = view?.counts ?? { rows: doc.matched + doc.unmatched.length, matched: doc.matched, unmatched: doc.unmatched.length, changes: doc.changes.length, unchanged: doc.unchanged, newItems: 0 };
    const here = `${p.grades}/import/${doc._id}`;

    render(res, p, 'grades-preview', {
      title: p.t('grades.preview.title'),
      previewId: doc._id,
      applyAction: `${here}/apply`,
      applied: Boolean(doc.appliedAt),
      expires: formatDateTime(new Date(doc.expiresAt), p.t),
      fileName: view?.fileName ?? null,
      formatText: p.t('grades.preview.formatText', {
        format: p.t(`grades.preview.formats.${doc.format}`),
        encoding: (view?.encoding ?? 'utf-8').toUpperCase(),
        delimiter: p.t(`grades.preview.delimiter.${DELIMITER_NAMES[view?.delimiter ?? ',']}`),
      }),
      format: doc.format,
      uploadedBy: view ? view.uploadedBy.name || view.uploadedBy.userId : null,
      counts: [
        { key: 'rows', n: counts.rows, kind: '' },
        { key: 'matched', n: counts.matched, kind: 'ok' },
        { key: 'unmatched', n: counts.unmatched, kind: counts.unmatched ? 'warn' : '' },
        { key: 'changes', n: counts.changes, kind: counts.changes ? 'ok' : '' },
        { key: 'unchanged', n: counts.unchanged, kind: '' },
        { key: 'newItems', n: counts.newItems, kind: '' },
      ].map((c) => ({ ...c, text: p.t(`grades.preview.counts.${c.key}`, { n: c.n }) })),
      items: items.map((item, index) => ({
        ...item,
        maximumText: formatNumber(item.scoreMaximum, p.t.lang),
        maximumFromText: p.t(`grades.preview.maximumFrom.${item.maximumFrom}`),
        statusText: p.t(`grades.preview.status.${item.status}`),
        // The file does not give this maximum: the teacher may enter it (with the file again).
        askable: item.maximumFrom === 'asked' || item.maximumFrom === 'default',
        inputName: `max-${index}`,
      })),
      hasAskable: items.some((i) => i.maximumFrom === 'asked' || i.maximumFrom === 'default'),
      uploadAction: `${p.grades}/import`,
      matched: (view?.matched ?? []).map((m) => ({ ...m, byText: p.t(`grades.preview.by.${m.by}`) })),
      matchedMore: Math.max(0, counts.matched - (view?.matched.length ?? 0)),
      unmatched: (view?.unmatched ?? doc.unmatched.map((u) => ({ ...u, identifiers: {} }))).map((u) => ({
        ...u,
        identifiersText:
          Object.values(u.identifiers)
            .filter((v): v is string => typeof v === 'string' && v !== '')
            .join(', ') || p.t('grades.preview.noIdentifiers'),
      })),
      unmatchedMore: Math.max(0, counts.unmatched - (view?.unmatched.length ?? doc.unmatched.length)),
      skipped: view?.skipped ?? [],
      warnings: view?.warnings ?? [],
      changes,
      changesPage: { page, pages, prevHref: page > 1 ? `${here}?page=${page - 1}` : null, nextHref: page < pages ? `${here}?page=${page + 1}` : null },
      cancelHref: `${p.grades}/import`,
      historyHref: `${p.grades}/history`,
    });
  });

  router.post('/teacher/grades/import/:previewId/apply', async (req, res) => {
    const p = pageContext(res);
    const previewId = String(req.params.previewId);
    if (!PREVIEW_ID.test(previewId)) return renderForm(res, p, previewNotFound(p), 404);
    let runId: string;
    try {
      const summary = await applyCsvImport(conn, p.launch.courseId, previewId, { startedBy: { userId: p.launch.user.id, name: p.launch.user.name }, now: ctx.now });
      runId = summary.runId;
    } catch (err) {
      if (err instanceof ConflictError) {
        const stale = err.details?.reason === 'stale_preview';
        const n = typeof err.details?.conflicts === 'number' ? err.details.conflicts : 0;
        const text = stale ? p.t('grades.apply.stale', { n }) : p.t('grades.apply.alreadyApplied');
        return renderForm(res, p, { notice: { kind: 'warn', code: stale ? 'stale' : 'alreadyApplied', text } }, 409);
      }
      if (err instanceof NotFoundError) return renderForm(res, p, previewNotFound(p), 404);
      throw err;
    }
    res.redirect(303, `${p.grades}/history?imported=${runId}`);
  });

  // ---- history -------------------------------------------------------------------------------

  router.get('/teacher/grades/history', async (req, res) => {
    const p = pageContext(res);
    const query = parseQuery(HistoryQuerySchema, req.query, p.t);
    const courseId = new Types.ObjectId(p.launch.courseId);
    const Runs = syncRunModel(conn);
    let imported: SyncRun | null = null;
    if (query.imported) {
      imported = await Runs.findOne({ _id: new Types.ObjectId(query.imported), courseId }).lean<SyncRun>();
      if (!imported) throw new NotFoundError(p.t('grades.history.runNotFound'), { what: 'run' });
    }
    // Learners' own refreshes (one per learner launch) would bury the course runs: shown on request.
    const filter = query.scope === 'all' ? { courseId } : { courseId, scope: 'course' };
    const total = await Runs.countDocuments(filter);
    const pages = Math.max(1, Math.ceil(total / HISTORY_PAGE_SIZE));
    const page = Math.min(query.page, pages);
    const runs = await Runs.find(filter, { ...RUN_FIELDS, errors: { $slice: ERRORS_PER_RUN } })
      .sort({ startedAt: -1, _id: -1 })
      .skip((page - 1) * HISTORY_PAGE_SIZE)
      .limit(HISTORY_PAGE_SIZE)
      .lean<SyncRun[]>();
    const href = (q: Partial<HistoryQuery>) => historyHref(p.grades, { ...query, imported: undefined, ...q });

    render(res, p, 'grades-history', {
      title: p.t('grades.history.title'),
      scope: query.scope,
      scopeLinks: (['course', 'all'] as const).map((scope) => ({
        scope,
        text: p.t(`grades.history.scope${scope === 'course' ? 'Course' : 'All'}`),
        href: href({ scope, page: 1 }),
        current: query.scope === scope,
      })),
      notice: imported
        ? {
            runId: String(imported._id),
            text: p.t('grades.history.imported', { changed: imported.counts.changed, results: imported.counts.results, members: imported.counts.members }),
            unmatched: imported.counts.errors ? p.t('grades.history.importedUnmatched', { n: imported.counts.errors }) : null,
            kind: imported.status === 'succeeded' ? 'ok' : 'warn',
          }
        : null,
      runs: runs.map((run) => runView(run, p.t, query.imported)),
      total,
      pager: { page, pages, prevHref: page > 1 ? href({ page: page - 1 }) : null, nextHref: page < pages ? href({ page: page + 1 }) : null },
      importHref: `${p.grades}/import`,
    });
  });

  return router;
}

function historyHref(grades: string, q: Partial<HistoryQuery>): string {
  const params = new URLSearchParams();
  if (q.scope && q.scope !== 'course') params.set('scope', q.scope);
  if (q.page && q.page > 1) params.set('page', String(q.page));
  if (q.imported) params.set('imported', q.imported);
  const s = params.toString();
  return `${grades}/history${s ? `?${s}` : ''}`;
}

function runView(run: SyncRun, t: Translator, highlighted: string | undefined) {
  const shown = run.errors ?? [];
  return {
    id: String(run._id),
    current: highlighted !== undefined && String(run._id) === highlighted,
    iso: new Date(run.startedAt).toISOString(),
    when: formatDateTime(new Date(run.startedAt), t),
    who: run.startedBy?.name?.trim() || run.startedBy?.userId || t('grades.history.unknownStarter'),
    source: run.source,
    sourceText: t(`grades.history.sources.${run.source}`),
    learnerScope: run.scope === 'learner' ? t('grades.history.learnerScope') : null,
    countsText: t('grades.history.countsText', { items: run.counts.items, results: run.counts.results, members: run.counts.members, changed: run.counts.changed }),
    counts: run.counts,
    duration: run.status === 'running' ? t('grades.history.running') : t('grades.history.seconds', { s: formatNumber((run.durationMs ?? 0) / 1000, t.lang, 1) }),
    status: run.status,
    statusText: t(`grades.history.statuses.${run.status}`),
    statusClass: STATUS_CLASS[run.status],
    errors: shown.map((e) => ({ kind: e.kind, message: e.message, item: itemText(e.item) })),
    moreErrors: Math.max(0, (run.counts.errors ?? shown.length) - shown.length),
  };
}

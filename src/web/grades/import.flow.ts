/**
 * The steps of a gradebook import as the teacher's pages take them, each one call from a route:
 * read the file and make the preview, revise it with the teacher's answers, apply it. After the
 * grades are applied the same stale check and automatic re-issue run as after a sync, and before
 * they are, the preview says what they would change for certificates — computed by the
 * certificates module from the preview's proposal, with the same evaluation.
 */
import type { Connection } from 'mongoose';
import { previewCertificateImpact } from '../../certificates/grade-change-impact';
import {
  applyCsvImport,
  previewCsvImport,
  reviseCsvPreview,
  saveCsvAfterImport,
  saveCsvPreviewImpact,
  type CsvImportPreview,
  type CsvPreviewDoc,
} from '../../grades/csv/csv-import.service';
import { parseGradebookCsv } from '../../grades/csv/gradebook-csv';
import { createLogger } from '../../logger';
import type { Launch } from '../../lti/launch';
import type { UploadBody } from './schema';

const log = createLogger('grades:import');

/** What the stale check and re-issue after an import did (`runAfterSync`'s answer), or that it failed. */
export type AfterImport = { autoReissue: boolean; stale: number; reissued: number; notEligible: number; skipped: number } | { failed: true };

export interface ImportDeps {
  conn: Connection;
  now: () => Date;
  /** Upload limit in bytes. */
  maxBytes: number;
  /** The certificates' stale check and automatic re-issue, as after a sync (app.ts wires runAfterSync). */
  afterImport?: (courseId: string) => Promise<Exclude<AfterImport, { failed: true }>>;
}

/** `max-<i>` answers → maxima by the key of column i. */
function maximaByKey(items: CsvPreviewDoc['parsed']['items'], answers: UploadBody['maxima']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(answers)) {
    const item = items[Number(name.slice('max-'.length))];
    if (item && value !== undefined) out[item.key] = value;
  }
  return out;
}

async function withImpact(deps: ImportDeps, courseId: string, preview: CsvImportPreview): Promise<CsvImportPreview> {
  // With a maximum missing the plan is incomplete: no impact until the teacher answers.
  if (!preview.ready) return preview;
  const impact = await previewCertificateImpact(deps.conn, courseId, preview.proposal, deps.now());
  await saveCsvPreviewImpact(deps.conn, courseId, preview.id, impact);
  return preview;
}

/** Reads the file (GradebookFileError when it cannot) and stores its preview. */
export async function startImport(deps: ImportDeps, launch: Launch, file: { buffer: Buffer; originalname: string }, answers: UploadBody): Promise<CsvImportPreview> {
  const parsed = parseGradebookCsv(file.buffer, { maxBytes: deps.maxBytes });
  const preview = await previewCsvImport(deps.conn, launch.courseId, parsed, {
    maxima: maximaByKey(parsed.items, answers.maxima),
    zeroIsReal: answers.zeroIsReal,
    fileName: file.originalname.slice(0, 200),
    uploadedBy: { userId: launch.user.id, name: launch.user.name },
    now: deps.now,
  });
  return withImpact(deps, launch.courseId, preview);
}

/** Recomputes the preview with the teacher's maxima and zero answer. */
export async function reviseImport(deps: ImportDeps, launch: Launch, doc: CsvPreviewDoc, answers: UploadBody): Promise<CsvImportPreview> {
  const preview = await reviseCsvPreview(
    deps.conn,
    launch.courseId,
    doc._id,
    { maxima: maximaByKey(doc.parsed.items, answers.maxima), zeroIsReal: answers.zeroIsReal },
    { now: deps.now },
  );
  return withImpact(deps, launch.courseId, preview);
}

/** Applies the preview once, then runs the stale check and re-issue; returns the run id. */
export async function applyImport(deps: ImportDeps, launch: Launch, previewId: string): Promise<string> {
  const summary = await applyCsvImport(deps.conn, launch.courseId, previewId, { startedBy: { userId: launch.user.id, name: launch.user.name }, now: deps.now });
  let after: AfterImport | null = null;
  if (deps.afterImport) {
    try {
      after = await deps.afterImport(launch.courseId);
    } catch (err) {
      // The grades are in; the stale check runs again after the next sync or import.
      log.warn(`stale check after the import into ${launch.courseId} failed: ${(err as Error).message}`);
      after = { failed: true };
    }
  }
  if (after) await saveCsvAfterImport(deps.conn, launch.courseId, previewId, after);
  return summary.runId;
}

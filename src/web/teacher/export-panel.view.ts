/**
 * The "Export all" panel on the teacher's pages: the latest PDF and ZIP export of the course,
 * with progress while it runs and the download link for a day after (export.routes.ts starts
 * and serves them). The page includes it with `{{> export-panel … latestPdf=exports.latestPdf
 * latestZip=exports.latestZip}}`.
 */
import { EXPORT_PDF_JOB, EXPORT_ZIP_JOB, type ExportResult } from '../../documents';
import type { JobView } from '../../jobs';
import type { WebContext } from '../context';

/** An export job as the panel shows it. */
export interface ExportPanelJob {
  job: JobView;
  jobUrl: string;
  active: boolean;
  succeeded: boolean;
  failed: boolean;
  /** Present while the file can be downloaded. */
  downloadUrl: string | null;
  result: ExportResult | null;
  expired: boolean;
}

function panelJob(session: string, job: JobView | null, now: Date): ExportPanelJob | null {
  if (!job) return null;
  const result = job.status === 'succeeded' ? (job.result as ExportResult | null) : null;
  const expired = result ? new Date(result.expiresAt).getTime() <= now.getTime() : false;
  return {
    job,
    jobUrl: `/app/${session}/jobs/${job.id}.json`,
    active: job.status === 'queued' || job.status === 'running',
    succeeded: job.status === 'succeeded',
    failed: job.status === 'failed' || job.status === 'cancelled',
    downloadUrl: result && !expired ? `/app/${session}/teacher/exports/${job.id}/download` : null,
    result,
    expired,
  };
}

/** The latest PDF and ZIP export of the course, for the export panel. */
export async function exportPanelData(ctx: Pick<WebContext, 'jobs' | 'now'>, opts: { courseId: string; session: string }): Promise<{ latestPdf: ExportPanelJob | null; latestZip: ExportPanelJob | null }> {
  const [pdf, zip] = await Promise.all([ctx.jobs.latest(opts.courseId, EXPORT_PDF_JOB), ctx.jobs.latest(opts.courseId, EXPORT_ZIP_JOB)]);
  const now = ctx.now();
  return { latestPdf: panelJob(opts.session, pdf, now), latestZip: panelJob(opts.session, zip, now) };
}

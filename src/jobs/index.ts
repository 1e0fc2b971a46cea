/** Long work in the background, with progress: see job-queue.ts. */
export {
  createJobQueue,
  toJobView,
  jobErrorText,
  JobAbortedError,
  type JobQueue,
  type JobQueueOptions,
  type JobContext,
  type JobHandler,
  type JobView,
  type EnqueueOptions,
  type ProgressUpdate,
  type JobAbortCause,
} from './job-queue';
export { jobModel, JOB_STATUSES, type JobDoc, type JobStatus, type JobProgress, type JobError } from './job.model';

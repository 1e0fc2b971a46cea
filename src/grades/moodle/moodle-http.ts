/**
 * The HTTP layer of the Moodle client: the shared retry policy (src/http/retry-policy.ts) with a
 * longer per-request timeout. Moodle builds the user report learner by learner
 * (grade/report/user/classes/external/user.php), so one call for a large course takes a while, and
 * Moodle itself allows a web-service call at least 300 s (external_api::set_timeout).
 */
import type { Logger } from '../../logger';
import { createPlatformHttp, type RetryPolicyOptions } from '../../http/retry-policy';
import type { MoodleHttp } from './moodle-ws.client';

export const MOODLE_TIMEOUT_MS = 300_000;

export function createMoodleHttp(opts: Omit<RetryPolicyOptions, 'logger'> & { logger?: Logger } = {}): MoodleHttp {
  return createPlatformHttp({ timeoutMs: MOODLE_TIMEOUT_MS, maxRetries: 2, ...opts });
}

/**
 * The HTTP layer of the Canvas client: the shared retry policy (src/http/retry-policy.ts) with
 * patience for Canvas's throttling: a `403 Forbidden (Rate Limit Exceeded)` is retried (Retry-After
 * or backoff, up to 30 times, each wait at most 30 s) rather than failing the sync.
 */
import type { Logger } from '../../logger';
import { createPlatformHttp, type PlatformHttp, type RetryPolicyOptions } from '../../http/retry-policy';

export function createCanvasHttp(opts: Omit<RetryPolicyOptions, 'logger'> & { logger?: Logger } = {}): PlatformHttp {
  return createPlatformHttp({ timeoutMs: 60_000, maxRetries: 3, maxRateLimitRetries: 30, ...opts });
}

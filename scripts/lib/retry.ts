/**
 * Retries for the operational scripts: exponential backoff with full jitter ("Exponential Backoff
 * And Jitter", AWS Architecture Blog) on errors worth retrying, nothing else. The scripts' SDK
 * clients make one attempt each, so one place decides how often and how long.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  readonly attempts?: number;
  /** Upper bound of the first delay; it doubles per attempt. @default 200 */
  readonly baseDelayMs?: number;
  /** No delay exceeds this. @default 10000 */
  readonly maxDelayMs?: number;
  /** @default isRetryable */
  readonly retryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log. @default nothing */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** @default timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<unknown>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Raised when an object read back does not match what was written; a new attempt writes it again. */
export class VerificationError extends Error {
  override readonly name = 'VerificationError';
}

// S3 and SDK error names that say "try again": throttling, server-side trouble, bytes damaged in transit.
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'BadDigest',
  'XAmzContentSHA256Mismatch',
  'TimeoutError',
  'VerificationError',
]);

// Transient socket and DNS failures (Node error codes).
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

export function isRetryable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (e.$retryable) return true;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429 || status === 408);
}

/** Delay before attempt `attempt + 1` (attempt counts from 1): uniform in [0, min(max, base·2^(attempt-1))). */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'> = {}): number {
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10000;
  const random = options.random ?? Math.random;
  return Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1)));
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const retryable = options.retryable ?? isRetryable;
  const sleep = options.sleep ?? sleepFor;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      const delay = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

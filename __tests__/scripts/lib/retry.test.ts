import { backoffDelay, isRetryable, VerificationError, withRetry } from '../../../scripts/lib/retry';

const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('retry', () => {
  it('tells transient failures from permanent ones', () => {
    expect(isRetryable(s3Error('SlowDown', 503))).toBe(true);
    expect(isRetryable(s3Error('InternalError', 500))).toBe(true);
    expect(isRetryable(s3Error('Whatever', 502))).toBe(true);
    expect(isRetryable(s3Error('TooManyRequests', 429))).toBe(true);
    expect(isRetryable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(new VerificationError('read back wrong'))).toBe(true);
    expect(isRetryable(s3Error('NoSuchBucket', 404))).toBe(false);
    expect(isRetryable(s3Error('AccessDenied', 403))).toBe(false);
    expect(isRetryable(new Error('bug'))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });

  it('backs off exponentially under a cap, with full jitter', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 500, random: () => 0.999 }))).toEqual([99, 199, 399, 499]);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0 })).toBe(0);
  });

  it('retries retryable errors up to the attempt limit and stops at once on others', async () => {
    const waits: number[] = [];
    let calls = 0;
    const sleep = async (ms: number) => void waits.push(ms);
    await expect(
      withRetry(async () => {
        calls += 1;
        throw s3Error('SlowDown', 503);
      }, { attempts: 4, baseDelayMs: 10, random: () => 0.5, sleep }),
    ).rejects.toThrow('SlowDown');
    expect(calls).toBe(4);
    expect(waits).toEqual([5, 10, 20]);

    calls = 0;
    await expect(withRetry(async () => {
      calls += 1;
      throw s3Error('AccessDenied', 403);
    }, { sleep })).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);

    await expect(withRetry(async (attempt) => (attempt < 3 ? Promise.reject(s3Error('InternalError', 500)) : 'ok'), { sleep })).resolves.toBe('ok');
  });
});

import { CachedReader, STUCK_LOOKUP_MS, type CachedReaderOptions } from '../../edge-function/shared/cached-reader';
import { singleTxtValue } from '../../edge-function/shared/dns';

/** A lookup the test answers by hand, with a clock the test moves. */
function harness(overrides: Partial<CachedReaderOptions<string>> = {}) {
  let now = 1_000_000;
  const pending: { name: string; resolve: (records: string[][]) => void; reject: (error: Error) => void }[] = [];
  const health: string[] = [];
  const name = '_bucket.example.com';
  const reader = new CachedReader<string>({
    name,
    fetch: () =>
      new Promise<string[][]>((resolve, reject) => pending.push({ name, resolve, reject })).then((records) => {
        const value = singleTxtValue(records);
        return value?.startsWith('good') ? value : null;
      }),
    freshMs: 1000,
    staleMs: 2000,
    keepLastGood: true,
    waitMs: 50,
    now: () => now,
    onHealthChange: (healthy, detail) => health.push(`${healthy ? 'ok' : 'failing'} ${detail}`),
    ...overrides,
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    reader,
    pending,
    health,
    advance: (ms: number) => {
      now += ms;
    },
    settle,
    /** Answers the oldest pending lookup and lets the reader see it. */
    answer: async (value: string | Error) => {
      const lookup = pending.shift()!;
      if (value instanceof Error) lookup.reject(value);
      else lookup.resolve([[value]]);
      await settle();
    },
  };
}

const ETIMEOUT = Object.assign(new Error('queryTxt ETIMEOUT'), { code: 'ETIMEOUT' });

describe('CachedReader', () => {
  it('waits for the first lookup (cold start), sharing one lookup between concurrent reads', async () => {
    const h = harness();
    const reads = [h.reader.read(), h.reader.read(), h.reader.read()];
    expect(reads.every((read) => read instanceof Promise)).toBe(true);
    expect(h.pending).toHaveLength(1);
    expect(h.pending[0]!.name).toBe('_bucket.example.com');
    await h.answer('good-1');
    expect(await Promise.all(reads)).toEqual(['good-1', 'good-1', 'good-1']);
  });

  it('returns a fresh value at once, without a lookup', async () => {
    const h = harness();
    const first = h.reader.read();
    await h.answer('good-1');
    await first;
    h.advance(999);
    expect(h.reader.read()).toBe('good-1');
    expect(h.pending).toHaveLength(0);
  });

  it('serves a stale value at once while one background refresh runs, then the new value', async () => {
    const h = harness();
    const first = h.reader.read();
    await h.answer('good-1');
    await first;
    h.advance(1500);
    expect(h.reader.read()).toBe('good-1');
    expect(h.reader.read()).toBe('good-1');
    expect(h.pending).toHaveLength(1);
    await h.answer('good-2');
    expect(h.reader.read()).toBe('good-2');
    expect(h.pending).toHaveLength(0);
  });

  it('waits (bounded) once a value is older than staleMs, e.g. after the edge sat idle', async () => {
    const h = harness();
    const first = h.reader.read();
    await h.answer('good-1');
    await first;
    h.advance(60_000);
    const read = h.reader.read();
    expect(read).toBeInstanceOf(Promise);
    await h.answer('good-2');
    expect(await read).toBe('good-2');
  });

  it('gives up waiting after waitMs with what it has, and the late answer serves the next read', async () => {
    const h = harness({ waitMs: 20 });
    const started = Date.now();
    expect(await h.reader.read()).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(h.pending).toHaveLength(1);
    await h.answer('good-late');
    expect(h.reader.read()).toBe('good-late');
  });

  it('waits on a lookup only until waitMs after it started: later reads get what there is at once', async () => {
    const h = harness({ waitMs: 100 });
    const cold = h.reader.read();
    h.advance(60);
    const second = h.reader.read();
    expect(second).toBeInstanceOf(Promise);
    h.advance(40);
    expect(h.reader.read()).toBeNull();
    expect(h.pending).toHaveLength(1);
    await h.answer('good-1');
    expect(await cold).toBe('good-1');
    expect(await second).toBe('good-1');
  });

  it('keeps the last good value through failed and unacceptable lookups, retrying in the background', async () => {
    const h = harness({ retryMs: 1000 });
    const first = h.reader.read();
    await h.answer('good-1');
    await first;
    h.advance(1500);
    expect(h.reader.read()).toBe('good-1');
    await h.answer(ETIMEOUT);
    expect(h.health).toEqual(['failing _bucket.example.com: ETIMEOUT']);
    // Past staleMs, but the last lookup failed: no request waits for DNS, the value stays.
    h.advance(600);
    expect(h.reader.read()).toBe('good-1');
    expect(h.pending).toHaveLength(0);
    h.advance(400);
    expect(h.reader.read()).toBe('good-1');
    expect(h.pending).toHaveLength(1);
    await h.answer('malformed');
    h.advance(1000);
    expect(h.reader.read()).toBe('good-1');
    await h.answer('good-2');
    expect(h.reader.read()).toBe('good-2');
    expect(h.health).toEqual(['failing _bucket.example.com: ETIMEOUT', 'ok _bucket.example.com: answers again']);
  });

  it('after a failed cold start serves null without waiting, and picks up the first good answer', async () => {
    const h = harness({ retryMs: 100 });
    const cold = h.reader.read();
    await h.answer(ETIMEOUT);
    expect(await cold).toBeNull();
    expect(h.reader.read()).toBeNull();
    expect(h.pending).toHaveLength(0);
    h.advance(100);
    expect(h.reader.read()).toBeNull();
    expect(h.pending).toHaveLength(1);
    await h.answer('good-1');
    expect(h.reader.read()).toBe('good-1');
  });

  it(
    'drops a value older than staleMs when keepLastGood ' + 'is off (a region taken out must stop getting traffic)',
    async () => {
      const h = harness({ keepLastGood: false, retryMs: 100 });
      const first = h.reader.read();
      await h.answer('good-1');
      await first;
      h.advance(1500);
      expect(h.reader.read()).toBe('good-1');
      await h.answer(ETIMEOUT);
      h.advance(499);
      expect(h.reader.read()).toBe('good-1');
      h.advance(1);
      expect(h.reader.read()).toBeNull();
    },
  );

  it('gives up on a lookup that never settles and starts another', async () => {
    const h = harness();
    const first = h.reader.read();
    await h.answer('good-1');
    await first;
    h.advance(1500);
    h.reader.read();
    expect(h.pending).toHaveLength(1);
    h.advance(STUCK_LOOKUP_MS - 1);
    await h.reader.read(); // waits on the stuck one: still within its allowance
    expect(h.pending).toHaveLength(1);
    h.advance(1);
    const read = h.reader.read();
    expect(h.pending).toHaveLength(2);
    await h.answer(ETIMEOUT); // the abandoned one, late
    h.pending[0]!.resolve([['good-2']]);
    expect(await read).toBe('good-2');
  });

  it('survives a fetch that throws before it returns a promise', async () => {
    const h = harness({
      fetch: () => {
        throw new Error('boom');
      },
    });
    expect(await h.reader.read()).toBeNull();
    expect(h.health).toEqual(['failing _bucket.example.com: boom']);
  });
});

describe('singleTxtValue', () => {
  it('joins the strings of the one record and refuses several records', () => {
    expect(singleTxtValue([['v=1 ', 'stable=x']])).toBe('v=1 stable=x');
    expect(singleTxtValue([['a'], ['b']])).toBeNull();
    expect(singleTxtValue([])).toBeNull();
  });
});

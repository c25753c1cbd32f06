import { mapLimit } from '../../publish/concurrency';

describe('mapLimit', () => {
  it('keeps at most `limit` tasks in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, index) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight -= 1;
      return index;
    });
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it('starts nothing after a failure, lets the running task finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await expect(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (item) => {
        started.push(item);
        if (item === 1) throw new Error('item 1 failed');
        await new Promise((resolve) => setTimeout(resolve, 20));
        finished.push(item);
      }),
    ).rejects.toThrow('item 1 failed');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow(/positive integer/);
  });
});

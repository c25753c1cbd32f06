/** Timing helpers shared by the benchmark sections. */
import { execFileSync } from 'node:child_process';

export interface Distribution {
  readonly samples: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

export function distribution(values: ArrayLike<number>): Distribution {
  const sorted = Float64Array.from(values).sort();
  // With no samples there is no figure to give: NaN.
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { samples: sorted.length, median: at(0.5), p99: at(0.99), min: at(0), max: at(1) };
}

/**
 * Wall time of each of `calls` sequential awaited calls, in nanoseconds. Each sample includes
 * one `process.hrtime.bigint()` pair and the await (see `timerOverheadNs`).
 */
export async function timeCalls(call: (index: number) => unknown, calls: number): Promise<Float64Array> {
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i += 1) {
    const start = process.hrtime.bigint();
    await call(i);
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return samples;
}

/** Median cost of the measurement itself: timing an awaited no-op (`scale` shortens it for quick runs). */
export async function timerOverheadNs(scale = 1): Promise<number> {
  const noop = async () => undefined;
  await timeCalls(noop, Math.ceil(50_000 * scale));
  return distribution(await timeCalls(noop, Math.ceil(200_000 * scale))).median;
}

/**
 * Milliseconds to `require` each file in a fresh Node process (read, compile, run the module
 * body), `runs` times per file, interleaved so drift on a shared machine hits all files alike.
 */
export function coldRequireMs<K extends string>(
  files: Readonly<Record<K, string>>,
  runs: number,
  env: NodeJS.ProcessEnv = {},
): Record<K, number[]> {
  const script =
    'const f=process.argv[1];const ' +
    't=process.hrtime.bigint();require(f);process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';
  const results = Object.fromEntries(Object.keys(files).map((name) => [name, []])) as unknown as Record<K, number[]>;
  for (let run = 0; run < runs; run += 1) {
    for (const [name, file] of Object.entries(files) as [K, string][]) {
      const out = execFileSync(process.execPath, ['-e', script, file], {
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      });
      results[name].push(Number(out));
    }
  }
  return results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Wall time of `run`, in ms. */
export async function timeMs(run: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** "1 round", "5 rounds". */
export function plural(count: number, word: string): string {
  return `${count.toLocaleString('en')} ${word}${count === 1 ? '' : 's'}`;
}

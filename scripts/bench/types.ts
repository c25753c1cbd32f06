/**
 * The benchmark's plug-in shape: `npm run bench` runs every section in SECTIONS (index.ts), prints
 * each one's figures as a table and writes them all to one JSON file. A new benchmark is a new
 * module in sections/ exporting a BenchSection, added to SECTIONS.
 */
import type { DeployConfig } from '../../config';
import type { BuildManifest } from '../lib/manifest';

export interface BenchContext {
  /** The build being measured (built first when missing). */
  readonly buildDir: string;
  readonly manifest: BuildManifest;
  readonly config: DeployConfig;
  /** Progress lines (stderr), not results. */
  readonly log: (line: string) => void;
}

export type Unit = 'µs' | 'ms' | 'B' | 'count';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: Unit;
  /** The same figure for the reference design, when there is one; the table prints value / reference. */
  readonly reference?: number;
  /** Upper bound the figure should stay within. */
  readonly target?: number;
}

export interface SectionResult {
  readonly figures: readonly Figure[];
  /** Lines printed under the table (what was measured, how). */
  readonly notes?: readonly string[];
  /** Anything else worth keeping in the JSON (raw samples summaries, settings). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface BenchSection {
  /** Key in the JSON output. */
  readonly id: string;
  readonly title: string;
  run(context: BenchContext): Promise<SectionResult>;
}

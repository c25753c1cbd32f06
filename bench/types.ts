/**
 * The benchmark's plug-in shape: `npm run bench` runs every section in SECTIONS (index.ts), prints
 * each one's figures as a table and writes them all to one JSON file and one markdown file. A new
 * benchmark is a new module in sections/ exporting a BenchSection, added to SECTIONS.
 */
import type { DeployConfig } from '../config';
import type { BuildManifest } from '../contracts/build-manifest';

export interface BenchContext {
  /** The build being measured (built first when missing). */
  readonly buildDir: string;
  readonly manifest: BuildManifest;
  readonly config: DeployConfig;
  /** Progress lines (stderr), not results. */
  readonly log: (line: string) => void;
  /**
   * Few repetitions, for tests of the report's shape: every figure is still produced, by the same
   * code, but its timing is not worth quoting.
   */
  readonly quick: boolean;
  /** Results of the sections that ran before this one; a section names what it needs in `requires`. */
  readonly results: Readonly<Record<string, SectionResult>>;
  /** A folder the section may write to; removed after the run. */
  readonly scratch: string;
}

/** Every unit a figure may have; the report checker rejects anything else. */
export const UNITS = ['µs', 'ms', 's', 'B', 'count', '%', 'USD'] as const;
export type Unit = (typeof UNITS)[number];

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: Unit;
  /** The same figure for this project's previous design (the DNS entry router), when there is one. */
  readonly previous?: number;
  /** The same figure for the reference design, when there is one; the report adds value / reference. */
  readonly reference?: number;
  /** Upper bound the figure should stay within. */
  readonly target?: number;
}

export interface SectionResult {
  readonly figures: readonly Figure[];
  /** Lines printed under the table (what was measured, how, and what was assumed). */
  readonly notes?: readonly string[];
  /** Anything else worth keeping in the JSON (raw samples summaries, settings); later sections may read it. */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface BenchSection {
  /** Key in the JSON output. */
  readonly id: string;
  readonly title: string;
  /** Sections whose results this one reads (context.results); `--only` runs them too. */
  readonly requires?: readonly string[];
  run(context: BenchContext): Promise<SectionResult>;
}

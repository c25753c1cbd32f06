/**
 * `npm run bench`: measures what ships (the zips in build/, built first when missing) next to the
 * reference design, prints one table per section and the machine it ran on, and writes every
 * figure as JSON and as markdown (default bench/results/bench.json and bench.md, not committed:
 * they belong to the machine that ran them).
 *
 *   npm run bench -- [--config deploy.config.json] [--out file.json] [--only <section>]...
 *                    [--quick] [--update-docs]          (`--help` lists the sections, and examples)
 *
 * --quick         few repetitions: the same figures by the same code, for tests of the report's
 *                 shape; not worth quoting.
 * --update-docs   rewrites docs/benchmark.md's block with this run's markdown and the README's
 *                 summary with its headline figures; refused with --quick or --only, so the docs
 *                 always quote a full run.
 *
 * Sections are modules in sections/ (see types.ts); add one to SECTIONS to extend the benchmark.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../config';
import { build, PROJECT_ROOT } from '../publish/build';
import { configOption, defineCommand, quietSdkNodeVersionWarning, runCommand } from '../scripts/lib/cli';
import { readManifest, type BuildManifest } from '../contracts/build-manifest';
import {
  DOCS_BLOCK,
  formatMarkdown,
  formatSectionText,
  formatSummary,
  machineLine,
  replaceBlock,
  reportSection,
  SUMMARY_BLOCK,
  type BenchReport,
  type MachineInfo,
  type ReportSection,
} from './report';
import { assignment } from './sections/assignment';
import { buildOutput } from './sections/build-output';
import { cost } from './sections/cost';
import { edgeRouters } from './sections/edge-routers';
import { originRequests } from './sections/origin-requests';
import { releaseJudge } from './sections/release-judge';
import { releaseSignal } from './sections/release-signal';
import { revocationReach } from './sections/revocation-reach';
import { rollbackReach } from './sections/rollback-reach';
import { synthAndBuild } from './sections/synth-build';
import type { BenchSection, SectionResult } from './types';

/** In run order: cost reads the edge routers' and origin requests' results. */
export const SECTIONS: readonly BenchSection[] = [
  buildOutput,
  edgeRouters,
  originRequests,
  assignment,
  rollbackReach,
  revocationReach,
  synthAndBuild,
  cost,
  releaseSignal,
  releaseJudge,
];

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export interface BenchOptions {
  /** Deploy config file. @default DEPLOY_CONFIG or deploy.config.json */
  readonly config?: string;
  readonly quick?: boolean;
  /** Section ids to run (with the sections they require). @default all */
  readonly only?: readonly string[];
  /** JSON output; the markdown goes next to it as <name>.md. @default bench/results/bench.json */
  readonly out?: string;
  /** Build measured (built when it has no manifest). @default <project>/build */
  readonly buildDir?: string;
  /** Rewrite docs/benchmark.md's block and the README's summary from this run. @default false */
  readonly updateDocs?: boolean;
  /** @default <project>/docs/benchmark.md */
  readonly docsFile?: string;
  /** @default <project>/README.md */
  readonly readme?: string;
  /** Progress lines. @default stderr */
  readonly log?: (line: string) => void;
  /** Results: the tables and where they went. @default stdout */
  readonly print?: (text: string) => void;
}

export interface BenchRun {
  readonly report: BenchReport;
  readonly markdown: string;
  readonly jsonFile: string;
  readonly markdownFile: string;
}

/** The sections `only` names, with everything they require, in SECTIONS order. */
export function selectSections(
  only: readonly string[] | undefined,
  sections: readonly BenchSection[] = SECTIONS,
): BenchSection[] {
  if (!only || only.length === 0) return [...sections];
  const unknown = only.filter((id) => !sections.some((section) => section.id === id));
  if (unknown.length > 0)
    throw new Error(
      `--only ${unknown.join(', ')}: no such section; sections are ${sections.map((s) => s.id).join(', ')}`,
    );
  const wanted = new Set<string>();
  const add = (id: string): void => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const required of sections.find((section) => section.id === id)?.requires ?? []) add(required);
  };
  only.forEach(add);
  return sections.filter((section) => wanted.has(section.id));
}

async function ensureBuild(
  configFile: string | undefined,
  buildDir: string,
  log: (line: string) => void,
): Promise<BuildManifest> {
  try {
    return readManifest(buildDir);
  } catch {
    log(`no build in ${path.relative(process.cwd(), buildDir) || '.'}: building first`);
    return (await build({ config: loadConfig(configFile), outDir: buildDir })).manifest;
  }
}

export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const started = process.hrtime.bigint();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const quick = options.quick ?? false;
  if (options.updateDocs && (quick || (options.only?.length ?? 0) > 0)) {
    throw new Error('--update-docs needs a full run: drop --quick and --only');
  }
  const sections = selectSections(options.only);
  const config = loadConfig(options.config);
  const buildDir = path.resolve(options.buildDir ?? path.join(PROJECT_ROOT, 'build'));
  const manifest = await ensureBuild(options.config, buildDir, log);

  const machine = machineInfo();
  print(`machine: ${machineLine(machine)}`);
  print(`build:   ${manifest.buildId}${quick ? '   (--quick: too few repetitions to quote)' : ''}\n`);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const results: Record<string, SectionResult> = {};
  const reported: Record<string, ReportSection> = {};
  try {
    for (const section of sections) {
      const sectionStart = process.hrtime.bigint();
      const result = await section.run({ buildDir, manifest, config, log, quick, results, scratch });
      results[section.id] = result;
      const report = reportSection(section.title, result);
      reported[section.id] = report;
      log(`${section.id}: ${(Number(process.hrtime.bigint() - sectionStart) / 1e9).toFixed(1)} s`);
      print(`${formatSectionText(report)}\n`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const wallSeconds = Math.round(Number(process.hrtime.bigint() - started) / 1e8) / 10;
  const report: BenchReport = {
    schema: 3,
    date: new Date().toISOString(),
    quick,
    buildId: manifest.buildId,
    machine,
    wallSeconds,
    sections: reported,
  };
  const markdown = formatMarkdown(report);
  const jsonFile = path.resolve(options.out ?? path.join(PROJECT_ROOT, 'bench', 'results', 'bench.json'));
  const markdownFile = `${jsonFile.replace(/\.json$/, '')}.md`;
  mkdirSync(path.dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownFile, markdown);
  print(
    `${wallSeconds} s on ${machine.cores} cores; figures written to ${path.relative(process.cwd(), jsonFile)} ` +
      `and ${path.relative(process.cwd(), markdownFile)}`,
  );
  if (options.updateDocs) {
    const docsFile = options.docsFile ?? path.join(PROJECT_ROOT, 'docs', 'benchmark.md');
    const readme = options.readme ?? path.join(PROJECT_ROOT, 'README.md');
    // Both computed before either is written: a README without its block leaves both files as they were.
    const docs = replaceBlock(readFileSync(docsFile, 'utf8'), DOCS_BLOCK, markdown);
    const summary = replaceBlock(readFileSync(readme, 'utf8'), SUMMARY_BLOCK, formatSummary(report));
    writeFileSync(docsFile, docs);
    writeFileSync(readme, summary);
    print(
      `benchmark tables rewritten in ${path.relative(process.cwd(), docsFile)}, headline figures in ` +
        `${path.relative(process.cwd(), readme)}`,
    );
  }
  return { report, markdown, jsonFile, markdownFile };
}

interface BenchFlags {
  readonly config?: string;
  readonly out?: string;
  readonly only: readonly string[];
  readonly quick: boolean;
  readonly updateDocs: boolean;
}

/** `--only a --only b,c`: section ids, each checked, gathered over repeats. */
function sectionIds(text: string, previous: readonly string[]): readonly string[] {
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !SECTIONS.some((section) => section.id === id));
  if (ids.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(
      `expected section ids among ${SECTIONS.map((section) => section.id).join(', ')}, got ${JSON.stringify(text)}.`,
    );
  return [...previous, ...ids];
}

export function benchCommand(): Command {
  return defineCommand({
    name: 'npm run bench --',
    summary:
      'Measure what ships (the zips in build/, built first when missing) next to the reference design: one ' +
      'table per section, and every figure as JSON and markdown.',
    examples: [
      'npm run bench',
      "npm run bench -- --quick                          # few repetitions: the report's shape, figures " +
        'not worth quoting',
      'npm run bench -- --only edge-routers --only cost  # those sections, with the ones they need',
      'npm run bench -- --update-docs                    # a full run, quoted in docs/benchmark.md and the README',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--out <file>',
        'the JSON report; the markdown goes next to it as <name>.md (default: bench/results/bench.json)',
      ),
    )
    .addOption(
      new Option(
        '--only <sections>',
        `run these sections (comma-separated or repeated) and those they need: ` +
          `${SECTIONS.map((section) => section.id).join(', ')}`,
      )
        .argParser(sectionIds)
        .default([], 'all'),
    )
    .addOption(new Option('--quick', 'few repetitions, for checking the report; not worth quoting').default(false))
    .addOption(
      new Option(
        '--update-docs',
        "rewrite docs/benchmark.md's tables and the README's headline figures with this run (a full run only)",
      )
        .default(false)
        .conflicts(['quick', 'only']),
    )
    .action(async (flags: BenchFlags) => {
      quietSdkNodeVersionWarning();
      await runBench({
        config: flags.config,
        out: flags.out,
        only: flags.only,
        quick: flags.quick,
        updateDocs: flags.updateDocs,
      });
    });
}

if (require.main === module) runCommand(benchCommand());

/**
 * `npm run bench` end to end, in its quick mode: every section runs on the build global-setup
 * made, and the report has the shape the README quotes. Timings are not checked (they belong to
 * the machine); the shape is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SECTIONS, type BenchRun } from '../../bench';
import {
  blockContent,
  DOCS_BLOCK,
  formatSummary,
  HEADLINE_FIGURES,
  reportProblems,
  SUMMARY_BLOCK,
  type BenchReport,
} from '../../bench/report';
import { SIGNAL_VOLUMES } from '../../bench/sections/release-signal';
import { loadConfig } from '../../config';
import { signalCapacity } from '../../contracts/signal-capacity';
import { fullPreviewsState, fullRingState } from '../../scripts/lib/edge-check';
import { BUILD_DIR } from '../fixtures/build';

const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run bench --quick', () => {
  let out: string;
  let run: BenchRun;
  const printed: string[] = [];

  beforeAll(async () => {
    out = mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    run = await runBench({
      quick: true,
      buildDir: BUILD_DIR,
      out: path.join(out, 'bench.json'),
      log: () => undefined,
      print: (text) => printed.push(text),
    });
  }, 90_000);
  afterAll(() => {
    jest.restoreAllMocks();
    rmSync(out, { recursive: true, force: true });
  });

  it(
    'reports every section, each figure with a known unit, a ratio wherever there is a reference, ' +
      'all in the markdown',
    () => {
      expect(
        reportProblems(
          run.report,
          SECTIONS.map((section) => section.id),
          run.markdown,
        ),
      ).toEqual([]);
      expect(Object.keys(run.report.sections)).toEqual(SECTIONS.map((section) => section.id));
    },
  );

  it('writes the same report as JSON and markdown', () => {
    const json = JSON.parse(readFileSync(run.jsonFile, 'utf8')) as BenchReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(run.report)));
    expect(readFileSync(run.markdownFile, 'utf8')).toBe(run.markdown);
    expect(path.basename(run.markdownFile)).toBe('bench.md');
  });

  it('prints the machine it ran on, and says a quick run is not one to quote', () => {
    expect(printed[0]).toMatch(/^machine: .+, \d+ cores, \d+ GB, Node v\d+/);
    expect(run.report.quick).toBe(true);
    expect(run.markdown).toMatch(/--quick \(too few repetitions to quote\)/);
  });

  it('compares with the previous design and the reference', () => {
    const figures = (section: string) => run.report.sections[section]!.figures;
    const withColumn = (section: string, column: 'previous' | 'reference') =>
      figures(section)
        .filter((figure) => figure[column] !== undefined)
        .map((figure) => figure.name);
    expect(withColumn('edge-routers', 'reference')).toEqual(
      expect.arrayContaining([
        'entry router on a miss, its own build: median',
        'chunk router: median',
        'chunk router: p99',
        'entry cold require (median)',
        'chunk cold require (median)',
      ]),
    );
    expect(withColumn('edge-routers', 'previous')).toEqual(
      expect.arrayContaining([
        'viewer assignment (every load), steady: median',
        'viewer assignment (every load), steady: p99',
        'entry cold require (median)',
      ]),
    );
    for (const scenario of ['steady state (w = 0)', 'rollout at w = 10 %', 'rollout at w = 50 %', 'after a rollback']) {
      expect(withColumn('origin-requests', 'previous')).toEqual(
        expect.arrayContaining([
          `S3 GETs per entry load, ${scenario}`,
          `Lambda@Edge invocations per entry load, ${scenario}, fleet model`,
        ]),
      );
    }
    expect(withColumn('cost', 'previous')).toEqual(
      expect.arrayContaining([
        'total, steady state',
        'total, rollout at w = 10 %',
        'total, rollout at w = 50 %',
        'total, after a rollback',
      ]),
    );
    // Counts, not timings: these follow from the design, whatever the machine.
    const figure = (section: string, name: string) => figures(section).find((f) => f.name === name);
    expect(figure('origin-requests', 'S3 GETs per entry load, steady state (w = 0)')).toMatchObject({
      value: 0,
      previous: 0,
      reference: 1,
    });
    expect(figure('origin-requests', 'S3 GETs per entry load, after a rollback')).toMatchObject({
      previous: 1,
      reference: 1,
    });
    // One cache: a Lambda invocation per object (build and encoding), not per load.
    expect(
      figure('origin-requests', 'Lambda@Edge invocations per entry load, steady state (w = 0), one cache, measured')
        ?.value,
    ).toBeLessThan(0.01);
    expect(figure('origin-requests', 'KeyValueStore API calls per entry load, measured (one cache)')?.value).toBe(0);
    expect(figure('assignment', 'canary viewers still on the canary at the next weight')?.value).toBe(100);
    expect(figure('assignment', 'viewers given the same build by another edge')?.value).toBe(100);
    // The targets: every state at or under $0.15 per million loads.
    for (const name of [
      'total, steady state',
      'total, rollout at w = 10 %',
      'total, rollout at w = 50 %',
      'total, after a rollback',
    ]) {
      expect(figure('cost', name)).toMatchObject({ target: 0.15 });
      expect(figure('cost', name)!.value).toBeLessThanOrEqual(0.15);
    }
  });

  it(
    'times the viewer-assignment function per load with no previews (a one-origin ring), with a full ring and ' +
      'with full previews, side by side',
    () => {
      const names = run.report.sections.assignment!.figures.map((figure) => figure.name);
      const ring = `viewer assignment per load, full ring (${fullRingState().ring.length} origins), viewer on none`;
      const previews =
        `viewer assignment per load, full previews (${fullPreviewsState().previews!.length} IPv6 /128s), ` +
        'viewer in none';
      for (const statistic of ['median', 'p99']) {
        const one = names.indexOf(`viewer assignment per load, one-origin ring, no previews: ${statistic}`);
        expect(one).toBeGreaterThanOrEqual(0);
        expect(names.slice(one + 1, one + 3)).toEqual([`${ring}: ${statistic}`, `${previews}: ${statistic}`]);
      }
      expect(run.report.sections.assignment!.data).toMatchObject({
        fullRingOrigins: fullRingState().ring.length,
        fullPreviews: fullPreviewsState().previews!.length,
      });
    },
  );

  it(
    'counts one function run and one KeyValueStore read per entry load, and with full previews in force one read ' +
      'more per previewed load only; the entry stays within $0.15 per million loads',
    () => {
      const cost = run.report.sections.cost!;
      const value = (name: string) => {
        const figure = cost.figures.find((candidate) => candidate.name === name);
        expect(figure).toBeDefined();
        return figure!.value;
      };
      for (const state of ['no previews', 'full previews'])
        expect(value(`CloudFront Function runs per entry load, ${state}, counted`)).toBe(1);
      // The counts are of loads the previews really held.
      const counted = cost.data!.entryLoads as Record<'none' | 'previews', { loads: number; previewed: number }>;
      expect(counted.none.previewed).toBe(0);
      expect(counted.previews.previewed).toBeGreaterThan(0);
      expect(counted.previews.loads).toBe(counted.none.loads);
      expect(value('KeyValueStore reads per entry load, no previews, counted')).toBe(1);
      expect(value('KeyValueStore reads per entry load, full previews, counted')).toBeCloseTo(
        1 + counted.previews.previewed / counted.previews.loads,
        6,
      );
      // Priced from those counts: the same as without previews, within the target.
      expect(cost.figures.find((figure) => figure.name === 'total, rollout at w = 10 %, full previews')).toMatchObject({
        target: 0.15,
      });
      expect(value('total, rollout at w = 10 %, full previews')).toBeGreaterThanOrEqual(
        value('total, rollout at w = 10 %'),
      );
      expect(value('total, rollout at w = 10 %, full previews')).toBeLessThanOrEqual(0.15);
    },
  );

  it(
    'lists the rollback chain, from the alarm to the next ' + "load, within its targets, beside the previous design's",
    () => {
      const section = run.report.sections['rollback-reach']!;
      const figure = (name: string) => section.figures.find((f) => f.name === name)!;
      expect(figure('alarm to every viewer on stable, typical')).toMatchObject({ target: 45 });
      expect(figure('alarm to every viewer on stable, typical').value).toBeLessThanOrEqual(45);
      expect(figure('alarm to every viewer on stable, worst case').value).toBeLessThanOrEqual(90);
      expect(figure('alarm to every viewer on stable, worst case').previous).toBeGreaterThan(90);
      expect(figure('canary viewers served the canary on their next load after the change').value).toBe(0);
      expect(section.notes.join('\n')).toMatch(
        /alarm's state change.*\n.*writes weight 0.*\n.*KeyValueStore carries.*\n.*next load/,
      );
    },
  );

  it(
    'lists each chain from rollout revoke to no load getting the revoked entry, ' + 'every worst case within 2 minutes',
    () => {
      const section = run.report.sections['revocation-reach']!;
      expect(section.figures.filter((f) => f.unit === 's').map((f) => [f.name, f.target])).toEqual([
        ["the build's own URL, worst case", 120],
        ['a canary, on /assets/index.js, worst case', 120],
        ['the stable build, on /assets/index.js (with --to), worst case', 120],
      ]);
      for (const figure of section.figures.filter((f) => f.unit === 's')) expect(figure.value).toBeLessThanOrEqual(120);
      expect(section.figures.find((f) => f.unit === 'count')).toMatchObject({ value: 0, target: 0 });
      expect(section.notes.join('\n')).toMatch(/KeyValueStore carries the write to every edge location: 5 \/ 20 s/);
    },
  );

  it(
    'prices the release signal a month at four volumes beside the metrics API, sampled as signalCapacity sizes ' +
      'it, and says whether each target is met',
    () => {
      const section = run.report.sections['release-signal']!;
      const figure = (name: string) => section.figures.find((f) => f.name === name);
      const { peakToAverage } = loadConfig().metrics;
      for (const { label, loadsPerDay } of SIGNAL_VOLUMES) {
        expect(figure(`${label} loads a day: sampling rate`)?.value).toBe(
          signalCapacity({ expectedLoadsPerDay: loadsPerDay, peakToAverage }).samplingPercent,
        );
        expect(figure(`${label} loads a day: Kinesis shards`)?.value).toBe(1);
        expect(figure(`${label} loads a day: cost a month`)?.previous).toBeGreaterThan(0);
        expect(figure(`${label} loads a day: cost per million loads`)?.previous).toBeGreaterThan(2);
      }
      expect(figure('1 million loads a day: cost a month')).toMatchObject({ target: 15 });
      expect(figure('100 million loads a day: cost per million loads')).toMatchObject({ target: 0.03 });
      expect(figure('100 million loads a day: cost per million loads')!.value).toBeLessThanOrEqual(0.03);
      expect(section.notes[0]).toMatch(
        new RegExp(
          '^Targets: at most \\$15 a month at 1 million loads a day: (met|MISSED) \\(.*\\); at most \\$0\\.03 ' +
            'per million loads at 100 million a day: met \\(',
        ),
      );
      // One shard's 1,000 records a second, read by the consumer core at 128 MB.
      expect(figure('consumer core, records a second at 128 MB (CPU share scaled)')!.value).toBeGreaterThan(1000);
    },
  );

  it('refuses to rewrite the docs from a quick run', async () => {
    await expect(
      runBench({ quick: true, updateDocs: true, log: () => undefined, print: () => undefined }),
    ).rejects.toThrow(/--update-docs needs a full run/);
  });

  it('has every figure the README quotes, so a full run can summarize', () => {
    const rows = formatSummary(run.report)
      .split('\n')
      .filter((line) => /^\| [^-]/.test(line) && !line.startsWith('| Figure'));
    expect(rows.map((row) => row.split(' | ')[0]!.slice(2))).toEqual(
      HEADLINE_FIGURES.map((headline) => headline.label.replaceAll('|', '\\|')),
    );
  });
});

describe('the benchmark in the docs', () => {
  const tables = blockContent(readFileSync(path.join(ROOT, 'docs', 'benchmark.md'), 'utf8'), DOCS_BLOCK);
  const summary = blockContent(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), SUMMARY_BLOCK);

  it('quotes a full run of every section in docs/benchmark.md', () => {
    expect(tables).not.toBeNull();
    expect(tables).not.toMatch(/--quick/);
    for (const section of SECTIONS) expect(tables).toContain(`## ${section.title}`);
  });

  it("quotes in the README the same run's figures as docs/benchmark.md", () => {
    expect(summary).not.toBeNull();
    const build = /build `([0-9a-f]{16})`/;
    expect(summary!.match(build)?.[1]).toBe(tables!.match(build)?.[1]);
    expect(summary!.slice(9, 19)).toBe(tables!.slice(9, 19)); // "Measured YYYY-MM-DD"
    for (const headline of HEADLINE_FIGURES) {
      const row = summary!.split('\n').find((line) => line.startsWith(`| ${headline.label} |`));
      expect(row).toBeDefined();
      const value = row!.split(' | ')[1];
      expect(tables).toContain(`| ${headline.name} | ${value} |`);
    }
  });
});

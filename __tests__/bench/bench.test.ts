/**
 * `npm run bench` end to end, in its quick mode: every section runs on the build global-setup
 * made, and the report has the shape the README quotes. Timings are not checked (they belong to
 * the machine); the shape is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, SECTIONS, type BenchRun } from '../../scripts/bench';
import { readmeBlock, reportProblems, type BenchReport } from '../../scripts/bench/report';
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
    run = await runBench({ quick: true, buildDir: BUILD_DIR, out: path.join(out, 'bench.json'), log: () => undefined, print: (text) => printed.push(text) });
  }, 90_000);
  afterAll(() => {
    jest.restoreAllMocks();
    rmSync(out, { recursive: true, force: true });
  });

  it('reports every section, each figure with a known unit, a ratio wherever there is a reference, all in the markdown', () => {
    expect(reportProblems(run.report, SECTIONS.map((section) => section.id), run.markdown)).toEqual([]);
    expect(Object.keys(run.report.sections)).toEqual(SECTIONS.map((section) => section.id));
  });

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

  it('compares with the reference where the issue asks for it', () => {
    const referenced = (section: string) => run.report.sections[section].figures.filter((figure) => figure.reference !== undefined).map((figure) => figure.name);
    expect(referenced('edge-routers')).toEqual(expect.arrayContaining(['entry, own build: median', 'entry, own build: p99', 'chunk router: median', 'chunk router: p99', 'entry cold require (median)', 'chunk cold require (median)']));
    expect(referenced('origin-requests')).toEqual(expect.arrayContaining(['S3 GETs per entry load, steady state (w = 0)', 'S3 GETs per entry load, rollout at w = 10 %', 'S3 GETs per entry load, rollout at w = 50 %']));
    expect(referenced('cost')).toEqual(expect.arrayContaining(['total, steady state, busy edge', 'total, rollout at w = 10 %, busy edge']));
    // Counts, not timings: these follow from the design, whatever the machine.
    const value = (section: string, name: string) => run.report.sections[section].figures.find((figure) => figure.name === name)?.value;
    expect(value('origin-requests', 'S3 GETs per entry load, steady state (w = 0)')).toBe(0);
    expect(value('origin-requests', 'S3 GETs per entry load, after a rollback')).toBe(1);
    expect(value('assignment', 'canary viewers still on the canary at the next weight')).toBe(100);
    expect(value('assignment', 'viewers given the same build by another edge')).toBe(100);
  });

  it('lists the rollback chain with its components and the TTL and refresh interval that produce it', () => {
    const section = run.report.sections['rollback-reach'];
    expect(section.figures.map((figure) => figure.name)).toEqual(
      expect.arrayContaining(['alarm to every edge serving stable, typical', 'alarm to every edge serving stable, worst case', 'rollout record TTL', 'entry router refresh interval']),
    );
    expect(section.notes.join('\n')).toMatch(/CodeDeploy.*\n.*rollout sync runs.*\n.*UPSERTs.*\n.*Route53.*\n.*every entry router refreshes/);
  });

  it('refuses to rewrite the README from a quick run', async () => {
    await expect(runBench({ quick: true, updateReadme: true, log: () => undefined, print: () => undefined })).rejects.toThrow(/--update-readme needs a full run/);
  });
});

describe('README benchmark block', () => {
  it('quotes a full run of every section', () => {
    const block = readmeBlock(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect(block).not.toBeNull();
    expect(block).not.toMatch(/--quick/);
    for (const section of SECTIONS) expect(block).toContain(`#### ${section.title}`);
  });
});

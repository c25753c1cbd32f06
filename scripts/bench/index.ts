/**
 * `npm run bench`: measures what ships (the zips in build/, built first when missing), prints
 * one table per section and writes every figure to JSON (default bench/results/bench.json).
 *
 *   npm run bench -- [--config deploy.config.json] [--out file.json] [--only edge-routers]
 *
 * Sections are modules in sections/ (see types.ts); add one to SECTIONS to extend the benchmark.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config';
import { build, PROJECT_ROOT } from '../build';
import { readManifest, type BuildManifest } from '../lib/manifest';
import { edgeRouters } from './sections/edge-routers';
import type { BenchSection, Figure, SectionResult } from './types';

export const SECTIONS: readonly BenchSection[] = [edgeRouters];

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly memoryGb: number;
  /** 1-minute load average when the run started: the machine may be shared. */
  readonly loadAverage: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

function formatValue(value: number, unit: Figure['unit']): string {
  if (unit === 'B') return value >= 1024 ? `${(value / 1024).toFixed(1)} KB` : `${value} B`;
  if (unit === 'count') return String(value);
  return `${value} ${unit}`;
}

export function formatSection(title: string, result: SectionResult): string {
  const rows = result.figures.map((figure) => [
    figure.name,
    formatValue(figure.value, figure.unit),
    figure.reference === undefined ? '' : formatValue(figure.reference, figure.unit),
    figure.reference === undefined || figure.reference === 0 ? '' : `${(figure.value / figure.reference).toFixed(2)}x`,
    figure.target === undefined ? '' : `≤ ${formatValue(figure.target, figure.unit)} ${figure.value <= figure.target ? 'ok' : 'MISSED'}`,
  ]);
  const header = ['figure', 'value', 'reference', 'ratio', 'target'];
  const widths = header.map((_, column) => Math.max(header[column].length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  return [title, line(header), ...rows.map(line), ...(result.notes ?? []).map((note) => `  ${note}`)].join('\n');
}

async function ensureBuild(configFile: string | undefined, buildDir: string, log: (line: string) => void): Promise<BuildManifest> {
  try {
    return readManifest(buildDir);
  } catch {
    log(`no build in ${path.relative(process.cwd(), buildDir) || '.'}: building first`);
    return (await build({ config: loadConfig(configFile), outDir: buildDir })).manifest;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, out: { type: 'string' }, only: { type: 'string', multiple: true } } });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const config = loadConfig(values.config);
  const buildDir = path.join(PROJECT_ROOT, 'build');
  const manifest = await ensureBuild(values.config, buildDir, log);
  const unknown = (values.only ?? []).filter((id) => !SECTIONS.some((section) => section.id === id));
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(', ')}: no such section; sections are ${SECTIONS.map((s) => s.id).join(', ')}`);
  const sections = values.only ? SECTIONS.filter((section) => values.only!.includes(section.id)) : SECTIONS;

  const machine = machineInfo();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}, load ${machine.loadAverage}`);
  console.log(`build:   ${manifest.buildId}\n`);
  const results: Record<string, SectionResult & { title: string }> = {};
  const started = Date.now();
  for (const section of sections) {
    const result = await section.run({ buildDir, manifest, config, log });
    results[section.id] = { title: section.title, ...result };
    console.log(`${formatSection(section.title, result)}\n`);
  }
  const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, 'bench', 'results', 'bench.json'));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ schema: 1, date: new Date().toISOString(), buildId: manifest.buildId, machine, sections: results }, null, 2)}\n`);
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s; figures written to ${path.relative(process.cwd(), out)}`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
